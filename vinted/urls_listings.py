"""The listings board, a listing's page and form, and its actions (mounted at /vinted/)."""

from django.urls import path

from .views import listings as views

urlpatterns = [
    path("", views.ListingListView.as_view(), name="listing-list"),
    path("listings/new/", views.ListingCreateView.as_view(), name="listing-create"),
    path("listings/bulk/", views.ListingBulkView.as_view(), name="listing-bulk"),
    path("listings/<int:pk>/", views.ListingDetailView.as_view(), name="listing-detail"),
    path("listings/<int:pk>/edit/", views.ListingUpdateView.as_view(), name="listing-update"),
    path("listings/<int:pk>/ready/", views.ListingMarkReadyView.as_view(), name="listing-mark-ready"),
    path("listings/<int:pk>/archive/", views.ListingArchiveView.as_view(), name="listing-archive"),
    path("listings/<int:pk>/unarchive/", views.ListingUnarchiveView.as_view(), name="listing-unarchive"),
    path("listings/<int:pk>/sold/", views.ListingMarkSoldView.as_view(), name="listing-mark-sold"),
    path("listings/<int:pk>/delete/", views.ListingDeleteView.as_view(), name="listing-delete"),
]
