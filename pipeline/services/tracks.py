"""The track library: uploads checked by decoding them, and deletes."""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.roles import Action

from ..engines import EngineError
from ..engines.compose import validate_audio_file
from ..models import Track
from .base import require
from .runs import MIB


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
    require(user, track, Action.DELETE)
    track.file.delete(save=False)
    track.delete()
