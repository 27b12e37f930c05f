"""The Vinted desk's card on the home dashboard (listed in settings.DASHBOARD_CARDS)."""

from lofisite.dashboard import Card

from .models import Listing
from .services.listings import status_counts


def cards(request):
    listings = Listing.objects.restrict(request.user)
    counts = [item for item in status_counts(listings) if item["count"]]
    return [Card("vinted/_dashboard_listings.html", "panel", {
        "counts": counts, "total": sum(item["count"] for item in counts),
        "can_add": Listing.objects.can_add(request.user),
    })]
