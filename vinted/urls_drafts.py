from django.urls import path

from .views import drafts

urlpatterns = [
    path("listings/<int:pk>/draft/", drafts.ListingDraftView.as_view(), name="listing-draft"),
    path("batches/", drafts.BatchListView.as_view(), name="batch-list"),
    path("batches/<int:pk>/", drafts.BatchDetailView.as_view(), name="batch-detail"),
    path("batches/<int:pk>/progress/", drafts.BatchProgressView.as_view(), name="batch-progress"),
    path("batches/<int:pk>/draft/", drafts.BatchDraftView.as_view(), name="batch-draft"),
]
