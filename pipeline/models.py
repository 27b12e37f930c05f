from pathlib import Path

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from lofisite.crypto import EncryptedTextField

from .choices import (
    STAGE_ORDER,
    AudioSource,
    Privacy,
    PublishTarget,
    RunStatus,
    StageName,
    StageStatus,
    UploadStatus,
)
from .engines.limits import MAX_BPM, MAX_DURATION_S, MIN_BPM, MIN_DURATION_S
from .querysets import ChannelQuerySet, RunQuerySet, ScheduleQuerySet, StageQuerySet, TrackQuerySet, VideoQuerySet


def run_dir(run_id: int) -> str:
    """Media-relative folder that holds one run's files."""
    return f"runs/{run_id}"


def clip_upload_to(instance, filename):
    return f"clips/{Path(filename).name}"


def track_upload_to(instance, filename):
    return f"tracks/{Path(filename).name}"


class Run(models.Model):
    """One production of a video: parameters, state and timings. Stages hold the detail."""

    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    preset = models.CharField(max_length=32)
    duration_s = models.PositiveIntegerField(
        "duration (seconds)", validators=[MinValueValidator(MIN_DURATION_S), MaxValueValidator(MAX_DURATION_S)])
    bpm = models.PositiveSmallIntegerField("BPM", null=True, blank=True,
                                           validators=[MinValueValidator(MIN_BPM), MaxValueValidator(MAX_BPM)])
    musical_key = models.CharField("key", max_length=4, blank=True)
    seed = models.PositiveBigIntegerField()
    audio_source = models.CharField(max_length=16, choices=AudioSource.choices, default=AudioSource.PROCEDURAL)
    motion = models.BooleanField(default=False, help_text="Subtle slow zoom instead of a still image.")
    intro = models.FileField(upload_to=clip_upload_to, blank=True)
    outro = models.FileField(upload_to=clip_upload_to, blank=True)
    publish_target = models.CharField(max_length=16, choices=PublishTarget.choices, default=PublishTarget.LIBRARY)
    privacy = models.CharField(max_length=16, choices=Privacy.choices, default=Privacy.PRIVATE)
    publish_at = models.DateTimeField("publish at", null=True, blank=True)

    progress = models.FloatField(default=0.0, help_text="A fraction from 0 to 1.")
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", help_text="Who asked to cancel the run.")
    schedule = models.ForeignKey("Schedule", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="runs")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Run #{self.pk}"

    def get_absolute_url(self):
        return reverse("pipeline:run-detail", args=[self.pk])

    @property
    def is_active(self):
        return self.status in (RunStatus.QUEUED, RunStatus.RUNNING)

    @property
    def elapsed_s(self):
        if not self.started_at:
            return None
        from django.utils import timezone

        return ((self.finished_at or timezone.now()) - self.started_at).total_seconds()

    @property
    def can_retry(self):
        return self.status in (RunStatus.FAILED, RunStatus.CANCELLED)

    @property
    def can_cancel(self):
        return self.is_active and not self.cancel_requested

    def cancel_message(self, when=""):
        """'Cancelled by ada (Admin).': names who did it, whatever their role."""
        who = self.cancelled_by
        return (f"Cancelled by {who.username} ({who.get_role_display()}){when}." if who
                else f"Cancelled{when}.")

    def ordered_stages(self):
        return sorted(self.stages.all(), key=lambda stage: STAGE_ORDER.index(stage.name))


class Stage(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=16, choices=StageName.choices)
    status = models.CharField(max_length=16, choices=StageStatus.choices, default=StageStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    progress = models.FloatField(default=0.0, help_text="A fraction from 0 to 1.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    log = models.TextField(blank=True)
    outputs = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    objects = StageQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="pipeline_unique_stage_per_run")]
        ordering = ["run", "id"]

    def __str__(self):
        return f"{self.run} {self.name}"

    @property
    def duration_s(self):
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


METADATA_EDITABLE_STATUSES = (UploadStatus.NOT_UPLOADED, UploadStatus.FAILED, UploadStatus.LIMIT_EXCEEDED,
                              UploadStatus.QUOTA_EXCEEDED)


class Video(models.Model):
    """The product of a run: files, metadata, and where it was published."""

    run = models.OneToOneField(Run, on_delete=models.CASCADE, related_name="video")
    title = models.CharField(max_length=100, blank=True)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    metadata_edited = models.BooleanField(default=False, help_text="An operator edited the metadata.")
    tracklist = models.JSONField(default=list, blank=True)
    audio = models.FileField(blank=True)
    cover = models.FileField(blank=True)
    video = models.FileField(blank=True)
    thumbnail = models.FileField(blank=True)
    duration_s = models.FloatField("duration (seconds)", null=True, blank=True)
    size_bytes = models.BigIntegerField("size (bytes)", null=True, blank=True)
    loudness_lufs = models.FloatField("loudness (LUFS)", null=True, blank=True)

    youtube_id = models.CharField("YouTube video id", max_length=32, blank=True)
    youtube_url = models.URLField("YouTube URL", blank=True)
    upload_status = models.CharField(max_length=20, choices=UploadStatus.choices, default=UploadStatus.NOT_UPLOADED)
    upload_error = models.TextField(blank=True)
    # Resumable upload session URI, kept so an upload resumes after a worker dies.
    upload_session_url = models.TextField("upload session URL", blank=True)
    uploaded_at = models.DateTimeField(null=True, blank=True)
    media_deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="When the retention rule deleted this library-only video's files.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = VideoQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.title or f"Video of {self.run}"

    @property
    def created_by(self):
        return self.run.created_by

    @property
    def is_ready(self):
        return bool(self.video)

    @property
    def metadata_editable(self) -> bool:
        """Title, description and tags are edited here until the video is on YouTube."""
        return self.upload_status in METADATA_EDITABLE_STATUSES

    def publish_blocker(self, run) -> str:
        """Why this video cannot be published to YouTube now ("" when it can); `run` is its run."""
        if run.is_active:
            return "The run is still in progress; wait until it finishes."
        if not self.is_ready:
            return "The video has not been rendered yet."
        if self.youtube_id:
            return "This video is already on YouTube."
        if self.upload_status == UploadStatus.UPLOADING:
            return "This video is being uploaded to YouTube."
        return ""


class Track(models.Model):
    """An uploaded audio track for library-mode mixes."""

    title = models.CharField(max_length=200)
    file = models.FileField(upload_to=track_upload_to)
    duration_s = models.FloatField("duration (seconds)")
    size_bytes = models.BigIntegerField("size (bytes)")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tracks")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TrackQuerySet.as_manager()

    class Meta:
        ordering = ["title", "id"]

    def __str__(self):
        return self.title


class Schedule(models.Model):
    """Start a run on a cron schedule, e.g. `0 18 * * *` = every day at 18:00."""

    name = models.CharField(max_length=100)
    cron = models.CharField("cron expression", max_length=100,
                            help_text="Five-field cron expression, in the schedule's time zone.")
    timezone = models.CharField("time zone", max_length=64, default="UTC")
    preset = models.CharField(max_length=32)
    duration_s = models.PositiveIntegerField(
        "duration (seconds)", validators=[MinValueValidator(MIN_DURATION_S), MaxValueValidator(MAX_DURATION_S)])
    audio_source = models.CharField(max_length=16, choices=AudioSource.choices, default=AudioSource.PROCEDURAL)
    publish_target = models.CharField(max_length=16, choices=PublishTarget.choices, default=PublishTarget.LIBRARY)
    privacy = models.CharField(max_length=16, choices=Privacy.choices, default=Privacy.PRIVATE)
    enabled = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="schedules")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScheduleQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class YouTubeChannel(models.Model):
    """The connected channel's OAuth client and refresh token (one row; secrets encrypted)."""

    client_id = models.CharField("OAuth client id", max_length=255)
    client_secret = EncryptedTextField("OAuth client secret")
    refresh_token = EncryptedTextField("refresh token")
    channel_id = models.CharField("channel id", max_length=64, blank=True,
                                  help_text="YouTube's id of the channel (UC...).")
    channel_title = models.CharField("channel title", max_length=200, blank=True)
    connected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                     related_name="+")
    connected_at = models.DateTimeField(auto_now=True)

    objects = ChannelQuerySet.as_manager()

    class Meta:
        verbose_name = "YouTube channel"
        verbose_name_plural = "YouTube channels"

    def __str__(self):
        return self.channel_title or "YouTube channel"


class QuotaUsage(models.Model):
    """YouTube Data API quota spent, per Pacific-time day as YouTube counts it."""

    day = models.DateField(db_index=True)
    bucket = models.CharField(max_length=32, help_text="YouTube quota bucket, e.g. videos.insert or default.")
    units = models.PositiveIntegerField()
    operation = models.CharField(max_length=32)
    video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.SET_NULL, related_name="quota_usage")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "YouTube quota usage"
        verbose_name_plural = "YouTube quota usage"

    def __str__(self):
        return f"{self.units} {self.bucket} units on {self.day} ({self.operation})"


class RenderSlot(models.Model):
    """N rows = at most N renders at once; a run claims a row with a conditional UPDATE."""

    run = models.OneToOneField(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="render_slot")
    claimed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Render slot {self.pk}: " + (f"run #{self.run_id}" if self.run_id else "free")
