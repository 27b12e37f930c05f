"""The Vinted desk's cards on the home dashboard (listed in settings.DASHBOARD_CARDS): listings per
status, and the unread buyer messages of the user's own inbox (the "new messages" notice)."""

from lofisite.dashboard import Card

from .models import Conversation, Listing, VintedAccount
from .services.inbox import unread_total
from .services.listings import status_counts


def cards(request):
    listings = Listing.objects.restrict(request.user)
    counts = [item for item in status_counts(listings) if item["count"]]
    offered = [Card("vinted/_dashboard_listings.html", "panel", {
        "counts": counts, "total": sum(item["count"] for item in counts),
        "can_add": Listing.objects.can_add(request.user),
    })]
    # Only for sellers: someone with no Vinted account of their own has no inbox to be told about.
    if Conversation.objects.model_permits(request.user) and VintedAccount.objects.restrict(request.user).filter(
            owner=request.user).exists():
        offered.insert(0, Card("vinted/inbox/_dashboard_inbox.html", "stat", {"unread": unread_total(request.user)}))
    return offered
