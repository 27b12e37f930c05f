"""AI spend over a period, for `manage.py costs report` (and the costs dashboard): totals, by person,
by model, by request type and by day, from the AI gateway's ledger (monitoring.models.AIUsage).

`viewer` None is the system (a shell): everyone's spend. With a viewer, restrict() decides (a person
sees their own; admins everyone's)."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import AIUsage

_SUMS = {"calls": Count("id"), "failures": Count("id", filter=Q(success=False)),
         "prompt_tokens": Sum("prompt_tokens"), "completion_tokens": Sum("completion_tokens"),
         "images": Sum("images"), "cost_usd": Sum("cost_usd")}


def _filled(row: dict) -> dict:
    """Sums of no rows are None: zero them."""
    return {**row, **{key: row[key] or (Decimal("0") if key == "cost_usd" else 0) for key in _SUMS}}


def _rows(queryset, *fields) -> list[dict]:
    return [_filled(row) for row in queryset.values(*fields).annotate(**_SUMS).order_by(*fields)]


def report(*, days: int, user=None, viewer=None) -> dict:
    """Spend of the last `days` days (today included), of `user` if given."""
    since = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days - 1)
    usage = AIUsage.objects.all() if viewer is None else AIUsage.objects.restrict(viewer)
    usage = usage.filter(created_at__gte=since)
    if user is not None:
        usage = usage.filter(user=user)
    by_user = [{**row, "username": row.pop("user__username") or "system"} for row in _rows(usage, "user__username")]
    return {
        "since": since, "days": days, "total": _filled(usage.aggregate(**_SUMS)),
        "by_user": sorted(by_user, key=lambda row: -row["cost_usd"]),
        "by_model": sorted(_rows(usage, "model"), key=lambda row: -row["cost_usd"]),
        "by_request_type": sorted(_rows(usage, "request_type"), key=lambda row: -row["cost_usd"]),
        "by_day": _rows(usage.annotate(day=TruncDate("created_at")), "day"),
        "detail": _rows(usage.annotate(day=TruncDate("created_at")), "day", "user__username", "model",
                        "request_type"),
    }
