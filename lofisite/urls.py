from django.contrib import admin
from django.urls import include, path

from monitoring.exporter import MetricsView
from monitoring.health import MaintenanceCheck

from . import views
from .health import HealthView
from .openapi import SchemaView

handler400 = "lofisite.errors.bad_request"
handler403 = "lofisite.errors.permission_denied"
handler404 = "lofisite.errors.page_not_found"
handler500 = "lofisite.errors.server_error"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("favicon.ico", views.FaviconView.as_view()),
    path("health/", HealthView.as_view(checks=(*HealthView.checks, MaintenanceCheck)), name="health"),
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
