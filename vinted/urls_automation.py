"""Vinted automation (part 3): the Automation page of an account (mounted at /vinted/)."""

from django.urls import path

from .views import automation as views

urlpatterns = [
    path("accounts/<int:pk>/automation/", views.AutomationView.as_view(), name="automation"),
    path("accounts/<int:pk>/automation/settings/", views.AutomationSettingsView.as_view(),
         name="automation_settings"),
    path("accounts/<int:pk>/automation/pause/", views.AutomationPauseView.as_view(), name="automation_pause"),
    path("accounts/<int:pk>/automation/resume/", views.AutomationResumeView.as_view(), name="automation_resume"),
]
