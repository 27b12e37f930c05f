"""The home dashboard's pipeline pictures: runs per day stacked by status, and render speed.

The figures are cached per user and role in the dashboard's namespace (pipeline.services.queries:
forgotten on commit when a run is created, finishes, is requeued or deleted, else after
DASHBOARD_CACHE_SECONDS); the card's tables and the SVG views read the same cached figures. The
pictures are pygal SVG without script (lofisite.charts.svg_of), shown with <img>.
"""

from datetime import date, datetime, time, timedelta

import pygal
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from pygal.style import Style

from lofisite.cache import cached
from lofisite.charts import CHART_STYLE, svg_of
from monitoring.cost_charts import chart_options, day_label

from .choices import RunStatus, StageName, StageStatus
from .models import Run, Stage
from .services.queries import DASHBOARD_STATS_NAMESPACE

CHART_DAYS = 14
# One colour per status, as the badges (ARCHITECTURE "UI conventions"), in stacking order.
STATUS_COLOURS = {
    RunStatus.SUCCEEDED: "#16a34a", RunStatus.FAILED: "#dc2626", RunStatus.CANCELLED: "#94a3b8",
    RunStatus.RUNNING: "#2563eb", RunStatus.QUEUED: "#64748b",
}


def _days(count: int) -> list[date]:
    today = timezone.localdate()
    return [today - timedelta(days=offset) for offset in range(count - 1, -1, -1)]


def _since(days: list[date]):
    return timezone.make_aware(datetime.combine(days[0], time.min))


@cached(DASHBOARD_STATS_NAMESPACE, ttl=settings.DASHBOARD_CACHE_SECONDS)
def _chart_figures(*, user_id: int, role: str, days: int) -> dict:
    user = get_user_model().objects.get(pk=user_id)
    day_list = _days(days)
    since = _since(day_list)
    counts = {(row["day"], row["status"]): row["n"] for row in
              Run.objects.restrict(user).filter(created_at__gte=since).annotate(day=TruncDate("created_at"))
              .values("day", "status").annotate(n=Count("id")).order_by()}
    runs = [{"day": day.isoformat(), **{status.value: counts.get((day, status.value), 0) for status in STATUS_COLOURS}}
            for day in day_list]
    # Render speed: minutes of video rendered per minute of wall time ("× real time"), per day of the
    # render's end, from the renders that succeeded.
    renders = {}
    stages = (Stage.objects.restrict(user)
              .filter(name=StageName.RENDER, status=StageStatus.SUCCEEDED, finished_at__gte=since,
                      started_at__isnull=False)
              .values_list("finished_at", "started_at", "run__duration_s"))
    for finished, started, video_s in stages:
        seconds = (finished - started).total_seconds()
        if seconds > 0:
            day = timezone.localtime(finished).date()
            total = renders.setdefault(day, [0.0, 0.0, 0])
            total[0] += video_s
            total[1] += seconds
            total[2] += 1
    speed = [{"day": day.isoformat(),
              "speed": round(renders[day][0] / renders[day][1], 2) if day in renders else None,
              "renders": renders[day][2] if day in renders else 0} for day in day_list]
    return {"runs": runs, "render_speed": speed}


def chart_figures(user, days: int = CHART_DAYS) -> dict:
    """{"runs": [{"day", <status>: count, ...}], "render_speed": [{"day", "speed" or None, "renders"}]}
    for the last `days` days (today included) of the runs this user may see; days are ISO dates."""
    return _chart_figures(user_id=user.pk, role=user.role, days=days)


def runs_per_day_svg(figures: dict) -> bytes:
    rows = figures["runs"]
    options = chart_options(len(rows)) | {"style": Style(**{**CHART_STYLE.to_dict(),
                                                            "colors": tuple(STATUS_COLOURS.values())})}
    highest = max([sum(row[status.value] for status in STATUS_COLOURS) for row in rows] + [1])
    step = max(1, -(-highest // 5))
    chart = pygal.StackedBar(**options, y_title="Runs", legend_at_bottom=True, legend_at_bottom_columns=3,
                             margin_bottom=60, y_labels=list(range(0, highest + step, step)))
    chart.x_labels = [day_label(date.fromisoformat(row["day"])) for row in rows]
    for status in STATUS_COLOURS:
        chart.add(status.label, [row[status.value] for row in rows])
    return svg_of(chart)


def render_speed_svg(figures: dict) -> bytes:
    rows = figures["render_speed"]
    chart = pygal.Line(**chart_options(len(rows)), show_legend=False, y_title="× real time",
                       allow_interruptions=True, include_x_axis=True, dots_size=5)
    chart.x_labels = [day_label(date.fromisoformat(row["day"])) for row in rows]
    chart.add("Render speed", [row["speed"] for row in rows], formatter=lambda value: f"{value:.1f}× real time")
    return svg_of(chart)

