"""The Vinted inbox: conversations with unread counts, a conversation, the reply box (mounted at /vinted/)."""

from django.urls import path

from .views import inbox as views

urlpatterns = [
    path("inbox/", views.ConversationListView.as_view(), name="conversation-list"),
    path("inbox/<int:pk>/", views.ConversationDetailView.as_view(), name="conversation-detail"),
    path("inbox/<int:pk>/messages/", views.ConversationMessagesView.as_view(), name="conversation-messages"),
    path("inbox/sync/<int:pk>/", views.InboxSyncView.as_view(), name="inbox-sync"),
    path("inbox/<int:pk>/reply/", views.ConversationReplyView.as_view(), name="conversation-reply"),
]
