"""Vinted automation (part 3): reposts pages (mounted at /vinted/)."""

from django.urls import path

from .views import reposts as views

urlpatterns = [
    path("accounts/<int:pk>/reposts/", views.RepostListView.as_view(), name="repost_list"),
    path("reposts/<int:pk>/cancel/", views.RepostCancelView.as_view(), name="repost_cancel"),
    path("reposts/<int:pk>/retry/", views.RepostRetryView.as_view(), name="repost_retry"),
]
