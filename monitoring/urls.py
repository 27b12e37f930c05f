from django.urls import include, path

from . import views

app_name = "monitoring"
urlpatterns = [
    path("", views.MonitoringView.as_view(), name="index"),
    path("costs/", include("monitoring.urls_costs")),
    path("audit/", include("monitoring.urls_audit")),
    path("breakers/<str:name>/reset/", views.BreakerResetView.as_view(), name="breaker-reset"),
    path("system/", views.SystemView.as_view(), name="system"),
    path("system/charts/<slug:name>.svg", views.SystemChartView.as_view(), name="system-chart"),
    path("jobs/", views.JobsView.as_view(), name="jobs"),
    path("jobs/queue/", views.JobsQueueView.as_view(), name="jobs-queue"),
    path("jobs/chart.svg", views.JobsChartView.as_view(), name="jobs-chart"),
    path("jobs/runs/<int:pk>/retry/", views.JobRetryView.as_view(), name="job-retry"),
    path("jobs/stats/reset/", views.JobStatsResetView.as_view(), name="job-stats-reset"),
    path("breakers/", views.BreakersView.as_view(), name="breakers"),
    path("breakers/table/", views.BreakersTableView.as_view(), name="breakers-table"),
    path("events/", views.EventsView.as_view(), name="events"),
    path("", include("monitoring.urls_notifications")),
]
