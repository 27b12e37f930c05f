"""Vinted's business counts for `manage.py stats` (listed in settings.STATS_COLLECTORS)."""

from datetime import timedelta

from django.db.models import Count, Q, Sum
from django.utils import timezone

from monitoring.costs import spend_usd
from monitoring.stats import by_status

from .choices import AccountStatus, CallKind, CallOutcome, ListingStatus, PublicationStatus
from .models import Conversation, Listing, Publication, VintedAccount, VintedCall


def counts(now=None) -> dict:
    now = now or timezone.now()
    unread = Conversation.objects.aggregate(conversations=Count("id", filter=Q(unread_count__gt=0)),
                                            messages=Sum("unread_count"))
    recent_calls = VintedCall.objects.filter(at__gte=now - timedelta(hours=24))
    return {
        "listings_by_status": by_status(Listing.objects.all(), "status", ListingStatus),
        "accounts_by_status": by_status(VintedAccount.objects.all(), "status", AccountStatus),
        "publications_by_status": by_status(Publication.objects.all(), "status", PublicationStatus),
        "unread": {"conversations": unread["conversations"], "messages": unread["messages"] or 0},
        "actions_last_24h_by_kind": by_status(recent_calls, "kind", CallKind),
        "actions_last_24h_by_outcome": by_status(recent_calls, "outcome", CallOutcome),
        "ai_cost_usd": {"today": float(spend_usd(days=1, request_type_prefix="vinted.", now=now)),
                        "last_30_days": float(spend_usd(days=30, request_type_prefix="vinted.", now=now))},
    }
