"""Each health check passes while its dependency works and says so when it does not: Redis stopped for real,
a full disk (by the threshold), a stale worker heartbeat, a stuck queue, a silent scheduler, an open breaker,
a spent AI budget, a stale backup, a missing ffmpeg, a broken storage."""

import dataclasses
import os
import stat
from datetime import timedelta
from decimal import Decimal

import psutil
import pytest
import time_machine
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from lofisite import cache as shared_cache
from lofisite.health import CacheCheck, describe, overall, run_checks
from monitoring import breakers
from monitoring import health as checks
from monitoring.backups import services as backup_services
from monitoring.choices import BackupStatus, JobStatus
from monitoring.models import AIUsage, Backup, JobRun
from monitoring.scheduler import LAST_TICK_CACHE_KEY, Scheduler
from pipeline.health import FfmpegCheck
from tests.clocks import ManualClock
from tests.lofisite.redis_process import redis_process  # noqa: F401  (fixture)
from tests.monitoring.backup_fixtures import backup_settings  # noqa: F401  (fixture)
from tests.monitoring.worker import run_worker

pytestmark = pytest.mark.django_db


def check(instance) -> dict:
    """Run one check as /health/ does; its result as data (name, status, message, time)."""
    return describe(run_checks([instance])[0])


def assert_ok(instance):
    result = check(instance)
    assert result["status"] == "ok", result


def assert_warns(instance, *words):
    result = check(instance)
    assert result["status"] == "warning", result
    for word in words:
        assert word in result["message"], (word, result["message"])
    return result["message"]


# --- Redis and the cache, for real --------------------------------------------------------------------


def test_redis_and_cache_checks_warn_while_redis_is_stopped_and_pass_when_it_is_back(settings,
                                                                                   redis_process):  # noqa: F811
    settings.HEALTH_REDIS_URL = redis_process.url
    settings.CACHES = {"default": {
        "BACKEND": "lofisite.cache.FailSoftRedisCache", "LOCATION": redis_process.url, "KEY_PREFIX": "health-checks",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5, "OUTAGE_RETRY_SECONDS": 1.0},
    }}
    from django.core.cache import cache

    clock = ManualClock(1000.0)
    cache.outage.clock = clock
    try:
        assert_ok(checks.RedisCheck())
        assert_ok(CacheCheck())
        redis_process.kill()
        results = run_checks([checks.RedisCheck(), CacheCheck()])
        assert [describe(r)["status"] for r in results] == ["warning", "warning"]
        assert "Redis does not answer" in str(results[0].error) and "cache unreachable" in str(results[1].error)
        assert overall(results) == "degraded"  # not unhealthy: the product runs uncached
        redis_process.start()
        clock.advance(2)  # past the cache's back-off
        assert_ok(checks.RedisCheck())
        assert_ok(CacheCheck())
    finally:
        cache.outage.clock = shared_cache.Outage.clock


def test_the_redis_check_names_host_and_port_but_never_the_password(settings, redis_process):  # noqa: F811
    settings.HEALTH_REDIS_URL = f"redis://:s3cret-pass@127.0.0.1:{redis_process.port}/0"
    result = check(checks.RedisCheck())
    assert str(redis_process.port) in result["name"] and "s3cret" not in result["name"] + result["message"]


# --- host -------------------------------------------------------------------------------------------------


def test_disk_check_warns_below_the_free_space_threshold(settings, tmp_path):
    free_mb = psutil.disk_usage(str(tmp_path)).free / 1024 / 1024
    settings.HEALTH_DISK_PATH = str(tmp_path)
    settings.HEALTH_DISK_MIN_FREE_MB = 1
    assert_ok(checks.DiskCheck())
    settings.HEALTH_DISK_MIN_FREE_MB = free_mb * 10  # the disk is "full" for this threshold
    assert_warns(checks.DiskCheck(), "MB free on", str(tmp_path), "threshold")
    assert_warns(checks.DiskCheck(path=str(tmp_path), min_free_mb=free_mb * 10), "below")
    assert_warns(checks.DiskCheck(path=str(tmp_path / "gone"), min_free_mb=1), "cannot read the free space")


def test_memory_check_warns_above_its_percentage():
    from health_check.contrib.psutil import Memory

    assert_ok(Memory(max_memory_usage_percent=100))
    assert_warns(Memory(max_memory_usage_percent=0.01), "RAM")


def test_storage_check_fails_when_media_cannot_be_written(settings, tmp_path):
    from health_check.checks import Storage

    assert check(Storage())["status"] == "ok"
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the media folder should be")
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(blocker / "media")}}}
    results = run_checks([Storage()])
    assert describe(results[0])["status"] == "unavailable" and overall(results) == "unhealthy"


# --- worker, queue, scheduler ----------------------------------------------------------------------------


def test_worker_check_warns_before_any_worker_ran_and_when_the_heartbeat_is_stale(settings):
    settings.HEALTH_WORKER_MAX_AGE_SECONDS = 300
    assert_warns(checks.WorkerCheck(), "no task worker has run anything yet", "db_worker")

    run = JobRun.objects.create(name="tests.long", job_path="tests.long", status=JobStatus.RUNNING,
                                started_at=timezone.now() - timedelta(hours=1), heartbeat_at=timezone.now())
    assert_ok(checks.WorkerCheck())  # a long job's fresh heartbeat: alive
    JobRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=10))
    assert_warns(checks.WorkerCheck(), "no task worker has shown life for", "limit 300 s")


def test_the_scheduler_pings_an_idle_worker_and_the_worker_running_it_is_alive(settings):
    settings.HEALTH_WORKER_PING_SECONDS = 60
    settings.HEALTH_WORKER_MAX_AGE_SECONDS = 300
    assert checks.ping_idle_worker() == 1
    assert checks.ping_idle_worker() == 0  # one is waiting: no pile-up while no worker runs
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    run_worker()  # the real django-tasks-db worker
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert_ok(checks.WorkerCheck())
    assert checks.ping_idle_worker() == 0  # it just showed life

    with time_machine.travel(timedelta(minutes=10)):
        assert_warns(checks.WorkerCheck(), "no task worker has shown life for")  # the worker stopped
        assert checks.ping_idle_worker() == 1
        run_worker()
        assert_ok(checks.WorkerCheck())
        # The older finished ping is deleted by the next ping; the newest (the sign of life) stays.
        with time_machine.travel(timedelta(minutes=2)):
            assert checks.ping_idle_worker() == 1
            assert DBTaskResult.objects.filter(status="SUCCESSFUL").count() == 1
            assert DBTaskResult.objects.filter(status="READY").count() == 1


def test_queue_check_warns_when_the_oldest_ready_task_waited_too_long(settings):
    settings.HEALTH_QUEUE_MAX_AGE_SECONDS = 1800
    assert_ok(checks.QueueCheck())
    checks.worker_ping.enqueue()
    assert_ok(checks.QueueCheck())  # just enqueued
    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(hours=1))
    assert_warns(checks.QueueCheck(), "the oldest of 1 ready task(s) has waited", "limit 1800 s")
    run_worker()
    assert_ok(checks.QueueCheck())


def test_scheduler_check_follows_the_last_tick(settings):
    settings.HEALTH_SCHEDULER_MAX_AGE_SECONDS = 180
    assert_warns(checks.SchedulerCheck(), "the scheduler has not ticked yet")
    Scheduler(hooks=[], tick_seconds=0).tick()
    assert_ok(checks.SchedulerCheck())
    with time_machine.travel(timedelta(minutes=5)):
        assert_warns(checks.SchedulerCheck(), "the scheduler last ticked", "limit 180 s")


def test_scheduler_check_says_unknown_while_the_cache_is_down(settings, redis_process):  # noqa: F811
    settings.CACHES = {"default": {
        "BACKEND": "lofisite.cache.FailSoftRedisCache", "LOCATION": redis_process.url, "KEY_PREFIX": "health-sched",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5, "OUTAGE_RETRY_SECONDS": 1.0},
    }}
    shared_cache.set_quietly(LAST_TICK_CACHE_KEY, timezone.now().timestamp(), None)
    assert_ok(checks.SchedulerCheck())
    redis_process.kill()
    assert_warns(checks.SchedulerCheck(), "unknown", "cache is unreachable")


# --- breakers, AI budget, backups, maintenance ------------------------------------------------------------


def test_breakers_check_warns_while_a_breaker_is_open(breaker_settings):
    assert_ok(checks.BreakersCheck())
    test_breaker = breakers.breaker("test")

    def failing():
        raise ConnectionError("the service is down")

    for _ in range(3):  # the "test" breaker opens after 3 failures
        with pytest.raises(ConnectionError):
            test_breaker.call(failing)
    results = run_checks([checks.BreakersCheck()])
    assert overall(results) == "degraded"  # degraded, not down
    assert "test open (retry in" in str(results[0].error)
    breakers.reset("test")
    assert_ok(checks.BreakersCheck())


def test_ai_budget_check_warns_when_a_pool_has_little_headroom(settings, operator):
    settings.OPENAI_API_KEY = "sk-test"
    settings.AI_MONTHLY_BUDGET_USD = 20.0
    settings.HEALTH_AI_MIN_HEADROOM_PERCENT = 10.0  # a float, as env.float gives
    AIUsage.objects.create(user=operator, model="gpt-4o-mini", request_type="test", cost_usd=Decimal("5"))
    assert_ok(checks.AIBudgetCheck())
    AIUsage.objects.create(user=operator, model="gpt-4o-mini", request_type="test", cost_usd=Decimal("13.5"))
    assert_warns(checks.AIBudgetCheck(), "less than 10 % headroom", f"{operator.username} 18.50/20.00 USD")
    settings.OPENAI_API_KEY = ""
    assert_ok(checks.AIBudgetCheck())  # offline: nothing is spent


@pytest.mark.django_db(transaction=True)  # a SQLite backup runs outside a transaction
@pytest.mark.usefixtures("backup_settings")
def test_backup_freshness_check(settings):
    settings.BACKUP_MAX_AGE_HOURS = 36
    assert_ok(checks.BackupFreshnessCheck())  # a fresh install: nothing attempted yet
    Backup.objects.create(status=BackupStatus.FAILED, error="disk full", finished_at=timezone.now())
    assert_warns(checks.BackupFreshnessCheck(), "no backup has succeeded yet (1 failed)")
    backup_services.create_backup(user=None, verify=False)
    assert_ok(checks.BackupFreshnessCheck())
    with time_machine.travel(timedelta(hours=40)):
        assert_warns(checks.BackupFreshnessCheck(), "h old", "limit 36 h")


def test_maintenance_check_warns_during_a_restore(settings, tmp_path):
    from monitoring.backups import maintenance

    assert_ok(checks.MaintenanceCheck())
    with maintenance.on("restoring backup 7"):
        assert_warns(checks.MaintenanceCheck(), "maintenance mode", "restoring backup 7")


# --- pipeline ----------------------------------------------------------------------------------------------


def test_ffmpeg_check_warns_when_ffmpeg_is_missing_or_not_executable(monkeypatch, tmp_path):
    assert_ok(FfmpegCheck())
    monkeypatch.setenv("FFMPEG_BINARY", str(tmp_path / "no-such-ffmpeg"))
    assert_warns(FfmpegCheck(), "is not an executable file", "renders will fail")
    plain = tmp_path / "ffmpeg"
    plain.write_text("not a program")
    os.chmod(plain, stat.S_IRUSR | stat.S_IWUSR)
    monkeypatch.setenv("FFMPEG_BINARY", str(plain))
    assert_warns(FfmpegCheck(), "not an executable file")


# --- what a check that breaks says ------------------------------------------------------------------------


@dataclasses.dataclass
class _BrokenOperationalCheck(checks.OperationalCheck):
    def check(self):
        raise RuntimeError("secret detail that must not reach a page")


def test_an_operational_check_that_breaks_degrades_and_names_only_the_error_type():
    message = assert_warns(_BrokenOperationalCheck(), "could not check: RuntimeError")
    assert "secret" not in message
