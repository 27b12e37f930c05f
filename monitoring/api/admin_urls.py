"""/api/v1/admin/: admin-only endpoints (included from lofisite/api_urls.py)."""

from django.urls import path

from . import admin_views as views
from .admin_export import ExportView

urlpatterns = [
    path("backup/create/", views.BackupCreateView.as_view(), name="admin-backup-create"),
    path("backup/list/", views.BackupListView.as_view(), name="admin-backup-list"),
    path("backup/info/", views.BackupInfoView.as_view(), name="admin-backup-info"),
    path("backup/restore/", views.BackupRestoreView.as_view(), name="admin-backup-restore"),
    path("backup/<int:pk>/verify/", views.BackupVerifyView.as_view(), name="admin-backup-verify"),
    path("export/", ExportView.as_view(), name="admin-export"),
    path("system/health/", views.SystemHealthView.as_view(), name="admin-system-health"),
    path("jobs/reset-stats/", views.JobStatsResetView.as_view(), name="admin-jobs-reset-stats"),
]
