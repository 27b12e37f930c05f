"""Every change to runs, stages, videos, tracks, schedules and the channel.

Views, the API, commands, tasks and the scheduler call these; they never call
each other. A run executes one stage per task: `execute_next_stage` runs the
next unfinished stage and enqueues the following one, so a retry or a worker
restart resumes from where the run stopped.
"""

import contextvars
import logging
import random
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from croniter import croniter
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.roles import Action
from monitoring.events import record_event
from monitoring.jobs import JobLost, TransientError, heartbeat

from . import stages
from .choices import STAGE_ORDER, STAGE_WEIGHTS, AudioSource, PublishTarget, RunStatus, StageName, StageStatus
from .engines import EngineError, TransientEngineError, render
from .engines.compose import parse_key, validate_audio_file
from .engines.metadata import validate_metadata
from .engines.presets import PRESETS
from .models import RenderSlot, Run, Schedule, Stage, Track, Video, YouTubeChannel

logger = logging.getLogger(__name__)

TERMINAL_RUN_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
DONE_STAGE_STATUSES = (StageStatus.SUCCEEDED, StageStatus.SKIPPED)


class RunCancelled(Exception):
    """Raised inside a stage when an operator cancelled the run."""


class RenderSlotBusy(TransientError):
    """All render slots are taken; the stage waits and tries again."""


RENDER_SLOT_WAIT_LINE = "Waiting for a free render slot."
RENDER_SLOT_POLL_SECONDS = 10


def _require(user, obj_or_model, action):
    """Apply the restrict() rule to one object (raises PermissionDenied)."""
    queryset = type(obj_or_model).objects.restrict(user, action)
    if not queryset.filter(pk=obj_or_model.pk).exists():
        raise PermissionDenied("You may not change this.")


# --- starting, cancelling, retrying --------------------------------------------------
def new_seed() -> int:
    return random.SystemRandom().randrange(1, 2**31)


@transaction.atomic
def start_run(user, *, preset, duration_s, seed=None, bpm=None, musical_key="", audio_source=AudioSource.PROCEDURAL,
              motion=False, intro=None, outro=None, publish_target=PublishTarget.LIBRARY, privacy="private",
              publish_at=None, schedule=None) -> Run:
    """Create a run with its six stages and queue it."""
    if not _may_add(user):
        raise PermissionDenied("Your role cannot start runs.")
    run = Run(
        preset=preset, duration_s=duration_s, seed=seed if seed is not None else new_seed(), bpm=bpm,
        musical_key=musical_key or "", audio_source=audio_source, motion=motion,
        publish_target=publish_target, privacy=privacy, publish_at=publish_at, schedule=schedule, created_by=user,
    )
    validate_clip(intro, "intro")
    validate_clip(outro, "outro")
    if intro:
        run.intro = intro
    if outro:
        run.outro = outro
    run.full_clean(exclude=["created_by", "schedule"])
    _validate_run_choices(run)
    run.save()
    Stage.objects.bulk_create([Stage(run=run, name=name) for name in STAGE_ORDER])
    Video.objects.create(run=run)
    record_event("pipeline", "run.queued", "info", f"{run} queued ({run.preset}, {run.duration_s} s)",
                 {"run": run.pk}, user=user)
    _enqueue(run)
    return run


def _may_add(user):
    from accounts import roles

    return roles.allows(user, Action.ADD)


CLIP_EXTENSIONS = (".mp4", ".mov", ".webm", ".mkv")
MIB = 1024 * 1024


def check_clip(clip) -> None:
    """The intro/outro rule (the pages, the API and start_run all call it): ValidationError if broken.

    The clip must be within PIPELINE_CLIP_MAX_MB, counted in MiB (1 MB here = 1024 x 1024
    bytes, in the limit and in the messages), and a video that rendering can use, typed
    from its bytes by ffprobe (render.probe_clip: an mp4/mov/webm/mkv container with a
    video stream whose start decodes); the name must end in one of those types as well.
    Messages name the uploaded file, never a path on the server.
    """
    if not clip:
        return
    name = Path(clip.name).name
    if Path(name).suffix.lower() not in CLIP_EXTENSIONS:
        raise ValidationError("Upload a video clip: mp4, mov, webm or mkv.")
    limit_mb = settings.PIPELINE_CLIP_MAX_MB
    if clip.size > limit_mb * MIB:
        raise ValidationError(f"The clip is {clip.size / MIB:.1f} MB; the limit is {limit_mb} MB.")
    try:
        with _on_disk(clip) as path:
            render.probe_clip(path, name=name, upload=True)
    except EngineError as exc:
        raise ValidationError(f"{exc}.")


def validate_clip(clip, field):
    """check_clip with the error on `field` ("intro" or "outro")."""
    try:
        check_clip(clip)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages})


@contextmanager
def _on_disk(upload):
    """A path to the upload's bytes for ffprobe: its temporary file, or a copy (small in-memory uploads)."""
    if hasattr(upload, "temporary_file_path"):
        yield Path(upload.temporary_file_path())
        return
    with tempfile.NamedTemporaryFile(prefix="clip-check-", suffix=Path(upload.name).suffix.lower()) as copy:
        for chunk in upload.chunks():
            copy.write(chunk)
        copy.flush()
        yield Path(copy.name)
    upload.seek(0)


def publish_errors(*, publish_target, privacy, publish_at) -> dict[str, str]:
    """The publish rules, as {field: message}; empty when the combination is fine.

    The one statement of them: start_run and publish_video enforce it, and the HTML
    forms and the API serializers call it too so that the message shows at the field.
    A publish time needs a YouTube upload with privacy 'private' (YouTube makes the
    video public then) and must lie in the future; an upload needs a connected channel.
    """
    errors = {}
    if publish_target == PublishTarget.YOUTUBE and not channel_connected():
        errors["publish_target"] = ("No YouTube channel is connected: choose 'Library only', or ask an admin to "
                                    "connect the channel first.")
    if publish_at:
        if privacy != "private":
            errors["publish_at"] = ("A scheduled publish time needs privacy 'Private' (YouTube makes the private "
                                    "video public at that time).")
        elif publish_at <= timezone.now():
            errors["publish_at"] = "The publish time must be in the future."
        elif publish_target != PublishTarget.YOUTUBE:
            errors["publish_at"] = ("A publish time only applies to YouTube uploads; clear it or choose "
                                    "'Upload to YouTube'.")
    return errors


def _validate_run_choices(run):
    errors = publish_errors(publish_target=run.publish_target, privacy=run.privacy, publish_at=run.publish_at)
    if run.preset not in PRESETS:
        errors["preset"] = f"Unknown preset {run.preset!r}. Choose one of: {', '.join(PRESETS)}."
    if run.audio_source == AudioSource.LIBRARY and not Track.objects.exists():
        errors["audio_source"] = "The track library is empty: upload tracks first, or use the procedural generator."
    if run.musical_key:
        try:
            parse_key(run.musical_key)
        except ValueError as exc:
            errors["musical_key"] = str(exc)
    if errors:
        raise ValidationError(errors)


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


def _enqueue(run, delay=None):
    from .tasks import execute_stage

    if _executing_inline.get():
        return
    transaction.on_commit(lambda: execute_stage.enqueue_in(delay, run.pk))


@transaction.atomic
def cancel_run(run: Run, user) -> Run:
    _require(user, run, Action.CHANGE)
    run = Run.objects.select_for_update().get(pk=run.pk)
    if run.status in TERMINAL_RUN_STATUSES:
        raise ValidationError(f"{run} already {run.get_status_display().lower()}; nothing to cancel.")
    # The flag also stops a worker that is just starting a stage (its next progress report checks it).
    run.cancel_requested = True
    run.save(update_fields=["cancel_requested"])
    if not run.stages.filter(status=StageStatus.RUNNING).exists():
        # Nothing is executing (queued, between stages, or waiting to retry): cancelled now,
        # not when the next job comes due, which may be minutes away after a backoff.
        _finish(run, RunStatus.CANCELLED, "Cancelled before it started running." if run.status == RunStatus.QUEUED
                else "Cancelled by an operator.")
    # Otherwise the running stage sees the flag at its next progress report and stops.
    record_event("pipeline", "run.cancel", "warning", f"{run} cancelled by {user}", {"run": run.pk}, user=user)
    return run


@transaction.atomic
def retry_run(run: Run, user) -> Run:
    """Resume a failed or cancelled run from the stage that did not finish."""
    _require(user, run, Action.CHANGE)
    run = Run.objects.select_for_update().get(pk=run.pk)
    if not run.can_retry:
        raise ValidationError(f"Only failed or cancelled runs can be retried; {run} is {run.status}.")
    run.stages.exclude(status__in=DONE_STAGE_STATUSES).update(status=StageStatus.PENDING, error="", progress=0,
                                                                attempts=0)
    run.status, run.error, run.cancel_requested, run.finished_at = RunStatus.QUEUED, "", False, None
    run.save(update_fields=["status", "error", "cancel_requested", "finished_at"])
    record_event("pipeline", "run.retry", "info", f"{run} retried by {user}", {"run": run.pk}, user=user)
    _enqueue(run)
    return run


# --- execution ---------------------------------------------------------------------------
def execute_next_stage(run_id: int) -> None:
    """Run the next unfinished stage of a run (called by the task)."""
    run = Run.objects.select_related("created_by").get(pk=run_id)
    if run.status in TERMINAL_RUN_STATUSES:
        return
    if run.cancel_requested:
        _finish(run, RunStatus.CANCELLED, "Cancelled by an operator.")
        return
    stage = next((s for s in run.ordered_stages() if s.status not in DONE_STAGE_STATUSES), None)
    if stage is None:
        _finish(run, RunStatus.SUCCEEDED)
        return
    if stage.name == StageName.RENDER and not _claim_render_slot(run):
        if not (stage.status == StageStatus.QUEUED and stage.log.rstrip().endswith(RENDER_SLOT_WAIT_LINE)):
            Stage.objects.filter(pk=stage.pk).update(status=StageStatus.QUEUED)
            _append_log(stage, RENDER_SLOT_WAIT_LINE)
        if _executing_inline.get():
            raise RenderSlotBusy("All render slots are busy.", retry_after=RENDER_SLOT_POLL_SECONDS)
        # Waiting is not failing: ask again later in a new job, so that a long queue of renders
        # never uses up this job's retries (which would leave the run "running" with no job).
        _enqueue(run, delay=RENDER_SLOT_POLL_SECONDS)
        return
    _start_stage(run, stage)
    try:
        context = stages.StageContext(run=run, stage=stage, video=run.video, progress=_progress_reporter(run, stage),
                                      log=lambda line: _append_log(stage, line))
        result = stages.RUNNERS[stage.name](context)
    except RunCancelled:
        _end_stage(stage, StageStatus.CANCELLED, "Cancelled by an operator.")
        _finish(run, RunStatus.CANCELLED, "Cancelled by an operator.")
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
    _enqueue(run)


def _start_stage(run, stage):
    now = timezone.now()
    Stage.objects.filter(pk=stage.pk).update(status=StageStatus.RUNNING, started_at=now, finished_at=None,
                                              attempts=stage.attempts + 1, error="", progress=0)
    stage.refresh_from_db()
    if run.status != RunStatus.RUNNING:
        Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, started_at=run.started_at or now)
        run.refresh_from_db()
        record_event("pipeline", "run.started", "info", f"{run} started", {"run": run.pk}, user=run.created_by)
    _append_log(stage, f"Attempt {stage.attempts} started.")


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
        _append_log(stage, f"Finished in {stage.duration_s:.1f} s.")


def _handle_transient(run, stage, exc):
    if stage.attempts < settings.PIPELINE_STAGE_MAX_ATTEMPTS:
        # Never sooner than the failure says (an open breaker knows when it may close).
        retry_after = getattr(exc, "retry_after", None)
        delay = max(settings.JOB_BACKOFF_BASE_SECONDS * 2 ** (stage.attempts - 1), retry_after or 0)
        Stage.objects.filter(pk=stage.pk).update(status=StageStatus.QUEUED, error=str(exc))
        _append_log(stage, f"Attempt {stage.attempts} failed ({exc}); retrying in about {delay:.0f} s.")
        # The job wrapper re-enqueues with exponential backoff.
        raise TransientError(str(exc), retry_after=retry_after) from exc
    _fail(run, stage, f"{exc} (gave up after {stage.attempts} attempts)")


def _fail(run, stage, message):
    _end_stage(stage, StageStatus.FAILED, message)
    _finish(run, RunStatus.FAILED, f"{stage.get_name_display()} failed: {message}")


def _finish(run, status, error=""):
    now = timezone.now()
    with transaction.atomic():
        # A stopped run keeps the progress its stages last saved; only success means 100%.
        extra = {"progress": 1.0} if status == RunStatus.SUCCEEDED else {}
        Run.objects.filter(pk=run.pk).update(status=status, finished_at=now, error=error, **extra)
        if status == RunStatus.CANCELLED:
            run.stages.exclude(status__in=DONE_STAGE_STATUSES).exclude(status=StageStatus.FAILED).update(
                status=StageStatus.CANCELLED)
    run.refresh_from_db()
    event_status = {RunStatus.SUCCEEDED: "succeeded", RunStatus.FAILED: "failed"}.get(status, "warning")
    message = f"{run} {status}" + (f": {error}" if error else "")
    record_event("pipeline", f"run.{status}", event_status, message,
                 {"run": run.pk, "elapsed_s": run.elapsed_s}, user=run.created_by)


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
    Stage.objects.filter(pk=stage.pk).update(log=f"{current}[{stamp}] {line}\n"[-20000:])


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
        _enqueue(run)
        return
    message = "The worker running this stage stopped (killed or crashed)."
    if stage.attempts < settings.PIPELINE_STAGE_MAX_ATTEMPTS:
        Stage.objects.filter(pk=stage.pk).update(status=StageStatus.QUEUED, error=message)
        _append_log(stage, f"{message} Resuming from this stage.")
        RenderSlot.objects.filter(run=run).update(run=None, claimed_at=None)
        record_event("pipeline", "run.recovered", "warning", f"{run}: {message} Resuming.", {"run": run.pk})
        _enqueue(run)
    else:
        _fail(run, stage, f"{message} Gave up after {stage.attempts} attempts.")


# --- metadata and publishing ----------------------------------------------------------------
@transaction.atomic
def update_metadata(video: Video, user, *, title: str, description: str, tags: list[str]) -> Video:
    """An operator's edit; validated against YouTube's limits, never silently cut."""
    _require(user, video, Action.CHANGE)
    tags = [tag.strip() for tag in tags if tag.strip()]
    errors = validate_metadata(title, description, tags)
    if errors:
        raise ValidationError(errors)
    if video.upload_status not in ("not_uploaded", "failed", "limit_exceeded", "quota_exceeded"):
        raise ValidationError("This video is already on YouTube; edit it there.")
    video.title, video.description, video.tags, video.metadata_edited = title, description, tags, True
    video.save(update_fields=["title", "description", "tags", "metadata_edited"])
    record_event("pipeline", "video.metadata_edited", "info", f"Metadata of {video.run} edited by {user}",
                 {"run": video.run_id}, user=user)
    return video


@transaction.atomic
def publish_video(video: Video, user, *, privacy="private", publish_at=None) -> Run:
    """Upload a finished library video to YouTube (re-runs only the publish stage)."""
    _require(user, video, Action.CHANGE)
    run = Run.objects.select_for_update().get(pk=video.run_id)
    if run.is_active:
        raise ValidationError("The run is still in progress; wait until it finishes.")
    if not video.is_ready:
        raise ValidationError("The video has not been rendered yet.")
    if video.youtube_id:
        raise ValidationError("This video is already on YouTube.")
    run.publish_target, run.privacy, run.publish_at = PublishTarget.YOUTUBE, privacy, publish_at
    errors = publish_errors(publish_target=run.publish_target, privacy=privacy, publish_at=publish_at)
    if errors:
        raise ValidationError(errors)
    run.status, run.error, run.finished_at, run.cancel_requested = RunStatus.QUEUED, "", None, False
    run.save(update_fields=["publish_target", "privacy", "publish_at", "status", "error", "finished_at",
                            "cancel_requested"])
    run.stages.filter(name=StageName.PUBLISH).update(status=StageStatus.PENDING, attempts=0, error="", progress=0)
    _enqueue(run)
    return run


def channel_connected() -> bool:
    return YouTubeChannel.objects.exists()


@transaction.atomic
def connect_channel(user, *, client_id, client_secret, refresh_token, channel_title="") -> YouTubeChannel:
    from accounts import roles

    if not roles.is_admin(user):
        raise PermissionDenied("Only admins connect the YouTube channel.")
    YouTubeChannel.objects.all().delete()
    channel = YouTubeChannel.objects.create(client_id=client_id, client_secret=client_secret,
                                            refresh_token=refresh_token, channel_title=channel_title,
                                            connected_by=user)
    record_event("pipeline", "youtube.connected", "info", f"YouTube channel connected by {user}", {}, user=user)
    return channel


@transaction.atomic
def disconnect_channel(user) -> None:
    from accounts import roles

    if not roles.is_admin(user):
        raise PermissionDenied("Only admins disconnect the YouTube channel.")
    YouTubeChannel.objects.all().delete()
    record_event("pipeline", "youtube.disconnected", "warning", f"YouTube channel disconnected by {user}", {},
                 user=user)


# --- tracks -----------------------------------------------------------------------------------
def add_track(user, uploaded_file, title="") -> Track:
    """Validate an uploaded audio file by decoding it, then store it."""
    if not _may_add(user):
        raise PermissionDenied("Your role cannot upload tracks.")
    limit = settings.PIPELINE_TRACK_MAX_MB * 1024 * 1024
    if uploaded_file.size > limit:
        raise ValidationError({"file": f"The file is {uploaded_file.size / 1e6:.0f} MB; the limit is "
                                       f"{settings.PIPELINE_TRACK_MAX_MB} MB."})
    suffix = Path(uploaded_file.name).suffix.lower()
    if suffix not in {".mp3", ".wav", ".flac", ".ogg", ".m4a", ".aac", ".opus"}:
        raise ValidationError({"file": "Upload an audio file: mp3, wav, flac, ogg, m4a, aac or opus."})
    track = Track(title=(title or Path(uploaded_file.name).stem)[:200], uploaded_by=user, duration_s=0,
                  size_bytes=uploaded_file.size)
    track.file.save(Path(uploaded_file.name).name, uploaded_file, save=False)
    try:
        info = validate_audio_file(Path(track.file.path))
    except EngineError as exc:
        track.file.delete(save=False)
        raise ValidationError({"file": f"This is not a playable audio file: {exc}"})
    track.duration_s = info.duration_s
    track.save()
    return track


def delete_track(track: Track, user) -> None:
    _require(user, track, Action.DELETE)
    track.file.delete(save=False)
    track.delete()


# --- schedules ------------------------------------------------------------------------------
def next_fire_time(cron: str, tz_name: str, after=None):
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(tz_name)
    base = (after or timezone.now()).astimezone(tz)
    return croniter(cron, base).get_next(type(base))


def validate_cron(cron: str, tz_name: str):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    errors = {}
    if len(cron.split()) != 5 or not croniter.is_valid(cron):
        errors["cron"] = "Not a valid five-field cron expression (e.g. '0 18 * * *' = every day at 18:00)."
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = f"Unknown time zone {tz_name!r} (e.g. 'Europe/Paris' or 'UTC')."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def save_schedule(user, schedule: Schedule) -> Schedule:
    if schedule.pk:
        _require(user, schedule, Action.CHANGE)
    elif not _may_add(user):
        raise PermissionDenied("Your role cannot create schedules.")
    else:
        schedule.created_by = user
    validate_cron(schedule.cron, schedule.timezone)
    schedule.full_clean(exclude=["created_by"])
    if schedule.preset not in PRESETS:
        raise ValidationError({"preset": f"Unknown preset {schedule.preset!r}."})
    schedule.next_run_at = next_fire_time(schedule.cron, schedule.timezone) if schedule.enabled else None
    schedule.save()
    return schedule


def delete_schedule(schedule: Schedule, user) -> None:
    _require(user, schedule, Action.DELETE)
    schedule.delete()


def fire_due_schedules(now=None) -> int:
    """Scheduler hook: start one run per due schedule; claims each with a conditional UPDATE."""
    now = now or timezone.now()
    fired = 0
    for schedule in Schedule.objects.filter(enabled=True, next_run_at__lte=now).select_related("created_by"):
        upcoming = next_fire_time(schedule.cron, schedule.timezone, after=now)
        claimed = Schedule.objects.filter(pk=schedule.pk, next_run_at=schedule.next_run_at).update(
            next_run_at=upcoming, last_run_at=now)
        if not claimed:
            continue  # another scheduler process took it
        target = schedule.publish_target
        if target == PublishTarget.YOUTUBE and not channel_connected():
            target = PublishTarget.LIBRARY
        try:
            start_run(schedule.created_by, preset=schedule.preset, duration_s=schedule.duration_s,
                      audio_source=schedule.audio_source, publish_target=target, privacy=schedule.privacy,
                      schedule=schedule)
            fired += 1
        except (ValidationError, PermissionDenied) as exc:
            record_event("pipeline", "schedule.failed", "failed", f"Schedule {schedule} could not start a run: "
                         f"{'; '.join(getattr(exc, 'messages', [str(exc)]))}", {"schedule": schedule.pk})
    return fired


# --- queries used by pages, API and commands --------------------------------------------------
def runs_today(user):
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return Run.objects.restrict(user).filter(created_at__gte=start)


def success_rate(user, days=30):
    since = timezone.now() - timedelta(days=days)
    finished = Run.objects.restrict(user).filter(created_at__gte=since, status__in=TERMINAL_RUN_STATUSES)
    total = finished.count()
    if not total:
        return None
    return finished.filter(status=RunStatus.SUCCEEDED).count() / total


def latest_video(user):
    return (Video.objects.restrict(user).exclude(Q(video="") | Q(thumbnail="")).select_related("run")
            .order_by("-created_at").first())
