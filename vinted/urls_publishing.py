"""Vinted publishing pages (mounted at /vinted/): prepare a listing, a publication's page, its live
progress partial, its screenshot, and "Confirm and publish"."""

from django.urls import path

from .views import publishing as views

urlpatterns = [
    path("listings/<int:pk>/prepare/", views.ListingPrepareView.as_view(), name="listing-prepare"),
    path("publications/<int:pk>/", views.PublicationDetailView.as_view(), name="publication-detail"),
    path("publications/<int:pk>/progress/", views.PublicationProgressView.as_view(), name="publication-progress"),
    path("publications/<int:pk>/screenshot/", views.PublicationScreenshotView.as_view(),
         name="publication-screenshot"),
    path("publications/<int:pk>/publish/", views.PublicationPublishView.as_view(), name="publication-publish"),
]
