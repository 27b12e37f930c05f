from django.db import models


class EventStatus(models.TextChoices):
    INFO = "info", "Info"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    WARNING = "warning", "Warning"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    RETRYING = "retrying", "Retrying"
    DEAD = "dead", "Dead (worker lost)"


# Statuses from which a run will still move on its own.
JOB_ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.RETRYING)


class BreakerState(models.TextChoices):
    CLOSED = "closed", "Closed"
    OPEN = "open", "Open"
    HALF_OPEN = "half_open", "Half-open"


# One colour per status across the product (app.css badge-<status>).
BADGE = {
    EventStatus.INFO: "queued",
    JobStatus.RETRYING: "warning",
    JobStatus.DEAD: "failed",
    BreakerState.CLOSED: "succeeded",
    BreakerState.OPEN: "failed",
    BreakerState.HALF_OPEN: "warning",
}


def badge_for(status: str) -> str:
    return BADGE.get(status, status)


class BackupKind(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    MANUAL = "manual", "Manual"
    SAFETY = "safety", "Safety (before a restore)"


class BackupContent(models.TextChoices):
    DATABASE = "database", "Database"
    MEDIA = "media", "Media files"
    BOTH = "both", "Database and media files"


class BackupStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class VerificationStatus(models.TextChoices):
    PENDING = "pending", "Not verified yet"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"


BADGE.update({VerificationStatus.PENDING: "queued", VerificationStatus.PASSED: "succeeded"})


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RETRYING = "retrying", "Retrying"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Failed"
