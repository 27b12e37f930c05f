"""What every services module shares: the permission guard, status groups, media paths."""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied

from ..choices import RunStatus, StageStatus

TERMINAL_RUN_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
DONE_STAGE_STATUSES = (StageStatus.SUCCEEDED, StageStatus.SKIPPED)


def require(user, obj, action):
    """The guard every change passes: the object's queryset rule (`permits`), else PermissionDenied."""
    if not type(obj).objects.permits(user, obj, action):
        raise PermissionDenied("You may not change this.")


def media_path(name: str) -> Path:
    """The file on disk behind a storage name (relative to MEDIA_ROOT)."""
    return Path(settings.MEDIA_ROOT) / name
