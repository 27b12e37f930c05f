"""Vinted publishing pages (mounted at /vinted/)."""

from django.urls import path  # noqa: F401

from .views import publishing as views  # noqa: F401

urlpatterns = []
