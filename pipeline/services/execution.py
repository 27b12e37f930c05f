"""Executing a run: one stage per task, its bookkeeping, render slots, and a dead worker's stage.

`execute_next_stage` runs the next unfinished stage and enqueues the following one, so a
retry or a worker restart resumes from where the run stopped.
"""

import contextvars
import logging
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lofisite.formatting import format_short_duration
from monitoring.events import record_event
from monitoring.jobs import JobLost, TransientError, heartbeat

from .. import stages, tasks
from ..choices import STAGE_WEIGHTS, RunStatus, StageName, StageStatus
from ..engines import EngineError, TransientEngineError
from ..models import RenderSlot, Run, Stage
from .base import DONE_STAGE_STATUSES, TERMINAL_RUN_STATUSES
from .queries import forget_dashboard_stats

logger = logging.getLogger(__name__)


class RunCancelled(Exception):
    """Raised inside a stage when an operator cancelled the run."""


class RenderSlotBusy(TransientError):
    """All render slots are taken; the stage waits and tries again."""


RENDER_SLOT_WAIT_LINE = "Waiting for a free render slot."
RENDER_SLOT_POLL_SECONDS = 10

# Set while a caller executes a run's stages itself (`manage.py pipeline run` without --async):
# then nothing is queued, so a running db_worker never executes the same run beside it.
_executing_inline = contextvars.ContextVar("pipeline_executing_inline", default=False)


@contextmanager
def executing_inline():
    """Within this block runs are not queued for the worker; the caller calls execute_next_stage."""
    token = _executing_inline.set(True)
    try:
        yield
    finally:
        _executing_inline.reset(token)


def enqueue_run(run, delay=None):
    """Queue the run's next stage once the surrounding transaction commits (not while executing inline)."""
    if _executing_inline.get():
        return
    transaction.on_commit(lambda: tasks.execute_stage.enqueue_in(delay, run.pk))


def requeue_run(run, stages, extra_fields=()) -> None:
    """Put a stopped run back in the queue: `stages` (a queryset of its stages) start afresh,
    the run forgets its end (error, finish time, a cancel) and its next stage is queued.
    Retry, publish-later and a new cover all resume a run this one way."""
    stages.update(status=StageStatus.PENDING, error="", progress=0, attempts=0)
    run.status, run.error, run.finished_at, run.cancel_requested, run.cancelled_by = (
        RunStatus.QUEUED, "", None, False, None)
    run.save(update_fields=["status", "error", "finished_at", "cancel_requested", "cancelled_by", *extra_fields])
    forget_dashboard_stats()
    enqueue_run(run)


def execute_next_stage(run_id: int) -> None:
    """Run the next unfinished stage of a run (called by the task)."""
    run = Run.objects.select_related("created_by").get(pk=run_id)
    if run.status in TERMINAL_RUN_STATUSES:
        return
    if run.cancel_requested:
        finish_run(run, RunStatus.CANCELLED, run.cancel_message())
        return
    stage = next((s for s in run.ordered_stages() if s.status not in DONE_STAGE_STATUSES), None)
    if stage is None:
        finish_run(run, RunStatus.SUCCEEDED)
        return
    if stage.name == StageName.RENDER and not _claim_render_slot(run):
        if not (stage.status == StageStatus.QUEUED and stage.log.rstrip().endswith(RENDER_SLOT_WAIT_LINE)):
            Stage.objects.filter(pk=stage.pk).update(status=StageStatus.QUEUED)
            _append_log(stage, RENDER_SLOT_WAIT_LINE)
        if _executing_inline.get():
            raise RenderSlotBusy("All render slots are busy.", retry_after=RENDER_SLOT_POLL_SECONDS)
        # Waiting is not failing: ask again later in a new job, so that a long queue of renders
        # never uses up this job's retries (which would leave the run "running" with no job).
        enqueue_run(run, delay=RENDER_SLOT_POLL_SECONDS)
        return
    if not _start_stage(run, stage):
        # Cancelled since this worker read the run: the stage never starts.
        RenderSlot.objects.filter(run=run).update(run=None, claimed_at=None)
        run.refresh_from_db()
        if run.status not in TERMINAL_RUN_STATUSES:
            finish_run(run, RunStatus.CANCELLED, run.cancel_message())
        return
    try:
        context = stages.StageContext(run=run, stage=stage, video=run.video, progress=_progress_reporter(run, stage),
                                      log=lambda line: _append_log(stage, line))
        result = stages.RUNNERS[stage.name](context)
    except RunCancelled:
        run.refresh_from_db(fields=["cancelled_by"])
        _end_stage(stage, StageStatus.CANCELLED, run.cancel_message())
        finish_run(run, RunStatus.CANCELLED, run.cancel_message())
        return
    except JobLost:
        # This worker was declared dead while still going, and the stage was handed to another
        # worker: its outcome is not ours to write. The job wrapper drops it.
        raise
    except (TransientError, TransientEngineError) as exc:
        _handle_transient(run, stage, exc)
        return
    except EngineError as exc:
        _fail(run, stage, str(exc))
        return
    except Exception as exc:  # an unexpected bug: fail visibly, keep the traceback in the log
        logger.exception("Stage %s of run %s crashed", stage.name, run.pk)
        _fail(run, stage, f"Unexpected error: {exc.__class__.__name__}: {exc}")
        return
    finally:
        if stage.name == StageName.RENDER:
            RenderSlot.objects.filter(run=run).update(run=None, claimed_at=None)
    _end_stage(stage, StageStatus.SKIPPED if result and result.get("skipped") else StageStatus.SUCCEEDED,
               outputs=result or {})
    _update_run_progress(run)
    enqueue_run(run)


# --- stage bookkeeping ---------------------------------------------------------------------
def _start_stage(run, stage) -> bool:
    """Mark the stage and the run running in one transaction; False (nothing written) if the run
    was cancelled or ended since this worker read it.

    The run row is locked as cancel_run locks it (on SQLite the IMMEDIATE transaction serialises
    them), so a cancel lands either before (the stage never starts) or after (the running stage
    sees the flag at its next progress report): never between the two writes.
    """
    now = timezone.now()
    with transaction.atomic():
        current = Run.objects.select_for_update().get(pk=run.pk)
        if current.status in TERMINAL_RUN_STATUSES or current.cancel_requested:
            return False
        Stage.objects.filter(pk=stage.pk).update(status=StageStatus.RUNNING, started_at=now, finished_at=None,
                                                  attempts=stage.attempts + 1, error="", progress=0)
        started = current.status != RunStatus.RUNNING
        if started:
            Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, started_at=current.started_at or now)
            record_event("pipeline", "run.started", "info", f"{run} started", {"run": run.pk},
                         user=run.created_by, target=run)
    stage.refresh_from_db()
    if started:
        run.refresh_from_db()
    _append_log(stage, f"Attempt {stage.attempts} started.")
    return True


def _end_stage(stage, status, message="", outputs=None):
    fields = {"status": status, "finished_at": timezone.now(), "progress": 1.0 if status in DONE_STAGE_STATUSES
              else stage.progress}
    if status not in DONE_STAGE_STATUSES:
        fields["error"] = message
    if outputs is not None:
        fields["outputs"] = {k: v for k, v in outputs.items() if k != "skipped"}
    Stage.objects.filter(pk=stage.pk).update(**fields)
    if message:
        _append_log(stage, message)
    elif status == StageStatus.SUCCEEDED:
        stage.refresh_from_db()
        _append_log(stage, f"Finished in {format_short_duration(stage.duration_s)}.")


def _handle_transient(run, stage, exc):
    # Every role reads these texts (stage, run page, job list): media names, never server paths.
    text = stages.without_paths(str(exc))
    if stage.attempts < settings.PIPELINE_STAGE_MAX_ATTEMPTS:
        # Never sooner than the failure says (an open breaker knows when it may close).
        retry_after = getattr(exc, "retry_after", None)
        delay = max(settings.JOB_BACKOFF_BASE_SECONDS * 2 ** (stage.attempts - 1), retry_after or 0)
        Stage.objects.filter(pk=stage.pk).update(status=StageStatus.QUEUED, error=text)
        _append_log(stage, f"Attempt {stage.attempts} failed ({text}); retrying in about {delay:.0f} s.")
        # The job wrapper re-enqueues with exponential backoff.
        raise TransientError(text, retry_after=retry_after) from exc
    _fail(run, stage, f"{text} (gave up after {stage.attempts} attempts)")


def _fail(run, stage, message):
    """The one place a stage failure is written: engines quote paths (ffmpeg its inputs and outputs,
    write errors their folder), and every role reads the message, so it names media files only."""
    message = stages.without_paths(message)
    _end_stage(stage, StageStatus.FAILED, message)
    finish_run(run, RunStatus.FAILED, f"{stage.get_name_display()} failed: {message}")


def finish_run(run, status, error=""):
    """End a run (succeeded, failed or cancelled) and log the one event that says so."""
    now = timezone.now()
    with transaction.atomic():
        # A stopped run keeps the progress its stages last saved; only success means 100%.
        extra = {"progress": 1.0} if status == RunStatus.SUCCEEDED else {}
        Run.objects.filter(pk=run.pk).update(status=status, finished_at=now, error=error, **extra)
        forget_dashboard_stats()
        if status == RunStatus.CANCELLED:
            run.stages.exclude(status__in=DONE_STAGE_STATUSES).exclude(status=StageStatus.FAILED).update(
                status=StageStatus.CANCELLED)
    run.refresh_from_db()
    event_status = {RunStatus.SUCCEEDED: "succeeded", RunStatus.FAILED: "failed"}.get(status, "warning")
    message = f"{run} {status}" + (f": {error}" if error else "")
    actor = run.cancelled_by if status == RunStatus.CANCELLED and run.cancelled_by else run.created_by
    record_event("pipeline", f"run.{status}", event_status, message,
                 {"run": run.pk, "elapsed_s": run.elapsed_s}, user=actor, target=run)


def _progress_reporter(run, stage):
    """A callback for engines: saves progress at most once a second, checks for cancel."""
    state = {"last": 0.0}

    def report(fraction: float):
        now = time.monotonic()
        if now - state["last"] < 1.0 and fraction < 1.0:
            return
        state["last"] = now
        fraction = max(0.0, min(1.0, float(fraction)))
        Stage.objects.filter(pk=stage.pk).update(progress=fraction)
        stage.progress = fraction
        _update_run_progress(run, current=(stage.name, fraction))
        heartbeat(progress=fraction, message=f"{run} {stage.name}")
        if Run.objects.filter(pk=run.pk, cancel_requested=True).exists():
            raise RunCancelled()

    return report


def _update_run_progress(run, current=None):
    done = dict(run.stages.values_list("name", "status"))
    total = sum(STAGE_WEIGHTS.values())
    value = sum(weight for name, weight in STAGE_WEIGHTS.items() if done.get(name) in DONE_STAGE_STATUSES)
    if current:
        value += STAGE_WEIGHTS[current[0]] * current[1]
    Run.objects.filter(pk=run.pk).update(progress=round(min(value / total, 1.0), 4))


def _append_log(stage, line):
    stamp = timezone.now().strftime("%H:%M:%S")
    # Read-modify-write is fine: only the worker running this stage writes its log.
    current = Stage.objects.filter(pk=stage.pk).values_list("log", flat=True).first() or ""
    line = stages.without_paths(line)  # the log is shown to every role, like the errors
    Stage.objects.filter(pk=stage.pk).update(log=f"{current}[{stamp}] {line}\n"[-20000:])


# --- render slots --------------------------------------------------------------------------
def _claim_render_slot(run) -> bool:
    """Conditional UPDATE on a free slot row: safe between workers on SQLite and PostgreSQL."""
    wanted = settings.PIPELINE_MAX_CONCURRENT_RENDERS
    missing = wanted - RenderSlot.objects.count()
    if missing > 0:
        RenderSlot.objects.bulk_create([RenderSlot() for _ in range(missing)])
    if RenderSlot.objects.filter(run=run).exists():
        return True
    # Only the first `wanted` rows count: rows beyond them (left from a higher limit, or made by two
    # workers at the same moment) are never handed out.
    usable = list(RenderSlot.objects.order_by("pk").values_list("pk", flat=True)[:wanted])
    for slot_id in RenderSlot.objects.filter(pk__in=usable, run__isnull=True).values_list("pk", flat=True):
        if RenderSlot.objects.filter(pk=slot_id, run__isnull=True).update(run=run, claimed_at=timezone.now()):
            return True
    return False


def release_stale_render_slots() -> int:
    """Free slots held by runs that are no longer rendering (their worker died)."""
    return RenderSlot.objects.filter(run__isnull=False).exclude(
        run__stages__name=StageName.RENDER, run__stages__status__in=[StageStatus.RUNNING, StageStatus.QUEUED]
    ).update(run=None, claimed_at=None)


# --- a worker died -------------------------------------------------------------------------
def on_stage_worker_died(job_run) -> None:
    """monitoring's stale-job recovery calls this when a worker died mid-stage.

    The interrupted stage is marked failed for that attempt; the run resumes
    from it if attempts remain, else it fails visibly.
    """
    run_id = (job_run.args or [None])[0]
    run = Run.objects.filter(pk=run_id).first()
    if run is None or run.status in TERMINAL_RUN_STATUSES:
        return
    release_stale_render_slots()
    stage = run.stages.filter(status=StageStatus.RUNNING).first()
    if stage is None:
        enqueue_run(run)
        return
    message = "The worker running this stage stopped (killed or crashed)."
    if stage.attempts < settings.PIPELINE_STAGE_MAX_ATTEMPTS:
        Stage.objects.filter(pk=stage.pk).update(status=StageStatus.QUEUED, error=message)
        _append_log(stage, f"{message} Resuming from this stage.")
        RenderSlot.objects.filter(run=run).update(run=None, claimed_at=None)
        record_event("pipeline", "run.recovered", "warning", f"{run}: {message} Resuming.", {"run": run.pk},
                     target=run)
        enqueue_run(run)
    else:
        _fail(run, stage, f"{message} Gave up after {stage.attempts} attempts.")
