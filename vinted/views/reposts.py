"""Reposts pages: one account's preview (which items would be reposted and when), its scheduled, running,
done and failed reposts; cancel a scheduled one, retry the deletion of a failed one. Thin:
vinted.services.reposts does the work; access is the account's rule (owner-only, admins too)."""

from django.urls import reverse
from django.views.generic import DetailView

from accounts.mixins import ObjectActionView, ObjectPermissionMixin
from accounts.roles import Action

from ..models import Repost, VintedAccount
from ..services import reposts as services
from .listings import VintedPageMixin

HISTORY_ROWS = 50


class RepostListView(VintedPageMixin, ObjectPermissionMixin, DetailView):
    tab = "accounts"
    queryset = VintedAccount.objects.select_related("owner")
    template_name = "vinted/reposts/repost_list.html"
    context_object_name = "account"

    def get_context_data(self, **kwargs):
        user, account = self.request.user, self.object
        rows = list(Repost.objects.restrict(user, Action.VIEW).filter(account=account)
                    .select_related("listing", "new_listing").order_by("-scheduled_for", "-id")[:HISTORY_ROWS])
        for row in rows:
            row.retryable = services.can_retry(row)
        return super().get_context_data(preview=services.preview(account), reposts=rows,
                                        can_change=VintedAccount.objects.permits(user, account, Action.CHANGE),
                                        **kwargs)


class RepostActionView(ObjectActionView):
    queryset = Repost.objects.select_related("account", "listing")
    permission_denied_message = "Only the account's owner or an admin may change its reposts."

    def get_success_url(self, repost):
        return reverse("vinted:repost_list", args=[repost.account_id])


class RepostCancelView(RepostActionView):
    def act(self, repost, user) -> str:
        services.cancel(repost, by_user=user)
        return f"The repost of {repost.listing} is cancelled."


class RepostRetryView(RepostActionView):
    def act(self, repost, user) -> str:
        services.retry(repost, by_user=user)
        return f"Deleting the old item of {repost.listing} on Vinted again, in the background."
