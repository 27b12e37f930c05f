"""The operations figures of `manage.py stats`: the host, the database and the task queue, read by the
same functions as the System page, the health checks and /metrics (no second copy of how to measure them).

The business counts come from each app's own collector, listed in settings.STATS_COLLECTORS: a function
`counts(now=None) -> dict` whose values are numbers or {label: number} (monitoring knows no domain app).
"""

from django.conf import settings
from django.db.models import Count
from django.utils.module_loading import import_string

from . import health, system


def system_counts() -> dict:
    """CPU, memory, disk, processes, uptime, database size, queue depth and the heartbeats' ages."""
    host = health.system_metrics()
    jobs = health.jobs_status()
    return {
        "cpu_percent": host["cpu_percent"],
        "load_average": host["load_average"],
        "memory_percent": host["memory"]["percent"],
        "memory_available_bytes": host["memory"]["available_bytes"],
        "disk_path": host["disk"]["path"],
        "disk_percent": host["disk"]["percent"],
        "disk_free_bytes": host["disk"]["free_bytes"],
        "processes": system.process_count(),
        "uptime_seconds": round(system.host_uptime_seconds()),
        "database_bytes": system.database_size(),
        "queue_ready": jobs["queue"]["ready"],
        "queue_oldest_ready_age_seconds": _rounded(jobs["queue"]["oldest_ready_age_seconds"]),
        "worker_heartbeat_age_seconds": _rounded(jobs["worker"]["age_seconds"]),
        "scheduler_heartbeat_age_seconds": _rounded(jobs["scheduler"]["age_seconds"]),
    }


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


def by_status(queryset, field: str, choices) -> dict:
    """{value: count} for every value of `choices` (TextChoices), 0 when none, in one query: for collectors."""
    counts = dict(queryset.order_by().values_list(field).annotate(n=Count("id")))
    return {value: counts.get(value, 0) for value in choices.values}


class CollectorError(Exception):
    """A STATS_COLLECTORS entry that cannot be imported or called."""


def app_counts(now=None) -> dict:
    """{app: counts} from every collector in settings.STATS_COLLECTORS, keyed by its app (the path's package)."""
    result = {}
    for path in settings.STATS_COLLECTORS:
        try:
            collector = import_string(path)
        except ImportError as exc:
            raise CollectorError(f"STATS_COLLECTORS lists {path!r}, which cannot be imported: {exc}") from exc
        result[path.split(".")[0]] = collector(now=now)
    return result
