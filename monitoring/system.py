"""The System page's figures: the host (psutil), the database (size, rows per table) and the cache hit ratio.

`take_sample()` is a scheduler hook (settings.SCHEDULER_HOOKS): it writes at most one `SystemSample`
per SYSTEM_SAMPLE_SECONDS and deletes the rows older than SYSTEM_SAMPLE_KEEP_HOURS in the same call,
so the table stays bounded (24 h at one row a minute is 1,440 rows).

Cache hit ratio: the per-process counters (`django_cache_get_hits_total`, ...) only know the process that
reads them, so the sample stores the Redis server's own `keyspace_hits` / `keyspace_misses` (every
process, every client of that Redis) and the ratio of an interval is the difference between two samples.
The file-based cache (no Redis) keeps no shared counters: the ratio is then "not available".
"""

import logging
import time
from datetime import timedelta

import psutil
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.utils import timezone

from lofisite.cache import backend_stats

from .health import system_metrics
from .models import SystemSample

logger = logging.getLogger(__name__)

# psutil's CPU figure is the use since its previous reading in this process and meaningless on the first
# one: take that first reading at import, so a process's first sample already measures something.
psutil.cpu_percent(interval=None)


def take_sample(now=None) -> SystemSample | None:
    """Scheduler hook: record one sample unless the last is younger than SYSTEM_SAMPLE_SECONDS; prune old ones."""
    now = now or timezone.now()
    last = SystemSample.objects.order_by("-taken_at").values_list("taken_at", flat=True).first()
    sample = None
    if last is None or (now - last).total_seconds() >= settings.SYSTEM_SAMPLE_SECONDS:
        host = system_metrics()
        hits, misses = cache_counters()
        sample = SystemSample.objects.create(
            taken_at=now, cpu_percent=host["cpu_percent"], load_1=host["load_average"][0],
            memory_percent=host["memory"]["percent"], disk_percent=host["disk"]["percent"],
            processes=process_count(), database_bytes=database_size(), cache_hits=hits, cache_misses=misses,
        )
    SystemSample.objects.filter(taken_at__lt=now - timedelta(hours=settings.SYSTEM_SAMPLE_KEEP_HOURS)).delete()
    return sample


def recent_samples(user, hours: float | None = None):
    """The samples of the last `hours` (default SYSTEM_SAMPLE_KEEP_HOURS) the user may see, oldest first."""
    hours = settings.SYSTEM_SAMPLE_KEEP_HOURS if hours is None else hours
    since = timezone.now() - timedelta(hours=hours)
    return list(SystemSample.objects.restrict(user).filter(taken_at__gte=since).order_by("taken_at"))


def hit_ratios(samples) -> list[tuple]:
    """(taken_at, hit ratio 0..1 or None) per interval between consecutive samples.

    None where either sample has no counters, nothing was read, or Redis restarted (counters went down).
    """
    ratios = []
    for before, after in zip(samples, samples[1:], strict=False):
        ratio = None
        if None not in (before.cache_hits, before.cache_misses, after.cache_hits, after.cache_misses):
            hits, misses = after.cache_hits - before.cache_hits, after.cache_misses - before.cache_misses
            if hits >= 0 and misses >= 0 and hits + misses:
                ratio = hits / (hits + misses)
        ratios.append((after.taken_at, ratio))
    return ratios


def process_count() -> int:
    return len(psutil.pids())


def host_uptime_seconds() -> float:
    return max(0.0, time.time() - psutil.boot_time())


def uptime_text(seconds: float) -> str:
    """3 d 4 h, 5 h 12 min, 7 min."""
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def cache_counters(alias: str = "default") -> tuple[int | None, int | None]:
    """The Redis server's cumulative (hits, misses); (None, None) without Redis or while it is down."""
    from django_redis.cache import RedisCache

    cache = caches[alias]
    if not isinstance(cache, RedisCache):
        return None, None
    try:
        stats = cache.client.get_client(write=False).info("stats")
        return int(stats["keyspace_hits"]), int(stats["keyspace_misses"])
    except Exception as exc:  # an outage: the sample is still worth taking, without the cache figures
        logger.warning("Cache counters unavailable: %s", type(exc).__name__)
        return None, None


def database_size() -> int | None:
    """Bytes: pg_database_size on PostgreSQL; pages times page size on SQLite (also for in-memory databases)."""
    try:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_database_size(current_database())")
                return int(cursor.fetchone()[0])
            if connection.vendor == "sqlite":
                cursor.execute("PRAGMA page_count")
                pages = cursor.fetchone()[0]
                cursor.execute("PRAGMA page_size")
                return int(pages) * int(cursor.fetchone()[0])
    except Exception:
        logger.exception("Could not read the database size")
    return None


def table_rows() -> list[dict]:
    """[{"table", "rows", "estimated"}] for every table, by name.

    PostgreSQL: the planner's estimate (pg_class.reltuples; None before the table was first analysed),
    so the page never scans a big table. SQLite and others: an exact COUNT(*) (fine at our size).
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() ORDER BY c.relname")
            return [{"table": name, "rows": None if tuples < 0 else int(tuples), "estimated": True}
                    for name, tuples in cursor.fetchall()]
        rows = []
        for name in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(name)}")
            rows.append({"table": name, "rows": cursor.fetchone()[0], "estimated": False})
        return rows


def current(user) -> dict:
    """What the System page shows now (host, database, cache) beside the 24 h charts."""
    host = system_metrics()
    samples = recent_samples(user)
    ratios = [ratio for _, ratio in hit_ratios(samples) if ratio is not None]
    if samples:
        # psutil's CPU figure is the average since the previous reading in this process: in a web
        # process that is since some earlier request; the scheduler's sample covers the last interval.
        host["cpu_percent"] = samples[-1].cpu_percent
    return {
        "host": host,
        "processes": process_count(),
        "uptime": uptime_text(host_uptime_seconds()),
        "database_vendor": connection.vendor,
        "database_bytes": database_size(),
        "tables": table_rows(),
        "cache_backend": backend_stats(),
        "cache_hit_ratio": ratios[-1] if ratios else None,
        "cache_counted": bool(samples) and samples[-1].cache_hits is not None,
        "samples": samples,
    }
