"""Vinted relist pages (mounted at /vinted/)."""

from django.urls import path

from .views import relist as views

urlpatterns = [
    path("listings/<int:pk>/relist/", views.ListingRelistView.as_view(), name="listing-relist"),
    path("listings/<int:pk>/relist/status/", views.ListingRelistStatusView.as_view(), name="listing-relist-status"),
]
