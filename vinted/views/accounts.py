"""Vinted account pages (thin: services do the work; access is the querysets' rule)."""

from accounts.mixins import ObjectListView

from ..models import VintedAccount
from .listings import VintedPageMixin


class AccountListView(VintedPageMixin, ObjectListView):
    tab = "accounts"
    queryset = VintedAccount.objects.all()
    template_name = "vinted/accounts/account_list.html"
