from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from lofisite.crypto import EncryptedTextField

from .choices import (
    BackupContent,
    BackupKind,
    BackupStatus,
    BreakerState,
    DeliveryChannel,
    DeliveryStatus,
    EventStatus,
    JobStatus,
    VerificationStatus,
    badge_for,
)
from .querysets import (
    AIUsageQuerySet,
    BackupQuerySet,
    CircuitBreakerQuerySet,
    DeliveryQuerySet,
    EventQuerySet,
    JobRunQuerySet,
    JobStatQuerySet,
    NotificationPreferenceQuerySet,
    SystemSampleQuerySet,
)


class Event(models.Model):
    """One line of the operations log. Written through `monitoring.events.record_event`."""

    source = models.CharField(max_length=64, db_index=True)
    kind = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=EventStatus.choices, default=EventStatus.INFO)
    message = models.CharField(max_length=500, blank=True)
    # Context for operators; never secrets (callers own that rule).
    payload = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The object the event is about (a run, a listing...), when the caller names one; the
    # page links to its get_absolute_url() without monitoring knowing the app it comes from.
    target_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name="target type")
    target_id = models.CharField("target id", max_length=64, blank=True)
    target = GenericForeignKey("target_type", "target_id")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["source", "kind", "-created_at"])]

    def __str__(self):
        return f"{self.source}/{self.kind} {self.status}"

    @property
    def badge(self):
        return badge_for(self.status)

    @property
    def target_url(self) -> str:
        """Where the event's object lives, or "" (none named, deleted since, or no page of its own)."""
        if not self.target_type_id or not self.target_id:
            return ""
        target = self.target
        get_url = getattr(target, "get_absolute_url", None)
        return get_url() if get_url else ""


class JobRun(models.Model):
    """One logical run of a job; `attempt` counts its executions (retries reuse the row)."""

    name = models.CharField(max_length=100, db_index=True)
    # What people see ("Compose stage of run #34"), from the job's `label` callable; may be empty.
    label = models.CharField(max_length=200, blank=True)
    # Import path of the Job object, so any process can find its code and hooks.
    job_path = models.CharField(max_length=255)
    args = models.JSONField(default=list, blank=True, encoder=DjangoJSONEncoder)
    kwargs = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    attempt = models.PositiveIntegerField(default=1)
    max_attempts = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    run_after = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    progress = models.FloatField(null=True, blank=True, help_text="A fraction from 0 to 1.")
    progress_message = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    worker_pid = models.PositiveIntegerField("worker PID", null=True, blank=True)
    worker_host = models.CharField(max_length=255, blank=True)
    # The django_tasks_db DBTaskResult of the current attempt (empty for synchronous calls).
    task_result_id = models.CharField("task result id", max_length=64, blank=True, db_index=True)

    objects = JobRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self):
        return f"{self.name} #{self.pk} ({self.status}, attempt {self.attempt})"

    @property
    def badge(self):
        return badge_for(self.status)

    @property
    def display_name(self) -> str:
        return self.label or f"{self.name} #{self.pk}"

    @property
    def duration_seconds(self):
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class JobStat(models.Model):
    """Counters per job name; every execution (attempt) counts as one run."""

    name = models.CharField(max_length=100, unique=True)
    runs = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    consecutive_failures = models.PositiveIntegerField(default=0)
    total_duration_seconds = models.FloatField("total duration (seconds)", default=0)
    last_status = models.CharField(max_length=16, choices=JobStatus.choices, blank=True)
    last_error = models.TextField(blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)

    objects = JobStatQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = "job statistics"
        verbose_name_plural = "job statistics"

    def __str__(self):
        return self.name

    @property
    def mean_duration_seconds(self):
        return self.total_duration_seconds / self.runs if self.runs else None

    @property
    def failure_rate(self):
        return self.failures / self.runs if self.runs else None

    @property
    def success_rate(self):
        return 1 - self.failures / self.runs if self.runs else None

    @property
    def badge(self):
        return badge_for(self.last_status) if self.last_status else "queued"


class CircuitBreaker(models.Model):
    """Shared breaker state; every change is a conditional UPDATE (see monitoring.breakers)."""

    name = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=16, choices=BreakerState.choices, default=BreakerState.CLOSED)
    failure_count = models.PositiveIntegerField(default=0)
    success_count = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(null=True, blank=True)
    # Set by trip(): held open until then, whatever the recovery timeout (a service told us to stop).
    open_until = models.DateTimeField(null=True, blank=True)
    # Set while a half-open trial call is in flight; it expires so a crashed caller can't wedge it.
    trial_started_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CircuitBreakerQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.state})"

    @property
    def badge(self):
        return badge_for(self.state)


class AIUsage(models.Model):
    """The AI cost ledger: one row per provider call, successful or not."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="ai_usage"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    model = models.CharField(max_length=100)
    request_type = models.CharField(max_length=64, db_index=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    images = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField("cost (USD)", max_digits=12, decimal_places=6, default=0)
    latency_ms = models.PositiveIntegerField("latency (ms)", default=0)
    success = models.BooleanField(default=True)
    error = models.TextField(blank=True)

    objects = AIUsageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "AI usage"
        verbose_name_plural = "AI usage"
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self):
        return f"{self.request_type} {self.model} ${self.cost_usd}"


class Backup(models.Model):
    """One backup of the database and/or the media tree (monitoring.backups writes these rows).

    `files`: [{"role": "database"|"media", "name": storage name, "size": bytes, "sha256": hex}] as
    stored (after encryption, when on); `sha256` is the SHA-256 of those per-file hashes in order, one
    fingerprint for the whole backup. `source_stats` is the source at backup time, taken in the same
    snapshot as the dump: {"tables": {name: {"rows": n, "pk_checksum": hex}}, "media": {"files", "bytes"}};
    verification restores the files into a scratch database and compares against it.
    """

    kind = models.CharField(max_length=16, choices=BackupKind.choices, default=BackupKind.MANUAL)
    content = models.CharField("what", max_length=16, choices=BackupContent.choices, default=BackupContent.DATABASE)
    status = models.CharField(max_length=16, choices=BackupStatus.choices, default=BackupStatus.RUNNING,
                              db_index=True)
    vendor = models.CharField("database vendor", max_length=32, blank=True)
    server_version = models.CharField(max_length=64, blank=True)
    # {app label: name of its latest applied migration}
    schema_version = models.JSONField(default=dict, blank=True)
    files = models.JSONField(default=list, blank=True)
    size = models.PositiveBigIntegerField("size (bytes)", default=0)
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    encrypted = models.BooleanField(default=False)
    source_stats = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    verification_status = models.CharField(max_length=16, choices=VerificationStatus.choices,
                                           default=VerificationStatus.PENDING)
    # {"ok": bool, "tables": n, "rows": n, "differences": [text, ...], "seconds": s}
    verification_result = models.JSONField(default=dict, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)

    objects = BackupQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"Backup #{self.pk} ({self.get_content_display().lower()}, {self.started_at:%Y-%m-%d %H:%M})"

    @property
    def badge(self):
        return badge_for(self.status)

    @property
    def verification_badge(self):
        return badge_for(self.verification_status)

    def file_for(self, role: str) -> dict | None:
        return next((entry for entry in self.files if entry.get("role") == role), None)

    @property
    def has_database(self) -> bool:
        return self.content in (BackupContent.DATABASE, BackupContent.BOTH)

    @property
    def has_media(self) -> bool:
        return self.content in (BackupContent.MEDIA, BackupContent.BOTH)


class SystemSample(models.Model):
    """One reading of the host, database and cache, taken by the `monitoring.system.take_sample` hook.

    At most one row per SYSTEM_SAMPLE_SECONDS and only the last SYSTEM_SAMPLE_KEEP_HOURS: the table is bounded.
    """

    taken_at = models.DateTimeField(db_index=True)
    cpu_percent = models.FloatField("CPU (%)")
    load_1 = models.FloatField("load average (1 min)", default=0)
    memory_percent = models.FloatField("memory used (%)")
    disk_percent = models.FloatField("disk used (%)")
    processes = models.PositiveIntegerField(default=0)
    database_bytes = models.PositiveBigIntegerField("database size (bytes)", null=True, blank=True)
    # Cumulative hit/miss counters as the cache backend reports them (Redis INFO); the ratio of one
    # interval is the difference to the previous sample. None where the backend keeps no counters.
    cache_hits = models.PositiveBigIntegerField(null=True, blank=True)
    cache_misses = models.PositiveBigIntegerField(null=True, blank=True)

    objects = SystemSampleQuerySet.as_manager()

    class Meta:
        ordering = ["-taken_at"]

    def __str__(self):
        return f"System sample {self.taken_at:%Y-%m-%d %H:%M:%S}"


class NotificationPreference(models.Model):
    """What one person wants to hear about, and how (monitoring.notifications reads it).

    `kinds` lists keys of settings.NOTIFICATION_EVENTS ("source/kind"); someone without a row gets
    the defaults (e-mail on, every kind, no webhook).
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="notification_preference")
    email_enabled = models.BooleanField("e-mail", default=True)
    webhook_url = models.URLField("webhook URL", max_length=500, blank=True)
    # The HMAC key the receiver shares with us: encrypted at rest, never shown again once saved.
    webhook_secret = EncryptedTextField("webhook secret", blank=True)
    kinds = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = NotificationPreferenceQuerySet.as_manager()

    class Meta:
        verbose_name = "notification preference"

    def __str__(self):
        return f"Notifications of {self.user}"


class Delivery(models.Model):
    """One notification to one person over one channel; the job `monitoring.deliver_notification` sends it."""

    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries")
    kind = models.CharField(max_length=130, help_text="The event's source/kind.")
    title = models.CharField(max_length=200)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16, choices=DeliveryChannel.choices)
    # The address, or the webhook's URL without its query (a query may carry a token).
    destination = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED,
                              db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField("HTTP status", null=True, blank=True)
    error = models.TextField(blank=True)
    job_run = models.ForeignKey(JobRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"

    def __str__(self):
        return f"{self.get_channel_display()} to {self.recipient} ({self.kind}, {self.status})"

    @property
    def badge(self):
        return badge_for(self.status)
