"""The System page's samples: the scheduler hook, its bound, the database and cache figures."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.db import connection
from django.utils import timezone

from monitoring import system
from monitoring.models import SystemSample
from monitoring.scheduler import Scheduler

pytestmark = pytest.mark.django_db


def test_the_hook_is_in_the_scheduler():
    assert "monitoring.system.take_sample" in django_settings.SCHEDULER_HOOKS


def test_a_sample_holds_the_host_and_database_figures():
    sample = system.take_sample()
    assert SystemSample.objects.count() == 1
    assert 0 <= sample.cpu_percent <= 100 * 64
    assert 0 < sample.memory_percent <= 100
    assert 0 < sample.disk_percent <= 100
    assert sample.processes > 1
    assert sample.database_bytes and sample.database_bytes > 0


def test_at_most_one_sample_per_interval(settings):
    settings.SYSTEM_SAMPLE_SECONDS = 60
    now = timezone.now()
    assert system.take_sample(now) is not None
    assert system.take_sample(now + timedelta(seconds=59)) is None
    assert SystemSample.objects.count() == 1
    assert system.take_sample(now + timedelta(seconds=60)) is not None
    assert SystemSample.objects.count() == 2


def test_samples_older_than_the_window_are_deleted_by_the_same_hook(settings):
    settings.SYSTEM_SAMPLE_KEEP_HOURS = 24
    now = timezone.now()
    system.take_sample(now - timedelta(hours=25))
    system.take_sample(now - timedelta(hours=23))
    assert SystemSample.objects.count() == 2
    system.take_sample(now)
    kept = sorted(SystemSample.objects.values_list("taken_at", flat=True))
    assert kept == [now - timedelta(hours=23), now]


def test_the_scheduler_tick_takes_a_sample():
    results = Scheduler(hooks=["monitoring.system.take_sample"]).tick()
    assert isinstance(results["monitoring.system.take_sample"], SystemSample)
    assert SystemSample.objects.count() == 1


def test_rows_per_table_and_the_database_size():
    system.take_sample()
    system.take_sample(timezone.now() + timedelta(minutes=5))
    rows = {row["table"]: row for row in system.table_rows()}
    assert "monitoring_systemsample" in rows and "accounts_user" in rows
    if connection.vendor == "postgresql":
        # Planner estimates: None ("not analysed yet") or a number, never a scan.
        assert all(row["estimated"] for row in rows.values())
    else:
        assert rows["monitoring_systemsample"] == {"table": "monitoring_systemsample", "rows": 2, "estimated": False}
    assert system.database_size() > 0


def _sample(minute, hits, misses):
    return SimpleNamespace(taken_at=minute, cache_hits=hits, cache_misses=misses)


def test_hit_ratio_is_per_interval_and_unknown_where_it_cannot_be_told():
    samples = [_sample(0, 100, 100), _sample(1, 130, 110), _sample(2, 130, 110), _sample(3, None, None),
               _sample(4, 5, 1), _sample(5, 2, 0)]
    assert system.hit_ratios(samples) == [
        (1, 0.75),   # 30 hits, 10 misses
        (2, None),   # nothing read
        (3, None),   # no counters
        (4, None),   # no counters before
        (5, None),   # Redis restarted: the counters went down
    ]


def test_cache_counters_come_from_the_redis_server():
    from django_redis.cache import RedisCache

    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        assert system.cache_counters() == (None, None)  # the file cache keeps no shared counters
        return
    hits, misses = system.cache_counters()
    cache.get("opsdash-test-missing-key")
    cache.set("opsdash-test-key", 1)
    cache.get("opsdash-test-key")
    later_hits, later_misses = system.cache_counters()
    assert later_misses >= misses + 1 and later_hits >= hits + 1


def test_a_sample_is_taken_while_redis_is_down(settings):
    """Faults degrade: an unreachable Redis leaves the cache figures out, not the sample."""
    settings.CACHES = {"default": {
        "BACKEND": "lofisite.cache.FailSoftRedisCache", "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "SOCKET_CONNECT_TIMEOUT": 0.2,
                    "SOCKET_TIMEOUT": 0.2},
    }}
    from django_redis.cache import RedisCache

    assert isinstance(caches["default"], RedisCache)  # the Redis path is taken, and it fails
    assert system.cache_counters() == (None, None)
    sample = system.take_sample()
    assert sample.pk and sample.cache_hits is None and sample.database_bytes > 0
