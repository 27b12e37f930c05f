from django.contrib import admin
from django.urls import include, path

from monitoring.exporter import MetricsView
from monitoring.health import details_visible_to as health_details_visible_to

from . import views
from .health import HealthView, liveness
from .openapi import SchemaView

handler400 = "lofisite.errors.bad_request"
handler403 = "lofisite.errors.permission_denied"
handler404 = "lofisite.errors.page_not_found"
handler500 = "lofisite.errors.server_error"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("favicon.ico", views.FaviconView.as_view()),
    # The checks are settings.HEALTH_CHECKS; every check's detail only for admins (monitoring's rule).
    path("health/", HealthView.as_view(details_for=health_details_visible_to), name="health"),
    path("health/live/", liveness, name="health-live"),
    path("metrics", MetricsView.as_view(), name="metrics"),  # Prometheus; no slash, as scrapers expect
    path("accounts/", include("accounts.urls")),
    path("legal/", include("legal.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("pipeline/", include("pipeline.urls")),
    path("vinted/", include("vinted.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(("lofisite.api_urls", "api"), namespace="api")),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", views.APIDocsView.as_view(url_name="schema"), name="api-docs"),
]
