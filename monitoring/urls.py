from django.urls import include, path

from . import views

app_name = "monitoring"
urlpatterns = [
    path("", views.MonitoringView.as_view(), name="index"),
    path("live/", views.LiveStatusView.as_view(), name="live"),
    path("breakers/<str:name>/reset/", views.BreakerResetView.as_view(), name="breaker-reset"),
    path("", include("monitoring.urls_notifications")),
]
