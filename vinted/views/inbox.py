"""Vinted inbox pages (thin: services do the work; access is the querysets' rule)."""

from accounts.mixins import ObjectListView

from ..models import Conversation
from .listings import VintedPageMixin


class ConversationListView(VintedPageMixin, ObjectListView):
    tab = "inbox"
    queryset = Conversation.objects.select_related("account")
    template_name = "vinted/inbox/conversation_list.html"
