"""The one job wrapper: django.tasks + retries with backoff, heartbeats, time limits, stats, dead-worker recovery.

Why one ~480-line module: the job row's state machine (queued, running, retrying, dead,
succeeded, failed) is written by the wrapper, the heartbeat and the stale-job recovery,
which must agree on every conditional UPDATE; kept together they can be read as one.

Declare a job at module level::

    @job("pipeline.run", max_attempts=3, time_limit=3600, on_dead="pipeline.services.on_run_worker_lost")
    def run_pipeline(run_id: int) -> None:
        ...
        heartbeat(progress=0.4, message="rendering")   # cheap; call it often

    job_run = run_pipeline.enqueue(run.pk)   # -> JobRun row (status "queued")
    value = run_pipeline.call(run.pk)        # synchronous, same bookkeeping; returns the function's value

How it runs: `.enqueue()` creates a `JobRun` and enqueues the single
`monitoring.jobs.run_job` task (django.tasks, django-tasks-db backend) with the
run id; `manage.py db_worker` executes it. Arguments are stored on the JobRun
and must be JSON values (ids, not model instances). Enqueueing inside a
transaction is safe: the JobRun and the queued task commit or roll back
together, and the worker sees neither before the commit.

Outcomes of one execution (an "attempt"):
- returns: the run is `succeeded`.
- raises `TransientError` (or a subclass: `BreakerOpen`, `RateLimited`,
  `AITransientError`) while attempts remain: the run becomes `retrying`,
  `attempt` goes up and the task is re-enqueued with
  `run_after = now + backoff_base * 2**(attempt-1)` plus up to 10% jitter
  (never sooner than the exception's `retry_after`). On the last attempt: `failed`.
- raises anything else, including `JobTimeout`: `failed` at once.
- the worker dies: the heartbeat goes stale and `recover_stale_jobs()` (a
  scheduler hook) marks the run `dead`, then calls the job's `on_dead(job_run)`
  hook if it has one (the hook decides: re-enqueue, resume, fail visibly), or
  else re-enqueues it while attempts remain, or marks it `failed`.

Every attempt updates `JobStat` for the job name (an attempt is a "run" there).
State changes are conditional UPDATEs on (status, attempt), so two workers or
two schedulers never both act on the same run.

A running job must call `heartbeat()` at least every JOB_STALE_AFTER_SECONDS,
or it is taken as dead; `time_limit` is enforced from `heartbeat()` too (it is
cooperative: a job that never calls heartbeat() is never timed out).
"""

import contextvars
import functools
import logging
import os
import random
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.tasks import TaskResultStatus, task
from django.utils import timezone
from django.utils.json import normalize_json
from django.utils.module_loading import import_string

from .choices import JobStatus
from .events import record_event
from .models import JobRun, JobStat

logger = logging.getLogger(__name__)

# Stale runs handled per scheduler tick; the rest wait for the next tick.
_RECOVERY_BATCH = 100


class TransientError(Exception):
    """A failure worth retrying later (timeouts, 5xx, rate limits, an open breaker).

    `retry_after` (seconds), when known, is the earliest sensible retry; the
    job wrapper never retries sooner.
    """

    def __init__(self, message: str = "", *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class JobTimeout(Exception):
    """The job ran past its `time_limit` (raised from heartbeat()); the run fails, no retry."""


class JobLost(Exception):
    """This run is no longer ours: it was declared dead (stale heartbeat) while still executing."""


@dataclass
class _Current:
    run_id: int
    attempt: int
    time_limit: float | None
    deadline: float | None  # time.monotonic() value
    last_beat: float


_current: contextvars.ContextVar[_Current | None] = contextvars.ContextVar("monitoring_job", default=None)


def heartbeat(progress: float | None = None, message: str = "") -> None:
    """Tell the world this job is alive; optional progress is a fraction 0..1.

    Writes at most every JOB_HEARTBEAT_SECONDS, so it is cheap to call in a
    loop. Raises JobTimeout past the job's time limit and JobLost when the run
    was declared dead meanwhile. Outside a job it does nothing.
    """
    current = _current.get()
    if current is None:
        return
    now = time.monotonic()
    if current.deadline is not None and now > current.deadline:
        raise JobTimeout(f"Time limit of {current.time_limit:g} s exceeded.")
    if now - current.last_beat < settings.JOB_HEARTBEAT_SECONDS:
        return
    current.last_beat = now
    updates: dict[str, Any] = {"heartbeat_at": timezone.now()}
    if progress is not None:
        updates["progress"] = max(0.0, min(1.0, float(progress)))
    if message:
        updates["progress_message"] = message[:255]
    if not _mine(current.run_id, current.attempt).update(**updates):
        raise JobLost(f"Job run #{current.run_id} was taken over (declared dead); stopping.")


def current_attempt() -> int | None:
    """The attempt number (1 for the first) of the job running in this context; None outside a job.

    For a job that keeps its own progress: on its last attempt (`attempt == job.max_attempts`) a
    TransientError fails the run for good, so such a job settles its own rows instead of raising.
    """
    current = _current.get()
    return None if current is None else current.attempt


def _mine(run_id: int, attempt: int):
    """The run, only while this attempt still owns it."""
    return JobRun.objects.filter(pk=run_id, status=JobStatus.RUNNING, attempt=attempt)


def _worker_identity() -> dict:
    return {"worker_pid": os.getpid(), "worker_host": socket.gethostname()[:255]}


def _json_args(args, kwargs) -> tuple[list, dict]:
    try:
        data = normalize_json({"args": list(args), "kwargs": dict(kwargs)})
    except (TypeError, ValueError) as exc:
        raise TypeError(f"Job arguments must be JSON values (pass ids, not objects): {exc}") from exc
    return data["args"], data["kwargs"]


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass
class _Outcome:
    value: Any = None
    error: BaseException | None = None
    retry_in: float | None = None  # seconds until the next attempt, when one was scheduled


class Job:
    """What `@job(...)` returns. `enqueue()` queues a run; `call()` runs it here and now."""

    def __init__(self, func, *, name, max_attempts=None, backoff_base=None, time_limit=None, on_dead=None,
                 label=None):
        if "<locals>" in func.__qualname__:
            raise TypeError(f"@job functions must be defined at module level ({func.__qualname__}).")
        functools.update_wrapper(self, func)
        self.func = func
        self.name = name
        self.path = f"{func.__module__}.{func.__qualname__}"
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self.time_limit = time_limit
        self._on_dead = on_dead
        self._label = label

    def label(self, args, kwargs) -> str:
        """The human name of one run ("Compose stage of run #34"), from the `label` callable; "" without one."""
        if self._label is None:
            return ""
        try:
            return str(self._label(*args, **kwargs))[:200]
        except Exception:  # a label is decoration: never let it stop a job from being queued
            logger.exception("Label of job %s failed", self.name)
            return ""

    def __repr__(self):
        return f"<Job {self.name} ({self.path})>"

    # Settings are read at use time so tests and deployments can change them.
    @property
    def max_attempts(self) -> int:
        return max(1, self._max_attempts if self._max_attempts is not None else settings.JOB_DEFAULT_MAX_ATTEMPTS)

    @property
    def backoff_base(self) -> float:
        return self._backoff_base if self._backoff_base is not None else settings.JOB_BACKOFF_BASE_SECONDS

    @property
    def on_dead(self):
        return import_string(self._on_dead) if isinstance(self._on_dead, str) else self._on_dead

    def enqueue(self, *args, **kwargs) -> JobRun:
        """Queue a run for the worker; returns its JobRun (`task_result_id` links the queued task)."""
        return self.enqueue_in(None, *args, **kwargs)

    def enqueue_in(self, delay_seconds: float | None, *args, **kwargs) -> JobRun:
        """Like enqueue(), but no worker starts it sooner than `delay_seconds` from now."""
        args, kwargs = _json_args(args, kwargs)
        run_after = timezone.now() + timedelta(seconds=delay_seconds) if delay_seconds else None
        with transaction.atomic():
            run = JobRun.objects.create(
                name=self.name, label=self.label(args, kwargs), job_path=self.path, args=args, kwargs=kwargs,
                status=JobStatus.QUEUED, attempt=1, max_attempts=self.max_attempts, run_after=run_after,
            )
            run.task_result_id = _submit(run.pk, run_after=run_after)
            run.save(update_fields=["task_result_id"])
        return run

    def call(self, *args, **kwargs):
        """Run now in this process with the same bookkeeping; retries sleep in place.

        Returns the function's value, or raises its final exception.
        """
        args, kwargs = _json_args(args, kwargs)
        now = timezone.now()
        run = JobRun.objects.create(
            name=self.name, label=self.label(args, kwargs), job_path=self.path, args=args, kwargs=kwargs,
            status=JobStatus.RUNNING, attempt=1, max_attempts=self.max_attempts,
            started_at=now, heartbeat_at=now, **_worker_identity(),
        )
        while True:
            outcome = self._run_attempt(run, requeue=False)
            if outcome.error is None:
                return outcome.value
            if outcome.retry_in is None:
                raise outcome.error
            time.sleep(outcome.retry_in)
            run_id, run = run.pk, _claim(run.pk)
            if run is None:
                raise JobLost(f"Job run #{run_id} changed state while waiting to retry.")

    def retry_delay(self, attempt: int, exc: BaseException | None = None) -> float:
        """Seconds before attempt `attempt + 1`: exponential backoff with jitter, at least exc.retry_after."""
        delay = self.backoff_base * 2 ** (attempt - 1)
        # Jitter spreads out many runs that failed together (an outage) so they don't retry in lockstep.
        delay += random.uniform(0, delay * 0.1)
        hint = getattr(exc, "retry_after", None)
        if hint:
            delay = max(delay, float(hint))
        return delay

    def _run_attempt(self, run: JobRun, *, requeue: bool) -> _Outcome:
        """Execute one attempt of a run this process has claimed (status running)."""
        started = time.monotonic()
        deadline = started + self.time_limit if self.time_limit else None
        token = _current.set(_Current(run.pk, run.attempt, self.time_limit, deadline, started))
        try:
            value = self.func(*run.args, **run.kwargs)
        except Exception as exc:
            retryable = isinstance(exc, TransientError) and run.attempt < run.max_attempts
            retry_in = self.retry_delay(run.attempt, exc) if retryable else None
            _finish_failed(run, exc, time.monotonic() - started, retry_in=retry_in, requeue=requeue)
            return _Outcome(error=exc, retry_in=retry_in)
        except BaseException as exc:
            # Interrupted (worker shutdown, Ctrl-C). A worker's run comes back later if attempts
            # remain; an interactive call stops for good, as its operator asked.
            retry_in = (self.retry_delay(run.attempt) if requeue and run.attempt < run.max_attempts else None)
            _finish_failed(run, exc, time.monotonic() - started, retry_in=retry_in, requeue=requeue)
            raise
        finally:
            _current.reset(token)
        _finish_succeeded(run, time.monotonic() - started)
        return _Outcome(value=value)


def job(name: str, *, max_attempts: int | None = None, backoff_base: float | None = None,
        time_limit: float | None = None, on_dead=None, label=None):
    """Decorator: make a module-level function a Job (see the module docstring).

    max_attempts / backoff_base default to JOB_DEFAULT_MAX_ATTEMPTS / JOB_BACKOFF_BASE_SECONDS;
    time_limit (seconds) is per attempt; on_dead is a callable or dotted path taking the dead JobRun;
    label is a callable taking the job's arguments and returning the name people see
    (JobRun.label), so monitoring shows "Compose stage of run #34", not "pipeline.execute_stage #34".
    """

    def decorate(func) -> Job:
        return Job(func, name=name, max_attempts=max_attempts, backoff_base=backoff_base,
                   time_limit=time_limit, on_dead=on_dead, label=label)

    return decorate


# --- worker side -------------------------------------------------------------------------------


@task
def run_job(run_id: int):
    """The one django.tasks task: execute the JobRun's current attempt."""
    from .backups import maintenance

    # A restore is replacing the database: start nothing until it is over (the run may be gone after).
    maintenance.wait_until_over()
    run = _claim(run_id)
    if run is None:
        logger.info("Job run #%s is not waiting to run; skipping.", run_id)
        return None
    try:
        job_obj = _load_job(run.job_path)
    except Exception as exc:
        _finish_failed(run, exc, 0.0, retry_in=None, requeue=False)
        raise
    outcome = job_obj._run_attempt(run, requeue=True)
    if outcome.error is not None:
        # The task result records this attempt as failed (with traceback); retries are new tasks.
        raise outcome.error
    return outcome.value


def _load_job(path: str) -> Job:
    obj = import_string(path)
    if not isinstance(obj, Job):
        raise TypeError(f"{path} is not a @job.")
    return obj


def _submit(run_id: int, run_after) -> str:
    queued = run_job.using(run_after=run_after) if run_after else run_job
    return str(queued.enqueue(run_id).id)


def _claim(run_id: int) -> JobRun | None:
    now = timezone.now()
    claimed = JobRun.objects.filter(pk=run_id, status__in=(JobStatus.QUEUED, JobStatus.RETRYING)).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, finished_at=None, run_after=None,
        **_worker_identity(),
    )
    return JobRun.objects.get(pk=run_id) if claimed else None


def _finish_succeeded(run: JobRun, duration: float) -> None:
    now = timezone.now()
    if _mine(run.pk, run.attempt).update(status=JobStatus.SUCCEEDED, finished_at=now, heartbeat_at=now):
        _record_stat(run.name, JobStatus.SUCCEEDED, duration, now)
    else:
        _lost(run)


def _finish_failed(run: JobRun, exc: BaseException, duration: float, *, retry_in: float | None,
                   requeue: bool) -> None:
    now = timezone.now()
    error = _describe(exc)
    with transaction.atomic():
        if retry_in is not None:
            run_after = now + timedelta(seconds=retry_in)
            updated = _mine(run.pk, run.attempt).update(
                status=JobStatus.RETRYING, attempt=F("attempt") + 1, error=error, finished_at=now,
                run_after=run_after,
            )
            if updated and requeue:
                JobRun.objects.filter(pk=run.pk).update(task_result_id=_submit(run.pk, run_after))
        else:
            updated = _mine(run.pk, run.attempt).update(status=JobStatus.FAILED, error=error, finished_at=now)
    if not updated:
        _lost(run)
        return
    status = JobStatus.RETRYING if retry_in is not None else JobStatus.FAILED
    _record_stat(run.name, status, duration, now, error)
    if retry_in is not None:
        record_event("jobs", "job.retrying", "warning",
                     f"{run.name} #{run.pk} attempt {run.attempt}/{run.max_attempts} failed; "
                     f"retrying in {retry_in:.0f} s: {error}",
                     {"job_run": run.pk, "job": run.name, "attempt": run.attempt, "error": error})
    else:
        record_event("jobs", "job.failed", "failed",
                     f"{run.name} #{run.pk} failed on attempt {run.attempt}/{run.max_attempts}: {error}",
                     {"job_run": run.pk, "job": run.name, "attempt": run.attempt, "error": error})


def _lost(run: JobRun) -> None:
    # Recovery declared this run dead while it was still going; its outcome is no longer ours to write.
    logger.warning("Job run #%s (%s) finished after it was taken over; outcome dropped.", run.pk, run.name)
    record_event("jobs", "job.lost", "warning",
                 f"{run.name} #{run.pk} finished on a worker after it had been declared dead.",
                 {"job_run": run.pk, "job": run.name, "attempt": run.attempt})


def _record_stat(name: str, status: str, duration: float, now, error: str = "") -> None:
    JobStat.objects.get_or_create(name=name)
    # F() expressions: concurrent workers add up instead of overwriting each other.
    updates: dict[str, Any] = {
        "runs": F("runs") + 1,
        "total_duration_seconds": F("total_duration_seconds") + max(0.0, duration),
        "last_run_at": now,
        "last_status": status,
    }
    if status == JobStatus.SUCCEEDED:
        updates.update(consecutive_failures=0, last_success_at=now)
    else:
        updates.update(failures=F("failures") + 1, consecutive_failures=F("consecutive_failures") + 1,
                       last_error=error, last_failure_at=now)
    JobStat.objects.filter(name=name).update(**updates)


# --- dead workers ----------------------------------------------------------------------------


def recover_stale_jobs() -> int:
    """Declare runs with a stale heartbeat dead and hand them on; returns how many were recovered."""
    cutoff = timezone.now() - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS)
    stale = JobRun.objects.filter(status=JobStatus.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    return sum(1 for run in stale.order_by("pk")[:_RECOVERY_BATCH] if _recover(run))


def _recover(run: JobRun) -> bool:
    now = timezone.now()
    last_sign = run.heartbeat_at or run.started_at
    error = (f"Worker {run.worker_host or '?'} pid {run.worker_pid or '?'} stopped sending heartbeats "
             f"(last at {last_sign:%Y-%m-%d %H:%M:%S} UTC).")
    same_beat = Q(heartbeat_at=run.heartbeat_at) if run.heartbeat_at else Q(heartbeat_at__isnull=True)
    # The claim: only one scheduler wins, and a run that just sent a heartbeat is left alone.
    if not _mine(run.pk, run.attempt).filter(same_beat).update(status=JobStatus.DEAD, finished_at=now, error=error):
        return False
    if run.task_result_id:
        _fail_task_result(run.task_result_id, error, now)
    alive_for = (last_sign - run.started_at).total_seconds() if run.started_at and last_sign else 0.0
    _record_stat(run.name, JobStatus.DEAD, alive_for, now, error)
    record_event("jobs", "job.dead", "failed", f"{run.name} #{run.pk}: {error}",
                 {"job_run": run.pk, "job": run.name, "attempt": run.attempt, "error": error})
    run.refresh_from_db()

    try:
        job_obj = _load_job(run.job_path)
        hook = job_obj.on_dead
    except Exception as exc:
        logger.exception("Dead job run #%s: cannot load %s", run.pk, run.job_path)
        _settle_dead(run, now, f"{error} Its code could not be loaded: {_describe(exc)}", retry_in=None)
        return True

    if hook is not None:
        try:
            hook(run)
        except Exception as exc:
            logger.exception("on_dead hook of %s failed for run #%s", run.name, run.pk)
            record_event("jobs", "job.on_dead_failed", "failed",
                         f"{run.name} #{run.pk}: on_dead hook failed: {_describe(exc)}",
                         {"job_run": run.pk, "job": run.name, "error": _describe(exc)})
        return True  # the run stays "dead": what happens next was the hook's decision

    retry_in = job_obj.retry_delay(run.attempt) if run.attempt < run.max_attempts else None
    _settle_dead(run, now, error, retry_in=retry_in)
    return True


def _settle_dead(run: JobRun, now, error: str, *, retry_in: float | None) -> None:
    """Without an on_dead hook: re-enqueue while attempts remain, else fail."""
    dead = JobRun.objects.filter(pk=run.pk, status=JobStatus.DEAD, attempt=run.attempt)
    if retry_in is None:
        if dead.update(status=JobStatus.FAILED, error=error):
            record_event("jobs", "job.failed", "failed",
                         f"{run.name} #{run.pk} failed: worker lost on the last attempt.",
                         {"job_run": run.pk, "job": run.name, "attempt": run.attempt, "error": error})
        return
    run_after = now + timedelta(seconds=retry_in)
    with transaction.atomic():
        if dead.update(status=JobStatus.RETRYING, attempt=F("attempt") + 1, run_after=run_after):
            JobRun.objects.filter(pk=run.pk).update(task_result_id=_submit(run.pk, run_after))


def _fail_task_result(task_result_id: str, error: str, now) -> None:
    """Make django-tasks-db's own row agree: its worker died mid-task, so it would say RUNNING forever."""
    from django_tasks_db.models import DBTaskResult

    try:
        DBTaskResult.objects.filter(id=task_result_id, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED, finished_at=now, return_value=None,
            exception_class_path=f"{JobLost.__module__}.{JobLost.__qualname__}", traceback=error,
        )
    except Exception:
        logger.exception("Could not mark task result %s failed", task_result_id)


def reset_stats(name: str | None = None, by_user=None) -> int:
    """Set the counters of one job (or all) back to zero, as after a fix; returns how many rows changed."""
    rows = JobStat.objects.all() if name is None else JobStat.objects.filter(name=name)
    count = rows.update(runs=0, failures=0, consecutive_failures=0, total_duration_seconds=0, last_error="")
    record_event("jobs", "stats.reset", "info", f"Job statistics reset ({name or 'all jobs'}, {count} row(s)).",
                 {"job": name, "rows": count}, user=by_user)
    return count


class NotRetryable(Exception):
    """retry_now() of a run that is not failed or dead (it is queued, running or done, or someone was first)."""


RETRYABLE_STATUSES = (JobStatus.FAILED, JobStatus.DEAD)


def retry_now(job_run: JobRun, by_user=None) -> JobRun:
    """Queue a failed or dead run again at once, with a fresh set of attempts; returns the updated row.

    The same row and the wrapper's own task (`_submit`), so its history and links stay; the conditional
    UPDATE on (status, attempt) lets only one of two admins clicking together win. Raises NotRetryable.
    """
    with transaction.atomic():
        claimed = JobRun.objects.filter(pk=job_run.pk, status__in=RETRYABLE_STATUSES,
                                        attempt=job_run.attempt).update(
            status=JobStatus.QUEUED, attempt=1, run_after=None, started_at=None, finished_at=None,
            heartbeat_at=None, progress=None, progress_message="", error="",
        )
        if not claimed:
            raise NotRetryable(f"{job_run.name} #{job_run.pk} is not failed or dead; nothing was queued.")
        JobRun.objects.filter(pk=job_run.pk).update(task_result_id=_submit(job_run.pk, None))
    record_event("jobs", "job.retried", "info",
                 f"{job_run.name} #{job_run.pk} queued again by hand (was {job_run.status}: {job_run.error[:200]}).",
                 {"job_run": job_run.pk, "job": job_run.name, "previous_status": job_run.status},
                 user=by_user, target=job_run)
    return JobRun.objects.get(pk=job_run.pk)
