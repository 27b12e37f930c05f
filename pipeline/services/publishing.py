"""A video's metadata edits and its upload to YouTube."""

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.roles import Action
from monitoring.events import record_event

from ..choices import PublishTarget, StageName
from ..engines.metadata import unique_tags, validate_metadata
from ..models import Run, Video
from .artwork import redraw_thumbnail
from .base import require
from .execution import requeue_run
from .runs import publish_errors


@transaction.atomic
def update_metadata(video: Video, user, *, title: str, description: str, tags: list[str]) -> Video:
    """An operator's edit; validated against YouTube's limits, never silently cut."""
    require(user, video, Action.CHANGE)
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
        redraw_thumbnail(video)  # the thumbnail shows the title
    record_event("pipeline", "video.metadata_edited", "info", f"Metadata of {video.run} edited by {user}",
                 {"run": video.run_id}, user=user, target=video.run)
    return video


@transaction.atomic
def publish_video(video: Video, user, *, privacy="private", publish_at=None) -> Run:
    """Upload a finished library video to YouTube (re-runs only the publish stage)."""
    require(user, video, Action.CHANGE)
    run = Run.objects.select_for_update().get(pk=video.run_id)
    blocker = video.publish_blocker(run)
    if blocker:
        raise ValidationError(blocker)
    run.publish_target, run.privacy, run.publish_at = PublishTarget.YOUTUBE, privacy, publish_at
    errors = publish_errors(publish_target=run.publish_target, privacy=privacy, publish_at=publish_at)
    if errors:
        raise ValidationError(errors)
    requeue_run(run, run.stages.filter(name=StageName.PUBLISH), ["publish_target", "privacy", "publish_at"])
    return run
