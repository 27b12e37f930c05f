"""Photos of listings and bulk uploads (vinted.views.photos)."""

from django.urls import path, re_path

from .views import photos

urlpatterns = [
    path("listings/<int:pk>/photos/", photos.ListingPhotosView.as_view(), name="listing-photos"),
    path("listings/<int:pk>/photos/upload/", photos.PhotoUploadView.as_view(), name="photo-upload"),
    re_path(r"^photos/(?P<pk>[0-9]+)/move/(?P<direction>earlier|later)/$", photos.PhotoMoveView.as_view(),
            name="photo-move"),
    path("photos/<int:pk>/cover/", photos.PhotoCoverView.as_view(), name="photo-cover"),
    path("photos/<int:pk>/delete/", photos.PhotoDeleteView.as_view(), name="photo-delete"),
    re_path(r"^photos/(?P<pk>[0-9]+)/(?P<kind>original|display|thumbnail)/$", photos.PhotoFileView.as_view(),
            name="photo-file"),
    path("bulk/", photos.BulkListView.as_view(), name="bulk"),
    path("bulk/<int:pk>/", photos.BulkDetailView.as_view(), name="bulk-detail"),
    path("bulk/<int:pk>/upload/", photos.BulkUploadView.as_view(), name="bulk-upload"),
    path("bulk/<int:pk>/group/", photos.BulkGroupView.as_view(), name="bulk-group"),
]
