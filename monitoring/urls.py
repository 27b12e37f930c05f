from django.urls import include, path

from . import views

app_name = "monitoring"
urlpatterns = [
    path("", views.MonitoringView.as_view(), name="index"),
    path("live/", views.LiveStatusView.as_view(), name="live"),
    path("audit/", include("monitoring.urls_audit")),
    path("breakers/<str:name>/reset/", views.BreakerResetView.as_view(), name="breaker-reset"),
]
