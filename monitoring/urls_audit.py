from django.urls import path

from . import views_audit

urlpatterns = [
    path("", views_audit.AuditLogView.as_view(), name="audit"),
]
