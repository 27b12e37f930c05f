"""The Vinted desk's cards on the home dashboard (listed in settings.DASHBOARD_CARDS): listings per
status, and the unread buyer messages of the user's own inbox (the "new messages" notice).

The listing counts are cached per user and role (lofisite.cache), forgotten on commit whenever a listing
or a conversation is saved or deleted (the receivers below, connected in VintedConfig.ready); changes made
with QuerySet.update() (status moves in the publishing services) show after DASHBOARD_CACHE_SECONDS. The
unread count is read fresh: it is the notice of new messages."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from lofisite.cache import cached, invalidate
from lofisite.dashboard import Card

from .models import Conversation, Listing, VintedAccount
from .services.inbox import unread_total
from .services.listings import status_counts

DASHBOARD_NAMESPACE = "dashboard:vinted"


@cached(DASHBOARD_NAMESPACE, ttl=settings.DASHBOARD_CACHE_SECONDS)
def _listing_counts(*, user_id: int, role: str) -> list[dict]:
    user = get_user_model().objects.get(pk=user_id)
    return [item for item in status_counts(Listing.objects.restrict(user)) if item["count"]]


def forget_dashboard_counts(**signal_kwargs) -> None:
    transaction.on_commit(lambda: invalidate(DASHBOARD_NAMESPACE), robust=True)


def cards(request):
    counts = _listing_counts(user_id=request.user.pk, role=request.user.role)
    offered = [Card("vinted/_dashboard_listings.html", "panel", {
        "counts": counts, "total": sum(item["count"] for item in counts),
        "can_add": Listing.objects.can_add(request.user),
    })]
    # Only for sellers: someone with no Vinted account of their own has no inbox to be told about.
    if Conversation.objects.model_permits(request.user) and VintedAccount.objects.restrict(request.user).filter(
            owner=request.user).exists():
        offered.insert(0, Card("vinted/inbox/_dashboard_inbox.html", "stat", {"unread": unread_total(request.user)}))
    return offered
