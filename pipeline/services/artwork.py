"""Artwork: the thumbnail follows the title; a person's own cover or thumbnail."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from PIL import Image

from accounts.roles import Action
from monitoring.events import record_event

from ..choices import StageName
from ..engines import atomic_output, thumbnail
from ..engines.presets import PRESETS
from ..models import Run, Video, run_dir
from .base import media_path, require
from .execution import requeue_run

IMAGE_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
IMAGE_MIN_SIZE = (640, 360)


def _check_artwork_change(video: Video, user):
    require(user, video, Action.CHANGE)
    if video.run.is_active:
        raise ValidationError(f"{video.run} is still {video.run.get_status_display().lower()}: "
                              "wait for it to finish, then change its artwork.")
    if not video.metadata_editable:
        raise ValidationError("This video is already on YouTube; change its artwork there.")


def redraw_thumbnail(video: Video) -> None:
    """Draw the thumbnail from the cover and the current title (no checks: callers make them)."""
    name = f"{run_dir(video.run_id)}/thumbnail.jpg"
    thumbnail.make_thumbnail(media_path(video.cover.name), media_path(name), title=video.title,
                             subtitle=PRESETS[video.run.preset].label if video.run.preset in PRESETS else None)
    Video.objects.filter(pk=video.pk).update(thumbnail=name)
    video.thumbnail = name


def regenerate_thumbnail(video: Video, user) -> Video:
    """Draw the thumbnail again from the cover and the current title."""
    _check_artwork_change(video, user)
    if not video.cover:
        raise ValidationError("This video has no cover art yet: the thumbnail is drawn from it.")
    redraw_thumbnail(video)
    record_event("pipeline", "video.thumbnail", "info", f"Thumbnail of {video.run} redrawn by {user}",
                 {"run": video.run_id}, user=user, target=video.run)
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
    with atomic_output(media_path(f"{run_dir(video.run_id)}/own-thumbnail.png")) as tmp:
        image.convert("RGB").save(tmp, format="PNG")
        thumbnail.fit_thumbnail(tmp, media_path(name))
    Video.objects.filter(pk=video.pk).update(thumbnail=name)
    video.thumbnail = name
    record_event("pipeline", "video.thumbnail", "info", f"Own thumbnail of {video.run} uploaded by {user}",
                 {"run": video.run_id}, user=user, target=video.run)
    return video


@transaction.atomic
def replace_cover(video: Video, user, uploaded_file) -> Run:
    """A person's own cover art: saved, then the render and the thumbnail run again with it."""
    _check_artwork_change(video, user)
    image = _open_image(uploaded_file, "cover")
    name = f"{run_dir(video.run_id)}/cover.png"
    with atomic_output(media_path(name)) as tmp:
        image.convert("RGB").save(tmp, format="PNG")
    Video.objects.filter(pk=video.pk).update(cover=name)
    run = Run.objects.select_for_update().get(pk=video.run_id)
    requeue_run(run, run.stages.filter(name__in=[StageName.RENDER, StageName.THUMBNAIL, StageName.PUBLISH]))
    record_event("pipeline", "video.cover", "info", f"Own cover art of {run} uploaded by {user}; rendering again",
                 {"run": run.pk}, user=user, target=run)
    return run
