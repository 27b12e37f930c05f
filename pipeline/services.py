"""Every change to runs, stages, videos, tracks, schedules and the channel.

Views, the API, commands, tasks and the scheduler call these; they never call
each other. A run executes one stage per task: `execute_next_stage` runs the
next unfinished stage and enqueues the following one, so a retry or a worker
restart resumes from where the run stopped.
"""

import contextvars
import logging
import random
import shutil
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from PIL import Image

from accounts.roles import Action
from monitoring.events import record_event
from monitoring.jobs import JobLost, TransientError, heartbeat

from . import stages, youtube, youtube_oauth
from .choices import (
    STAGE_ORDER,
    STAGE_WEIGHTS,
    AudioSource,
    PublishTarget,
    RunStatus,
    StageName,
    StageStatus,
    UploadStatus,
)
from .cron import NeverFires, next_fire_time, validate_cron
from .engines import EngineError, TransientEngineError, atomic_output, render, thumbnail
from .engines.compose import parse_key, validate_audio_file
from .engines.metadata import unique_tags, validate_metadata
from .engines.presets import PRESETS
from .models import RenderSlot, Run, Schedule, Stage, Track, Video, YouTubeChannel, run_dir

logger = logging.getLogger(__name__)

TERMINAL_RUN_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
DONE_STAGE_STATUSES = (StageStatus.SUCCEEDED, StageStatus.SKIPPED)


class RunCancelled(Exception):
    """Raised inside a stage when an operator cancelled the run."""


class RenderSlotBusy(TransientError):
    """All render slots are taken; the stage waits and tries again."""


RENDER_SLOT_WAIT_LINE = "Waiting for a free render slot."
RENDER_SLOT_POLL_SECONDS = 10


def _require(user, obj, action):
    """The guard every change passes: the object's queryset rule (`permits`), else PermissionDenied."""
    if not type(obj).objects.permits(user, obj, action):
        raise PermissionDenied("You may not change this.")


# --- starting, cancelling, retrying --------------------------------------------------
def new_seed() -> int:
    return random.SystemRandom().randrange(1, 2**31)


@transaction.atomic
def start_run(user, *, preset, duration_s, seed=None, bpm=None, musical_key="", audio_source=AudioSource.PROCEDURAL,
              motion=False, intro=None, outro=None, publish_target=PublishTarget.LIBRARY, privacy="private",
              publish_at=None, schedule=None) -> Run:
    """Create a run with its six stages and queue it."""
    if not Run.objects.can_add(user):
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
    if run.audio_source == AudioSource.LIBRARY:
        # A library mix plays the uploaded tracks as they are: tempo and key would do nothing.
        for name, label in (("bpm", "A tempo"), ("musical_key", "A key")):
            if getattr(run, name):
                errors[name] = f"{label} applies only to the procedural generator, not to a mix of uploaded tracks."
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
    run.cancel_requested, run.cancelled_by = True, user
    run.save(update_fields=["cancel_requested", "cancelled_by"])
    if not run.stages.filter(status=StageStatus.RUNNING).exists():
        # Nothing is executing (queued, between stages, or waiting to retry): cancelled now,
        # not when the next job comes due, which may be minutes away after a backoff.
        when = " before it started running" if run.status == RunStatus.QUEUED else ""
        _finish(run, RunStatus.CANCELLED, run.cancel_message(when))
    # Otherwise the running stage sees the flag at its next progress report and stops; either
    # way `_finish` logs the one "run.cancelled" event, naming who cancelled.
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
    run.status, run.error, run.cancel_requested, run.cancelled_by, run.finished_at = (
        RunStatus.QUEUED, "", False, None, None)
    run.save(update_fields=["status", "error", "cancel_requested", "cancelled_by", "finished_at"])
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
        _finish(run, RunStatus.CANCELLED, run.cancel_message())
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
        run.refresh_from_db(fields=["cancelled_by"])
        _end_stage(stage, StageStatus.CANCELLED, run.cancel_message())
        _finish(run, RunStatus.CANCELLED, run.cancel_message())
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
    actor = run.cancelled_by if status == RunStatus.CANCELLED and run.cancelled_by else run.created_by
    record_event("pipeline", f"run.{status}", event_status, message,
                 {"run": run.pk, "elapsed_s": run.elapsed_s}, user=actor)


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
    tags = unique_tags(tags)
    errors = validate_metadata(title, description, tags)
    if errors:
        raise ValidationError(errors)
    if not video.metadata_editable:
        raise ValidationError("This video is already on YouTube; edit it there.")
    retitled = title != video.title
    video.title, video.description, video.tags, video.metadata_edited = title, description, tags, True
    video.save(update_fields=["title", "description", "tags", "metadata_edited"])
    if retitled and video.thumbnail and video.cover and not video.run.is_active:
        _redraw_thumbnail(video)  # the thumbnail shows the title
    record_event("pipeline", "video.metadata_edited", "info", f"Metadata of {video.run} edited by {user}",
                 {"run": video.run_id}, user=user)
    return video


@transaction.atomic
def publish_video(video: Video, user, *, privacy="private", publish_at=None) -> Run:
    """Upload a finished library video to YouTube (re-runs only the publish stage)."""
    _require(user, video, Action.CHANGE)
    run = Run.objects.select_for_update().get(pk=video.run_id)
    blocker = video.publish_blocker(run)
    if blocker:
        raise ValidationError(blocker)
    run.publish_target, run.privacy, run.publish_at = PublishTarget.YOUTUBE, privacy, publish_at
    errors = publish_errors(publish_target=run.publish_target, privacy=privacy, publish_at=publish_at)
    if errors:
        raise ValidationError(errors)
    run.status, run.error, run.finished_at, run.cancel_requested, run.cancelled_by = (
        RunStatus.QUEUED, "", None, False, None)
    run.save(update_fields=["publish_target", "privacy", "publish_at", "status", "error", "finished_at",
                            "cancel_requested", "cancelled_by"])
    run.stages.filter(name=StageName.PUBLISH).update(status=StageStatus.PENDING, attempts=0, error="", progress=0)
    _enqueue(run)
    return run


def channel_connected() -> bool:
    return YouTubeChannel.objects.exists()


def connect_channel(user, *, client_id, client_secret, refresh_token) -> YouTubeChannel:
    """Verify the credentials with YouTube (outside any transaction: it is network), then store
    them encrypted with the channel's real id and title. A failure saves nothing."""
    if not YouTubeChannel.objects.can_add(user):
        raise PermissionDenied("Only admins connect the YouTube channel.")
    client_id, client_secret, refresh_token = (value.strip() for value in (client_id, client_secret, refresh_token))
    verified = youtube_oauth.verify_credentials(client_id=client_id, client_secret=client_secret,
                                                refresh_token=refresh_token)
    with transaction.atomic():
        stages.record_quota(youtube.QUOTA_BUCKET_DEFAULT, youtube.CHANNELS_LIST_UNITS, "channels.list", None, user)
        YouTubeChannel.objects.all().delete()
        channel = YouTubeChannel.objects.create(client_id=client_id, client_secret=client_secret,
                                                refresh_token=refresh_token, channel_id=verified.channel_id,
                                                channel_title=verified.title, connected_by=user)
    record_event("pipeline", "youtube.connected", "info",
                 f"YouTube channel {verified.title!r} ({verified.channel_id}) connected by {user}", {}, user=user)
    return channel


@transaction.atomic
def disconnect_channel(user) -> None:
    if not YouTubeChannel.objects.model_permits(user, Action.DELETE):
        raise PermissionDenied("Only admins disconnect the YouTube channel.")
    YouTubeChannel.objects.all().delete()
    record_event("pipeline", "youtube.disconnected", "warning", f"YouTube channel disconnected by {user}", {},
                 user=user)


# --- tracks -----------------------------------------------------------------------------------
def add_track(user, uploaded_file, title="") -> Track:
    """Validate an uploaded audio file by decoding it, then store it."""
    if not Track.objects.can_add(user):
        raise PermissionDenied("Your role cannot upload tracks.")
    limit = settings.PIPELINE_TRACK_MAX_MB * MIB  # MiB, in the limit and the message, as for clips
    if uploaded_file.size > limit:
        raise ValidationError({"file": f"The file is {uploaded_file.size / MIB:.1f} MB; the limit is "
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
@transaction.atomic
def save_schedule(user, schedule: Schedule) -> Schedule:
    if schedule.pk:
        _require(user, schedule, Action.CHANGE)
    elif not Schedule.objects.can_add(user):
        raise PermissionDenied("Your role cannot create schedules.")
    else:
        schedule.created_by = user
    schedule.timezone = validate_cron(schedule.cron, schedule.timezone)
    schedule.full_clean(exclude=["created_by"])
    if schedule.preset not in PRESETS:
        raise ValidationError({"preset": f"Unknown preset {schedule.preset!r}."})
    schedule.next_run_at = next_fire_time(schedule.cron, schedule.timezone) if schedule.enabled else None
    schedule.save()
    return schedule


def delete_schedule(schedule: Schedule, user) -> None:
    _require(user, schedule, Action.DELETE)
    schedule.delete()


def _start_from_schedule(schedule: Schedule, user) -> Run:
    target = schedule.publish_target
    if target == PublishTarget.YOUTUBE and not channel_connected():
        target = PublishTarget.LIBRARY
    return start_run(user, preset=schedule.preset, duration_s=schedule.duration_s,
                     audio_source=schedule.audio_source, publish_target=target, privacy=schedule.privacy,
                     schedule=schedule)


def run_schedule_now(user, schedule: Schedule) -> Run:
    """"Run now": one run with the schedule's settings, started by `user`; the next fire time stays."""
    _require(user, schedule, Action.CHANGE)
    return _start_from_schedule(schedule, user)


def fire_due_schedules(now=None) -> int:
    """Scheduler hook: start one run per due schedule; claims each with a conditional UPDATE."""
    now = now or timezone.now()
    fired = 0
    for schedule in Schedule.objects.filter(enabled=True, next_run_at__lte=now).select_related("created_by"):
        try:
            upcoming = next_fire_time(schedule.cron, schedule.timezone, after=now)
        except (NeverFires, ValueError, OSError) as exc:
            # A row saved around the services (admin, an older release): stop it, keep the scheduler up.
            if Schedule.objects.filter(pk=schedule.pk, next_run_at=schedule.next_run_at).update(
                    enabled=False, next_run_at=None):
                record_event("pipeline", "schedule.disabled", "failed",
                             f"Schedule {schedule} was disabled: its cron or time zone cannot fire ({exc}).",
                             {"schedule": schedule.pk})
            continue
        claimed = Schedule.objects.filter(pk=schedule.pk, next_run_at=schedule.next_run_at).update(
            next_run_at=upcoming, last_run_at=now)
        if not claimed:
            continue  # another scheduler process took it
        try:
            _start_from_schedule(schedule, schedule.created_by)
            fired += 1
        except (ValidationError, PermissionDenied) as exc:
            record_event("pipeline", "schedule.failed", "failed", f"Schedule {schedule} could not start a run: "
                         f"{'; '.join(getattr(exc, 'messages', [str(exc)]))}", {"schedule": schedule.pk})
    return fired


# --- artwork: the thumbnail follows the title; a person's own cover or thumbnail -------------
IMAGE_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
IMAGE_MIN_SIZE = (640, 360)


def _check_artwork_change(video: Video, user):
    _require(user, video, Action.CHANGE)
    if video.run.is_active:
        raise ValidationError(f"{video.run} is still {video.run.get_status_display().lower()}: "
                              "wait for it to finish, then change its artwork.")
    if not video.metadata_editable:
        raise ValidationError("This video is already on YouTube; change its artwork there.")


def _redraw_thumbnail(video: Video) -> None:
    name = f"{run_dir(video.run_id)}/thumbnail.jpg"
    thumbnail.make_thumbnail(_media_path(video.cover.name), _media_path(name), title=video.title,
                             subtitle=PRESETS[video.run.preset].label if video.run.preset in PRESETS else None)
    Video.objects.filter(pk=video.pk).update(thumbnail=name)
    video.thumbnail = name


def regenerate_thumbnail(video: Video, user) -> Video:
    """Draw the thumbnail again from the cover and the current title."""
    _check_artwork_change(video, user)
    if not video.cover:
        raise ValidationError("This video has no cover art yet: the thumbnail is drawn from it.")
    _redraw_thumbnail(video)
    record_event("pipeline", "video.thumbnail", "info", f"Thumbnail of {video.run} redrawn by {user}",
                 {"run": video.run_id}, user=user)
    return video


def _open_image(uploaded_file, field: str):
    """A checked image from an upload: typed by its bytes (not its name), size- and pixel-bounded."""
    limit = settings.PIPELINE_IMAGE_MAX_MB * 1024 * 1024
    if uploaded_file is None:
        raise ValidationError({field: "Choose an image file (JPEG, PNG or WebP)."})
    if uploaded_file.size > limit:
        raise ValidationError({field: f"The image is {uploaded_file.size / 1024 / 1024:.1f} MB; "
                                      f"at most {settings.PIPELINE_IMAGE_MAX_MB} MB."})
    try:
        uploaded_file.seek(0)
        with Image.open(uploaded_file) as probe:
            kind = probe.format
            probe.verify()
        uploaded_file.seek(0)
        image = Image.open(uploaded_file)
        image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValidationError({field: "This is not a readable JPEG, PNG or WebP image."}) from exc
    if kind not in IMAGE_FORMATS:
        raise ValidationError({field: f"{kind or 'This'} images are not accepted: upload JPEG, PNG or WebP."})
    if image.width < IMAGE_MIN_SIZE[0] or image.height < IMAGE_MIN_SIZE[1]:
        raise ValidationError({field: f"The image is {image.width}x{image.height}; at least "
                                      f"{IMAGE_MIN_SIZE[0]}x{IMAGE_MIN_SIZE[1]} pixels are needed."})
    return image


@transaction.atomic
def replace_thumbnail(video: Video, user, uploaded_file) -> Video:
    """A person's own thumbnail, fitted to YouTube's 1280x720 JPEG of at most 2 MB."""
    _check_artwork_change(video, user)
    image = _open_image(uploaded_file, "thumbnail")
    name = f"{run_dir(video.run_id)}/thumbnail.jpg"
    with atomic_output(_media_path(f"{run_dir(video.run_id)}/own-thumbnail.png")) as tmp:
        image.convert("RGB").save(tmp, format="PNG")
        thumbnail.fit_thumbnail(tmp, _media_path(name))
    Video.objects.filter(pk=video.pk).update(thumbnail=name)
    video.thumbnail = name
    record_event("pipeline", "video.thumbnail", "info", f"Own thumbnail of {video.run} uploaded by {user}",
                 {"run": video.run_id}, user=user)
    return video


@transaction.atomic
def replace_cover(video: Video, user, uploaded_file) -> Run:
    """A person's own cover art: saved, then the render and the thumbnail run again with it."""
    _check_artwork_change(video, user)
    image = _open_image(uploaded_file, "cover")
    name = f"{run_dir(video.run_id)}/cover.png"
    with atomic_output(_media_path(name)) as tmp:
        image.convert("RGB").save(tmp, format="PNG")
    Video.objects.filter(pk=video.pk).update(cover=name)
    run = Run.objects.select_for_update().get(pk=video.run_id)
    run.stages.filter(name__in=[StageName.RENDER, StageName.THUMBNAIL, StageName.PUBLISH]).update(
        status=StageStatus.PENDING, error="", progress=0, attempts=0)
    run.status, run.error, run.finished_at = RunStatus.QUEUED, "", None
    run.save(update_fields=["status", "error", "finished_at"])
    record_event("pipeline", "video.cover", "info", f"Own cover art of {run} uploaded by {user}; rendering again",
                 {"run": run.pk}, user=user)
    _enqueue(run)
    return run


# --- deleting runs, retention, storage --------------------------------------------------------
def _media_path(name: str) -> Path:
    return Path(settings.MEDIA_ROOT) / name


def _size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0


def _unshared_clips(run: Run) -> list[str]:
    """The run's intro/outro files that no other run uses ("run again" shares them)."""
    names = {clip.name for clip in (run.intro, run.outro) if clip}
    shared = set(Run.objects.exclude(pk=run.pk).filter(Q(intro__in=names) | Q(outro__in=names))
                 .values_list("intro", "outro").iterator()) if names else set()
    in_use = {name for pair in shared for name in pair}
    return sorted(names - in_use)


def _remove_media(paths: list[Path]) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


@transaction.atomic
def delete_run(run: Run, user) -> int:
    """Delete a run, its video and its files (not while it runs or uploads); returns bytes freed.

    A video already on YouTube stays there: this deletes only our copy."""
    _require(user, run, Action.DELETE)
    run = Run.objects.select_for_update().get(pk=run.pk)
    if run.is_active:
        raise ValidationError(f"{run} is still {run.get_status_display().lower()}: cancel it first, then delete it.")
    video = Video.objects.filter(run=run).first()
    if video is not None and video.upload_status == UploadStatus.UPLOADING:
        raise ValidationError(f"{run} is being uploaded to YouTube: wait for the upload to end, then delete it.")
    paths = [_media_path(run_dir(run.pk)), *(_media_path(name) for name in _unshared_clips(run))]
    freed = sum(_size_of(path) for path in paths)
    label = str(run)
    run.delete()
    # Files go only once the rows are gone for good: a rollback keeps both.
    transaction.on_commit(lambda: _remove_media(paths))
    record_event("pipeline", "run.deleted", "info", f"{label} deleted by {user} ({freed} bytes of media)",
                 {"bytes": freed}, user=user)
    return freed


def purge_library_media(now=None) -> int:
    """Scheduler hook: delete the files of library-only videos older than the retention setting.

    The run and its metadata stay (history and statistics); videos that went to YouTube,
    or were ever tried there, keep their files. 0 days (the default) keeps everything."""
    days = settings.PIPELINE_LIBRARY_RETENTION_DAYS
    if not days:
        return 0
    now = now or timezone.now()
    expired = Video.objects.filter(
        run__publish_target=PublishTarget.LIBRARY, run__status__in=TERMINAL_RUN_STATUSES,
        run__finished_at__lt=now - timedelta(days=days), upload_status=UploadStatus.NOT_UPLOADED,
        media_deleted_at__isnull=True).select_related("run")
    purged = 0
    for video in expired:
        folder = _media_path(run_dir(video.run_id))
        freed = _size_of(folder)
        # Claim first (a second scheduler process skips it), then remove the files.
        if not Video.objects.filter(pk=video.pk, media_deleted_at__isnull=True).update(
                media_deleted_at=now, audio="", cover="", video="", thumbnail=""):
            continue
        _remove_media([folder])
        purged += 1
        record_event("pipeline", "video.media_deleted", "info",
                     f"Media of {video.run} deleted after {days} days in the library ({freed} bytes)",
                     {"run": video.run_id, "bytes": freed})
    return purged


def storage_used() -> dict[str, int]:
    """Bytes of media on disk: run outputs, library tracks, intro/outro clips, and the total."""
    used = {kind: _size_of(_media_path(folder)) for kind, folder in
            (("runs", "runs"), ("tracks", "tracks"), ("clips", "clips"))}
    used["total"] = sum(used.values())
    return used


# --- queries used by pages, API and commands --------------------------------------------------
def runs_today(user):
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return Run.objects.restrict(user).filter(created_at__gte=start)


def success_rate(user, days=30):
    since = timezone.now() - timedelta(days=days)
    # A cancelled run was stopped on purpose: it is neither a success nor a failure.
    finished = Run.objects.restrict(user).filter(created_at__gte=since,
                                                 status__in=(RunStatus.SUCCEEDED, RunStatus.FAILED))
    total = finished.count()
    if not total:
        return None
    return finished.filter(status=RunStatus.SUCCEEDED).count() / total


def latest_video(user):
    return (Video.objects.restrict(user).exclude(Q(video="") | Q(thumbnail="")).select_related("run")
            .order_by("-created_at").first())
