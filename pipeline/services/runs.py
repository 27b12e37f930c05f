"""Starting, cancelling and retrying runs, and the rules a new run must meet (choices, clips, publish)."""

import random
import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.roles import Action
from lofisite.formatting import format_duration
from monitoring.events import record_event

from ..choices import STAGE_ORDER, AudioSource, PublishTarget, RunStatus, StageStatus
from ..engines import EngineError, render
from ..engines.compose import parse_key
from ..engines.presets import PRESETS
from ..models import Run, Stage, Track, Video
from .base import DONE_STAGE_STATUSES, TERMINAL_RUN_STATUSES, require
from .channel import channel_connected
from .execution import enqueue_run, finish_run, requeue_run
from .queries import forget_dashboard_stats


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
    forget_dashboard_stats()
    Stage.objects.bulk_create([Stage(run=run, name=name) for name in STAGE_ORDER])
    Video.objects.create(run=run)
    record_event("pipeline", "run.queued", "info", f"{run} queued ({run.preset}, {format_duration(run.duration_s)})",
                 {"run": run.pk}, user=user, target=run)
    enqueue_run(run)
    return run


@transaction.atomic
def cancel_run(run: Run, user) -> Run:
    require(user, run, Action.CHANGE)
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
        finish_run(run, RunStatus.CANCELLED, run.cancel_message(when))
    # Otherwise the running stage sees the flag at its next progress report and stops; either
    # way `finish_run` logs the one "run.cancelled" event, naming who cancelled.
    return run


@transaction.atomic
def retry_run(run: Run, user) -> Run:
    """Resume a failed or cancelled run from the stage that did not finish."""
    require(user, run, Action.CHANGE)
    run = Run.objects.select_for_update().get(pk=run.pk)
    if not run.can_retry:
        raise ValidationError(f"Only failed or cancelled runs can be retried; {run} is {run.status}.")
    requeue_run(run, run.stages.exclude(status__in=DONE_STAGE_STATUSES))
    record_event("pipeline", "run.retry", "info", f"{run} retried by {user}", {"run": run.pk}, user=user,
                 target=run)
    return run


# --- the rules a run's settings meet ------------------------------------------------------------
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


# --- intro and outro clips ------------------------------------------------------------------------
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
