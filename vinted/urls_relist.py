"""Vinted relist pages (mounted at /vinted/)."""

from django.urls import path  # noqa: F401

from .views import relist as views  # noqa: F401

urlpatterns = []
