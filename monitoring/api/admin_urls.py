"""Admin-only API routes under /api/v1/admin/ (backups, export, system)."""

from django.urls import path

from .admin_export import ExportView

urlpatterns = [
    path("export/", ExportView.as_view(), name="admin-export"),
]
