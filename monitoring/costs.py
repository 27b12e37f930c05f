"""AI spend over a period, for `manage.py costs report` (and the costs dashboard): totals, by person,
by model, by request type and by day, from the AI gateway's ledger (monitoring.models.AIUsage).

`viewer` None is the system (a shell): everyone's spend. With a viewer, restrict() decides (a person
sees their own; admins everyone's)."""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from .ai import budget_for, month_start
from .models import AIUsage

_SUMS = {"calls": Count("id"), "failures": Count("id", filter=Q(success=False)),
         "prompt_tokens": Sum("prompt_tokens"), "completion_tokens": Sum("completion_tokens"),
         "images": Sum("images"), "cost_usd": Sum("cost_usd")}


def _filled(row: dict) -> dict:
    """Sums of no rows are None: zero them."""
    return {**row, **{key: row[key] or (Decimal("0") if key == "cost_usd" else 0) for key in _SUMS}}


def _rows(queryset, *fields) -> list[dict]:
    return [_filled(row) for row in queryset.values(*fields).annotate(**_SUMS).order_by(*fields)]


def period_start(days: int, now=None):
    """Local midnight `days - 1` days before today: the last `days` days, today included."""
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days - 1)


def spend_usd(*, days: int, request_type_prefix: str = "", now=None) -> Decimal:
    """Everyone's spend of the last `days` days (today included) on request types starting with the prefix
    ("pipeline.", "vinted."): how an app's `manage.py stats` collector tells its AI cost."""
    usage = AIUsage.objects.filter(created_at__gte=period_start(days, now),
                                   request_type__startswith=request_type_prefix)
    return usage.aggregate(total=Sum("cost_usd"))["total"] or Decimal("0")


def report(*, days: int, user=None, viewer=None) -> dict:
    """Spend of the last `days` days (today included), of `user` if given."""
    since = period_start(days)
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


# --- the costs page: ranges, the daily series, budgets and headroom, the CSV export ------------------

# The page's ranges: query value -> (days back, today included; label).
RANGES = {"today": (1, "Today"), "7d": (7, "Last 7 days"), "30d": (30, "Last 30 days")}
DEFAULT_RANGE = "30d"

CSV_HEADER = ["day", "user", "model", "request_type", "calls", "failures", "prompt_tokens",
              "completion_tokens", "images", "cost_usd"]


class UnknownRange(ValueError):
    """A range the page does not offer (the view answers 400 with the choices)."""


def range_days(name: str | None) -> int:
    """Days back of a range name; None or "" is the default range."""
    try:
        return RANGES[name or DEFAULT_RANGE][0]
    except KeyError:
        raise UnknownRange(f"Unknown range {name!r}: choose one of {', '.join(RANGES)}.") from None


def daily_spend(data: dict) -> list[dict]:
    """One row per day of the report's period, days without calls included as zero."""
    spent = {row["day"]: row for row in data["by_day"]}
    first = data["since"].date()
    days = [first + timedelta(days=offset) for offset in range(data["days"])]
    return [{"day": day, "cost_usd": spent[day]["cost_usd"] if day in spent else Decimal("0"),
             "calls": spent[day]["calls"] if day in spent else 0} for day in days]


def budgets(viewer) -> list[dict]:
    """This month's spend against the budget of each person `viewer` may see (admins everyone, others
    themselves), with headroom, most used first; people without calls are listed too."""
    people = get_user_model().objects.restrict(viewer).filter(is_active=True)
    spent = dict(AIUsage.objects.restrict(viewer).filter(created_at__gte=month_start(), user__isnull=False)
                 .values_list("user").annotate(total=Sum("cost_usd")).order_by())
    rows = []
    for person in people.order_by("username"):
        budget, cost = budget_for(person), spent.get(person.pk) or Decimal("0")
        rows.append({
            "user": person, "username": person.username, "spent_usd": cost, "budget_usd": budget,
            "custom": person.ai_monthly_budget_usd is not None,
            "headroom_usd": max(Decimal("0"), budget - cost),
            "percent_used": int(cost / budget * 100) if budget else None,
        })
    return sorted(rows, key=lambda row: -(row["percent_used"] if row["percent_used"] is not None else 10**6))


def export_rows(data: dict):
    """The CSV export of a report: its header, then one row per day, person, model and request type."""
    yield CSV_HEADER
    for row in data["detail"]:
        yield [row["day"], row["user__username"] or "system", row["model"], row["request_type"], row["calls"],
               row["failures"], row["prompt_tokens"], row["completion_tokens"], row["images"],
               f"{row['cost_usd']:.6f}"]
