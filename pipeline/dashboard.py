"""The pipeline's cards on the home dashboard (listed in settings.DASHBOARD_CARDS): run statistics,
runs per day stacked by status and render speed (pipeline.charts), and the latest video.
The figures are cached per user and role and forgotten when a run changes (services.queries)."""

from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model

from lofisite.cache import cached
from lofisite.dashboard import Card, rendered_cache

from . import charts, services
from .models import Run
from .services.queries import DASHBOARD_STATS_NAMESPACE


@cached(DASHBOARD_STATS_NAMESPACE, ttl=settings.DASHBOARD_CACHE_SECONDS)
def _latest_video(*, user_id: int, role: str) -> dict | None:
    video = services.latest_video(get_user_model().objects.get(pk=user_id))
    if video is None:
        return None
    return {"run_id": video.run_id, "run_url": video.run.get_absolute_url(), "title": video.title,
            "created_at": video.created_at.isoformat()}


def latest_video(user) -> dict | None:
    """The newest finished video the user may see, as the card shows it (cached like the statistics)."""
    video = _latest_video(user_id=user.pk, role=user.role)
    return video and {**video, "created_at": datetime.fromisoformat(video["created_at"])}


# Everything these cards show is cached in the namespace (and `can_run` follows the role): their HTML is too.
@rendered_cache(DASHBOARD_STATS_NAMESPACE, ttl=settings.DASHBOARD_CACHE_SECONDS)
def cards(request):
    user = request.user
    figures = charts.chart_figures(user)
    statuses = [(status.value, status.label) for status in charts.STATUS_COLOURS]
    runs = [{"day": row["day"], "total": sum(row[key] for key, _ in statuses),
             "counts": [(label, row[key]) for key, label in statuses if row[key]]} for row in figures["runs"]]
    return [
        Card("pipeline/_dashboard_stats.html", "stat", services.dashboard_stats(user)),
        Card("pipeline/_dashboard_charts.html", "panel", {
            "runs": list(reversed(runs)), "days": len(runs), "any_runs": any(row["total"] for row in runs),
            "render_speed": [row for row in reversed(figures["render_speed"]) if row["renders"]],
            "can_run": Run.objects.can_add(user),
        }),
        Card("pipeline/_dashboard_latest.html", "panel", {
            "latest_video": latest_video(user), "can_run": Run.objects.can_add(user),
        }),
    ]
