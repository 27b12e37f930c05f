"""The Vinted desk's card on the home dashboard (listed in settings.DASHBOARD_CARDS).

Its counts are cached per user and role (lofisite.cache), forgotten on commit whenever a listing or a
conversation is saved or deleted (the receivers below, connected in VintedConfig.ready); changes made
with QuerySet.update() (status moves in the publishing services) show after DASHBOARD_CACHE_SECONDS."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from lofisite.cache import cached, invalidate
from lofisite.dashboard import Card

from .models import Listing
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
    return [Card("vinted/_dashboard_listings.html", "panel", {
        "counts": counts, "total": sum(item["count"] for item in counts),
        "can_add": Listing.objects.can_add(request.user),
    })]
