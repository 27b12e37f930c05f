from django.db import models


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class StageName(models.TextChoices):
    COMPOSE = "compose", "Compose"
    ARTWORK = "artwork", "Artwork"
    METADATA = "metadata", "Metadata"
    RENDER = "render", "Render"
    THUMBNAIL = "thumbnail", "Thumbnail"
    PUBLISH = "publish", "Publish"


STAGE_ORDER = list(StageName)
# Share of a run's progress bar each stage takes (render and compose dominate).
STAGE_WEIGHTS = {
    StageName.COMPOSE: 35, StageName.ARTWORK: 5, StageName.METADATA: 5,
    StageName.RENDER: 35, StageName.THUMBNAIL: 5, StageName.PUBLISH: 15,
}


class StageStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"


class AudioSource(models.TextChoices):
    PROCEDURAL = "procedural", "Procedural (generated)"
    LIBRARY = "library", "Track library mix"


class PublishTarget(models.TextChoices):
    LIBRARY = "library", "Library only (no upload)"
    YOUTUBE = "youtube", "Upload to YouTube"


class Privacy(models.TextChoices):
    PRIVATE = "private", "Private"
    UNLISTED = "unlisted", "Unlisted"
    PUBLIC = "public", "Public"


class UploadStatus(models.TextChoices):
    NOT_UPLOADED = "not_uploaded", "Not uploaded"
    UPLOADING = "uploading", "Uploading"
    UPLOADED = "uploaded", "Uploaded"
    LOCKED_PRIVATE = "locked_private", "Uploaded but locked private"
    LIMIT_EXCEEDED = "limit_exceeded", "Upload limit exceeded"
    QUOTA_EXCEEDED = "quota_exceeded", "Daily API quota exceeded"
    FAILED = "failed", "Failed"

