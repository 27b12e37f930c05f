"""Every API route under /api/v1/, gathered in one place."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from accounts.api import views as accounts_api
from legal.api import views as legal_api

router = DefaultRouter()
router.register("users", accounts_api.UserViewSet, basename="user")
router.register("auth/sign-ins", accounts_api.LoginEventViewSet, basename="sign-in")
router.register("legal/acceptances", legal_api.LegalAcceptanceViewSet, basename="legal-acceptance")

urlpatterns = [
    path("", include("accounts.api.urls")),
    path("", include("legal.api.urls")),
    path("", include(router.urls)),
]
