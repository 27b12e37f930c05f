"""The Vinted inbox: conversations with unread counts, a conversation, the reply box (mounted at /vinted/)."""

from django.urls import path

from .views import inbox as views

urlpatterns = [
    path("inbox/", views.ConversationListView.as_view(), name="conversation-list"),
]
