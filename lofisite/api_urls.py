"""Every API route under /api/v1/, gathered in one place."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from accounts.api import views as accounts_api
from legal.api import views as legal_api
from monitoring.api import notifications as notifications_api
from monitoring.api import views as monitoring_api
from pipeline.api import views as pipeline_api
from vinted.api import accounts as vinted_accounts_api
from vinted.api import automation as vinted_automation_api
from vinted.api import batches as vinted_batches_api
from vinted.api import inbox as vinted_inbox_api
from vinted.api import inventory as vinted_inventory_api
from vinted.api import photos as vinted_photos_api
from vinted.api import price_rules as vinted_price_rules_api
from vinted.api import replies as vinted_replies_api
from vinted.api import reposts as vinted_reposts_api
from vinted.api import views as vinted_api

router = DefaultRouter()
router.register("users", accounts_api.UserViewSet, basename="user")
router.register("auth/sign-ins", accounts_api.LoginEventViewSet, basename="sign-in")
router.register("legal/acceptances", legal_api.LegalAcceptanceViewSet, basename="legal-acceptance")
router.register("events", monitoring_api.EventViewSet, basename="event")
router.register("breakers", monitoring_api.BreakerViewSet, basename="breaker")
router.register("ai/usage", monitoring_api.AIUsageViewSet, basename="ai-usage")
router.register("notifications/preferences", notifications_api.NotificationPreferenceViewSet,
                basename="notification-preference")
router.register("pipeline/runs", pipeline_api.RunViewSet, basename="pipeline-run")
router.register("pipeline/videos", pipeline_api.VideoViewSet, basename="pipeline-video")
router.register("pipeline/schedules", pipeline_api.ScheduleViewSet, basename="pipeline-schedule")
router.register("pipeline/tracks", pipeline_api.TrackViewSet, basename="pipeline-track")
router.register("pipeline/storage", pipeline_api.StorageViewSet, basename="pipeline-storage")
router.register("vinted/listings", vinted_api.ListingViewSet, basename="vinted-listing")
router.register("vinted/catalogue", vinted_api.CatalogueViewSet, basename="vinted-catalogue")
router.register("vinted/photos", vinted_photos_api.PhotoViewSet, basename="vinted-photo")
router.register("vinted/batches", vinted_batches_api.DraftBatchViewSet, basename="vinted-batch")
router.register("vinted/inventory", vinted_inventory_api.InventoryViewSet, basename="vinted-inventory")
router.register("vinted/accounts", vinted_accounts_api.VintedAccountViewSet, basename="vinted-account")
router.register("vinted/conversations", vinted_inbox_api.ConversationViewSet, basename="vinted-conversation")
# Automation (part 3): each module registers its own viewsets.
for module in (vinted_automation_api, vinted_replies_api, vinted_price_rules_api, vinted_reposts_api):
    module.register(router)

urlpatterns = [
    path("", include("accounts.api.urls")),
    path("", include("legal.api.urls")),
    path("", include(router.urls)),
    path("admin/", include("monitoring.api.admin_urls")),
    path("", include("monitoring.api.health")),
]
