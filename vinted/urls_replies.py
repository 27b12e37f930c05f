"""Vinted automation (part 3): reply suggestions in the conversation view (mounted at /vinted/)."""

from django.urls import path

from .views import replies as views

urlpatterns = [
    path("suggestions/<int:pk>/send/", views.SuggestionSendView.as_view(), name="suggestion_send"),
    path("suggestions/<int:pk>/discard/", views.SuggestionDiscardView.as_view(), name="suggestion_discard"),
]
