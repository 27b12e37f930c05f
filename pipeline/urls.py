"""HTML pages of the pipeline, mounted at /pipeline/."""

from django.urls import path

from . import views
from .views import dashboard_charts

app_name = "pipeline"

urlpatterns = [
    path("", views.RunListView.as_view(), name="run-list"),
    path("charts/runs-per-day.svg", dashboard_charts.RunsPerDayChartView.as_view(), name="chart-runs-per-day"),
    path("charts/render-speed.svg", dashboard_charts.RenderSpeedChartView.as_view(), name="chart-render-speed"),
    path("runs/new/", views.RunCreateView.as_view(), name="run-create"),
    path("runs/<int:pk>/", views.RunDetailView.as_view(), name="run-detail"),
    path("runs/<int:pk>/progress/", views.RunProgressView.as_view(), name="run-progress"),
    path("runs/<int:pk>/cancel/", views.RunCancelView.as_view(), name="run-cancel"),
    path("runs/<int:pk>/retry/", views.RunRetryView.as_view(), name="run-retry"),
    path("runs/<int:pk>/metadata/", views.MetadataUpdateView.as_view(), name="run-metadata"),
    path("runs/<int:pk>/publish/", views.VideoPublishView.as_view(), name="run-publish"),
    path("runs/<int:pk>/delete/", views.RunDeleteView.as_view(), name="run-delete"),
    path("runs/<int:pk>/thumbnail/regenerate/", views.RunThumbnailRegenerateView.as_view(),
         name="run-thumbnail-regenerate"),
    path("runs/<int:pk>/thumbnail/", views.ThumbnailUploadView.as_view(), name="run-thumbnail-upload"),
    path("runs/<int:pk>/cover/", views.CoverUploadView.as_view(), name="run-cover-upload"),
    path("media/<int:pk>/<slug:kind>/", views.RunMediaView.as_view(), name="run-media"),
    path("videos/", views.VideoListView.as_view(), name="video-list"),
    path("schedules/", views.ScheduleListView.as_view(), name="schedule-list"),
    path("schedules/new/", views.ScheduleCreateView.as_view(), name="schedule-create"),
    path("schedules/<int:pk>/edit/", views.ScheduleUpdateView.as_view(), name="schedule-update"),
    path("schedules/preview/", views.ScheduleCronPreviewView.as_view(), name="schedule-preview"),
    path("schedules/<int:pk>/run/", views.ScheduleRunNowView.as_view(), name="schedule-run-now"),
    path("schedules/<int:pk>/toggle/", views.ScheduleToggleView.as_view(), name="schedule-toggle"),
    path("schedules/<int:pk>/delete/", views.ScheduleDeleteView.as_view(), name="schedule-delete"),
    path("tracks/", views.TrackListView.as_view(), name="track-list"),
    path("tracks/<int:pk>/audio/", views.TrackAudioView.as_view(), name="track-audio"),
    path("tracks/<int:pk>/delete/", views.TrackDeleteView.as_view(), name="track-delete"),
    path("youtube/", views.ChannelView.as_view(), name="channel"),
    path("youtube/google/", views.ChannelGoogleConnectView.as_view(), name="channel-google"),
    path("youtube/callback/", views.ChannelGoogleCallbackView.as_view(), name="channel-callback"),
    path("youtube/disconnect/", views.ChannelDisconnectView.as_view(), name="channel-disconnect"),
]
