"""Read-only questions that pages, the API and commands ask, and the YouTube quota ledger.

This module imports no other services module (and not `pipeline.stages`), so the publish
stage can use the quota ledger without an import cycle.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from lofisite.cache import cached, invalidate

from .. import youtube
from ..choices import RunStatus
from ..engines import EngineError
from ..models import QuotaUsage, Run, Video


def runs_today(user):
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return Run.objects.restrict(user).filter(created_at__gte=start)


def success_rate(user, days=30):
    since = timezone.now() - timedelta(days=days)
    # A cancelled run was stopped on purpose: it is neither a success nor a failure.
    finished = Run.objects.restrict(user).filter(created_at__gte=since,
                                                 status__in=(RunStatus.SUCCEEDED, RunStatus.FAILED))
    total = finished.count()
    if not total:
        return None
    return finished.filter(status=RunStatus.SUCCEEDED).count() / total


# The home dashboard's run statistics, cached per user and role; forgotten when a run is created,
# finishes, is requeued or deleted (forget_dashboard_stats, on commit), else after the TTL.
DASHBOARD_STATS_NAMESPACE = "dashboard:pipeline"


@cached(DASHBOARD_STATS_NAMESPACE, ttl=settings.DASHBOARD_CACHE_SECONDS)
def _dashboard_stats(*, user_id: int, role: str) -> dict:
    user = get_user_model().objects.get(pk=user_id)
    rate = success_rate(user)
    return {"runs_today": runs_today(user).count(), "success_rate": None if rate is None else round(rate * 100)}


def dashboard_stats(user) -> dict:
    """{"runs_today", "success_rate" (a percentage or None)} of the runs this user may see."""
    return _dashboard_stats(user_id=user.pk, role=user.role)


def forget_dashboard_stats() -> None:
    transaction.on_commit(lambda: invalidate(DASHBOARD_STATS_NAMESPACE), robust=True)


def latest_video(user):
    return (Video.objects.restrict(user).exclude(Q(video="") | Q(thumbnail="")).select_related("run")
            .order_by("-created_at").first())


# --- the YouTube quota ledger ------------------------------------------------------------------
QUOTA_LABELS = {
    youtube.QUOTA_BUCKET_UPLOADS: "Uploads (videos.insert)",
    youtube.QUOTA_BUCKET_DEFAULT: "API units (thumbnails, lookups)",
}


class QuotaUsedUp(EngineError):
    """Our own ledger says today's YouTube quota is spent; nothing was sent."""


def quota_day():
    """YouTube's quota day runs on Pacific time."""
    return timezone.now().astimezone(ZoneInfo("America/Los_Angeles")).date()


def quota_used(bucket: str) -> int:
    """Units spent in `bucket` today (the Pacific-time quota day)."""
    return QuotaUsage.objects.filter(day=quota_day(), bucket=bucket).aggregate(n=Sum("units"))["n"] or 0


def quota_limit(bucket: str) -> int:
    """The daily limit of `bucket` (YOUTUBE_DAILY_QUOTA; buckets it does not name share "default")."""
    return settings.YOUTUBE_DAILY_QUOTA.get(bucket, settings.YOUTUBE_DAILY_QUOTA["default"])


def quota_summary() -> list[dict]:
    """Today's use of each quota bucket: label, used, limit and the fraction used (0..1)."""
    summary = []
    for bucket, label in QUOTA_LABELS.items():
        used, limit = quota_used(bucket), quota_limit(bucket)
        summary.append({"bucket": bucket, "label": label, "used": used, "limit": limit,
                        "fraction": min(used / limit, 1.0) if limit else 0})
    return summary


def check_quota(bucket: str, units: int) -> None:
    """QuotaUsedUp when spending `units` more in `bucket` today would pass its limit."""
    limit, used = quota_limit(bucket), quota_used(bucket)
    if used + units > limit:
        raise QuotaUsedUp(f"The daily YouTube quota for {bucket} is used up ({used} of {limit}); it resets at "
                          "midnight Pacific time. Retry the run tomorrow.")


def record_quota(bucket, units, operation, video, user):
    """Write one spend to the ledger (the one write in this module)."""
    QuotaUsage.objects.create(day=quota_day(), bucket=bucket, units=units, operation=operation, video=video,
                              user=user)
