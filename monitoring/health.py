"""Health checks of the operations app, listed by settings.HEALTH_CHECKS (read by lofisite.health's /health/).

Every check here only warns (`ServiceWarning`: overall "degraded", still 200): a dead worker, a
stuck queue, a silent scheduler, an open breaker, a nearly spent AI budget, a stale backup or a
nearly full disk leave the web product working; restarting or removing the web node fixes none of
them. Only the database and storage checks (django-health-check's own) make it "unhealthy" (503).

How a task worker shows it is alive: django-tasks-db's `db_worker` writes nothing while idle, so
the scheduler hook `ping_idle_worker` enqueues a no-op task (`worker_ping`) when no worker has shown
life for HEALTH_WORKER_PING_SECONDS; the worker running it (or any task or job heartbeat) is the sign
`monitoring.metrics.worker_last_seen()` reads. A worker is taken as gone when that sign is older
than HEALTH_WORKER_MAX_AGE_SECONDS.
"""

import dataclasses
import os
import socket
import time
from datetime import UTC, datetime
from decimal import Decimal

import psutil
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db.models import Case, Count, F, Min, When
from django.db.models.functions import Greatest
from django.tasks import TaskResultStatus, task
from django.utils import timezone
from health_check.base import HealthCheck
from health_check.contrib.redis import Redis
from health_check.exceptions import HealthCheckException, ServiceWarning
from redis.asyncio import Redis as RedisClient
from redis.exceptions import RedisError

from lofisite import cache as shared_cache

from . import ai, breakers
from .backups import freshness, maintenance
from .choices import BackupStatus, BreakerState
from .metrics import worker_last_seen
from .models import Backup, JobStat
from .scheduler import LAST_TICK_CACHE_KEY

_MB = 1024 * 1024


def details_visible_to(user) -> bool:
    """Who sees every check's name, time and message (on /health/ and the detailed API): admins.

    The rule of the system-wide admin endpoints (JobStat's, Action.ADMIN); others see the overall status.
    """
    return JobStat.objects.model_permits(user, "admin")


@dataclasses.dataclass
class MaintenanceCheck(HealthCheck):
    """Maintenance mode (a restore running) is "degraded": the load balancer keeps the site, people see why."""

    async def run(self):
        state = maintenance.status()
        if state is not None:
            raise ServiceWarning(f"maintenance mode: {state['reason']} (since {state['since']})")


class OperationalCheck(HealthCheck):
    """A check of the operations' state, read with the ORM; anything going wrong in it is "degraded".

    `check()` runs on the request's own thread and database connection (sync_to_async, thread-sensitive);
    an unexpected error while checking (e.g. the database just went away: the Database check says so)
    is a warning naming the error's type, never a 500 nor a false "unhealthy".
    """

    def check(self) -> None:
        raise NotImplementedError

    async def run(self):
        try:
            await sync_to_async(self.check)()
        except HealthCheckException:
            raise
        except Exception as exc:
            raise ServiceWarning(f"could not check: {type(exc).__name__}") from exc


def _age(moment, now=None) -> float:
    return max(0.0, ((now or timezone.now()) - moment).total_seconds())


# --- host ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class DiskCheck(HealthCheck):
    """Free space where the database, media and backups live (VAR_DIR by default) is above the threshold."""

    path: str = dataclasses.field(default_factory=lambda: str(settings.HEALTH_DISK_PATH))
    min_free_mb: float | None = dataclasses.field(default=None, repr=False)

    def run(self):
        minimum = settings.HEALTH_DISK_MIN_FREE_MB if self.min_free_mb is None else self.min_free_mb
        try:
            free = psutil.disk_usage(self.path).free
        except OSError as exc:  # a path that is gone or unreadable: say so, it is no outage of the site
            raise ServiceWarning(f"cannot read the free space of {self.path}: {type(exc).__name__}") from exc
        if free < minimum * _MB:
            raise ServiceWarning(f"{free / _MB:.0f} MB free on {self.path}, below the {minimum:g} MB threshold")


def _redis_url() -> str:
    return settings.HEALTH_REDIS_URL


@dataclasses.dataclass(repr=False)  # the library's repr: host, port and db, never a password
class RedisCheck(Redis):
    """Redis (REDIS_URL) answers a PING. Down is "degraded": the cache fails soft (lofisite.cache)."""

    def __post_init__(self):
        if self.client is None and self.client_factory is None:
            url = _redis_url()
            self.client_factory = lambda: RedisClient.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        super().__post_init__()

    async def run(self):
        try:
            await super().run()
        except (HealthCheckException, RedisError, OSError) as exc:
            reason = exc.message if isinstance(exc, HealthCheckException) else type(exc).__name__
            raise ServiceWarning(f"Redis does not answer ({reason}); the cache runs in fail-soft mode") from exc


# --- task worker, queue, scheduler -------------------------------------------------------------------


@task
def worker_ping():
    """A no-op task: a worker that runs it has shown life (see the module docstring)."""
    return None


def _ping_tasks():
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path=worker_ping.module_path)


def ping_idle_worker() -> int:
    """Scheduler hook: enqueue a worker_ping when no worker showed life lately and none is waiting.

    Returns 1 when it enqueued one. Old finished pings are deleted (the newest stays: it is the sign).
    """
    last = worker_last_seen()
    if last is not None and _age(last) < settings.HEALTH_WORKER_PING_SECONDS:
        return 0
    pings = _ping_tasks()
    if pings.filter(status=TaskResultStatus.READY).exists():
        return 0  # one is waiting: a worker that is down must not pile them up
    newest = pings.exclude(finished_at=None).order_by("-finished_at").values_list("pk", flat=True).first()
    pings.exclude(finished_at=None).exclude(pk=newest).delete()
    worker_ping.enqueue()
    return 1


def worker_status() -> dict:
    """{"last_seen_at", "age_seconds", "max_age_seconds", "alive"}: a worker showed life lately."""
    limit = settings.HEALTH_WORKER_MAX_AGE_SECONDS
    last = worker_last_seen()
    age = None if last is None else _age(last)
    return {"last_seen_at": last, "age_seconds": age, "max_age_seconds": limit,
            "alive": age is not None and age <= limit}


@dataclasses.dataclass
class WorkerCheck(OperationalCheck):
    """A task worker showed life (a task or a job heartbeat) within HEALTH_WORKER_MAX_AGE_SECONDS."""

    def check(self):
        state = worker_status()
        if state["last_seen_at"] is None:
            raise ServiceWarning("no task worker has run anything yet: is `manage.py db_worker` running?")
        if not state["alive"]:
            raise ServiceWarning(f"no task worker has shown life for {state['age_seconds']:.0f} s "
                                 f"(limit {state['max_age_seconds']} s): is `manage.py db_worker` running?")


def queue_status() -> dict:
    """{"ready", "oldest_ready_age_seconds", "max_age_seconds", "stuck"} of django-tasks-db's queue."""
    from django_tasks_db.models import DBTaskResult, get_date_max

    # A task with a run_after became ready then; one without, when it was enqueued (as monitoring.metrics).
    ready_since = Case(When(run_after=get_date_max(), then=F("enqueued_at")),
                       default=Greatest("enqueued_at", "run_after"))
    row = DBTaskResult.objects.ready().aggregate(ready=Count("id"), oldest=Min(ready_since))
    limit = settings.HEALTH_QUEUE_MAX_AGE_SECONDS
    age = None if row["oldest"] is None else _age(row["oldest"])
    return {"ready": row["ready"], "oldest_ready_age_seconds": age, "max_age_seconds": limit,
            "stuck": age is not None and age > limit}


@dataclasses.dataclass
class QueueCheck(OperationalCheck):
    """The oldest ready task has waited less than HEALTH_QUEUE_MAX_AGE_SECONDS (the queue is not stuck)."""

    def check(self):
        state = queue_status()
        if state["stuck"]:
            raise ServiceWarning(f"the oldest of {state['ready']} ready task(s) has waited "
                                 f"{state['oldest_ready_age_seconds']:.0f} s (limit {state['max_age_seconds']} s)")


def scheduler_status() -> dict:
    """{"last_tick_at", "age_seconds", "max_age_seconds", "alive", "known"}; the last tick is in the shared cache."""
    limit = settings.HEALTH_SCHEDULER_MAX_AGE_SECONDS
    known = shared_cache.healthy()
    value = shared_cache.get_quietly(LAST_TICK_CACHE_KEY) if known else None
    last = float(value) if isinstance(value, (int, float)) else None
    age = None if last is None else max(0.0, time.time() - last)
    return {"last_tick_at": None if last is None else datetime.fromtimestamp(last, UTC),
            "age_seconds": age, "max_age_seconds": limit, "alive": age is not None and age <= limit,
            "known": known}


@dataclasses.dataclass
class SchedulerCheck(OperationalCheck):
    """The scheduler's last tick is newer than HEALTH_SCHEDULER_MAX_AGE_SECONDS."""

    def check(self):
        state = scheduler_status()
        if not state["known"]:
            raise ServiceWarning("the scheduler's last tick is unknown: the cache is unreachable")
        if state["last_tick_at"] is None:
            raise ServiceWarning("the scheduler has not ticked yet: is `manage.py scheduler` running?")
        if not state["alive"]:
            raise ServiceWarning(f"the scheduler last ticked {state['age_seconds']:.0f} s ago "
                                 f"(limit {state['max_age_seconds']} s)")


def jobs_status() -> dict:
    """Worker, queue and scheduler together (the health/jobs API)."""
    return {"worker": worker_status(), "queue": queue_status(), "scheduler": scheduler_status()}


# --- external services, money, backups -----------------------------------------------------------------


@dataclasses.dataclass
class BreakersCheck(OperationalCheck):
    """No circuit breaker is open or half-open (one that is: that service's feature waits, the rest works)."""

    def check(self):
        tripped = [row for row in breakers.all_breakers() if row.state != BreakerState.CLOSED]
        if tripped:
            raise ServiceWarning("circuit breaker(s) not closed: " + ", ".join(
                f"{row.name} {row.state}" + (f" (retry in {row.retry_after_seconds} s)"
                                             if row.retry_after_seconds is not None else "")
                for row in tripped))


@dataclasses.dataclass
class AIBudgetCheck(OperationalCheck):
    """Every AI budget pool that spent this month keeps HEALTH_AI_MIN_HEADROOM_PERCENT of its budget."""

    def check(self):
        if not ai.ai_enabled():
            return  # offline fallbacks: nothing is spent
        floor = settings.HEALTH_AI_MIN_HEADROOM_PERCENT
        used_limit = (100 - Decimal(str(floor))) / 100  # budgets are Decimal; the setting a float
        short = [row for row in ai.spend_by_user()
                 if row["budget_usd"] is not None and row["cost_usd"] >= row["budget_usd"] * used_limit]
        if short:
            raise ServiceWarning(f"AI budget with less than {floor:g} % headroom this month: " + ", ".join(
                f"{row['username']} {row['cost_usd']:.2f}/{row['budget_usd']:.2f} USD" for row in short))


@dataclasses.dataclass
class BackupFreshnessCheck(OperationalCheck):
    """The newest successful database backup is younger than BACKUP_MAX_AGE_HOURS.

    Before any backup was attempted (a fresh install, before the first daily one) it passes; once one was
    tried, none succeeding is a warning.
    """

    def check(self):
        state = freshness()
        if not state["stale"]:
            return
        if state["last_success_at"] is None:
            failed = Backup.objects.filter(status=BackupStatus.FAILED).count()
            if failed:
                raise ServiceWarning(f"no backup has succeeded yet ({failed} failed)")
            return
        raise ServiceWarning(f"the newest database backup is {state['age_seconds'] / 3600:.1f} h old "
                             f"(limit {settings.BACKUP_MAX_AGE_HOURS:g} h)")


# --- the host, as JSON (the metrics API) --------------------------------------------------------------


def system_metrics() -> dict:
    """CPU, load, memory, swap, disk (HEALTH_DISK_PATH) and this process, read with psutil."""
    memory, disk = psutil.virtual_memory(), psutil.disk_usage(str(settings.HEALTH_DISK_PATH))
    process = psutil.Process(os.getpid())
    with process.oneshot():
        rss, threads, started = process.memory_info().rss, process.num_threads(), process.create_time()
    return {
        "hostname": socket.gethostname(),
        "cpu_count": psutil.cpu_count() or 1,
        "cpu_percent": psutil.cpu_percent(interval=None),
        "load_average": [round(value, 2) for value in psutil.getloadavg()],
        "memory": {"total_bytes": memory.total, "available_bytes": memory.available, "percent": memory.percent},
        "swap_percent": psutil.swap_memory().percent,
        "disk": {"path": str(settings.HEALTH_DISK_PATH), "total_bytes": disk.total, "free_bytes": disk.free,
                 "percent": disk.percent},
        "process": {"pid": process.pid, "rss_bytes": rss, "threads": threads,
                    "uptime_seconds": round(max(0.0, time.time() - started), 1)},
        "boot_time": datetime.fromtimestamp(psutil.boot_time(), UTC),
    }
