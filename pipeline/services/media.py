"""Media on disk: deleting a run with its files, retention of library media, storage used."""

import shutil
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.roles import Action
from monitoring.events import record_event

from ..choices import PublishTarget, UploadStatus
from ..models import Run, Video, run_dir
from .base import TERMINAL_RUN_STATUSES, media_path, require
from .queries import forget_dashboard_stats


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
    require(user, run, Action.DELETE)
    run = Run.objects.select_for_update().get(pk=run.pk)
    if run.is_active:
        raise ValidationError(f"{run} is still {run.get_status_display().lower()}: cancel it first, then delete it.")
    video = Video.objects.filter(run=run).first()
    if video is not None and video.upload_status == UploadStatus.UPLOADING:
        raise ValidationError(f"{run} is being uploaded to YouTube: wait for the upload to end, then delete it.")
    paths = [media_path(run_dir(run.pk)), *(media_path(name) for name in _unshared_clips(run))]
    freed = sum(_size_of(path) for path in paths)
    # Named before the row goes (the event keeps the run's id; its page shows no link once it is gone).
    record_event("pipeline", "run.deleted", "info", f"{run} deleted by {user} ({freed} bytes of media)",
                 {"run": run.pk, "bytes": freed}, user=user, target=run)
    run.delete()
    forget_dashboard_stats()
    # Files go only once the rows are gone for good: a rollback keeps both.
    transaction.on_commit(lambda: _remove_media(paths))
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
        folder = media_path(run_dir(video.run_id))
        freed = _size_of(folder)
        # Claim first (a second scheduler process skips it), then remove the files.
        if not Video.objects.filter(pk=video.pk, media_deleted_at__isnull=True).update(
                media_deleted_at=now, audio="", cover="", video="", thumbnail=""):
            continue
        _remove_media([folder])
        purged += 1
        record_event("pipeline", "video.media_deleted", "info",
                     f"Media of {video.run} deleted after {days} days in the library ({freed} bytes)",
                     {"run": video.run_id, "bytes": freed}, target=video.run)
    return purged


def storage_used() -> dict[str, int]:
    """Bytes of media on disk: run outputs, library tracks, intro/outro clips, and the total."""
    used = {kind: _size_of(media_path(folder)) for kind, folder in
            (("runs", "runs"), ("tracks", "tracks"), ("clips", "clips"))}
    used["total"] = sum(used.values())
    return used
