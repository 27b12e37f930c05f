"""Serializers of the publishing actions (prepare, publication, confirm, publish). A publication
carries no secret of its account: only the account's id, label and dry-run flag."""

from django.urls import NoReverseMatch, reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lofisite.fields import StrictCharField

from ..choices import PublicationStatus
from ..services.publishing import IDEMPOTENCY_KEY_MAX


class PrepareRequestSerializer(serializers.Serializer):
    account = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=2**31 - 1,
        help_text="The Vinted account (of the listing's owner) to publish on; default: the listing's account, or "
                  "the owner's only active one.")


class PublishRequestSerializer(serializers.Serializer):
    token = StrictCharField(max_length=2000, help_text="The token `confirm` answered (valid for a limited time).")


class SnapshotValuesSerializer(serializers.Serializer):
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    catalog_id = serializers.CharField(allow_blank=True)
    brand_id = serializers.CharField(allow_blank=True, help_text="Empty: no brand.")
    size_id = serializers.CharField(allow_blank=True, help_text="Empty: no size.")
    status_id = serializers.CharField(allow_blank=True, help_text="Vinted's condition id.")
    color_ids = serializers.ListField(child=serializers.CharField())
    price = serializers.CharField(allow_blank=True, help_text='E.g. "12.50".')
    package_size_id = serializers.CharField(allow_blank=True)


class SnapshotSerializer(serializers.Serializer):
    values = SnapshotValuesSerializer(help_text="The values read back from Vinted's filled form.")
    photo_hashes = serializers.ListField(child=serializers.CharField(),
                                         help_text="sha256 of each uploaded photo, in order.")


class JobProgressSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()
    attempt = serializers.IntegerField()
    max_attempts = serializers.IntegerField()
    progress = serializers.FloatField(allow_null=True, help_text="0 to 1.")
    progress_message = serializers.CharField(allow_blank=True)
    error = serializers.CharField(allow_blank=True)


class DifferenceSerializer(serializers.Serializer):
    expected = serializers.JSONField()
    found = serializers.JSONField()


class PublicationSerializer(serializers.Serializer):
    """One prepare -> confirm -> publish of a listing."""

    id = serializers.IntegerField()
    listing = serializers.IntegerField(source="listing_id")
    account = serializers.IntegerField(source="account_id")
    account_label = serializers.CharField(source="account.label")
    dry_run = serializers.BooleanField(source="account.dry_run",
                                       help_text="The account stops after prepare; only an admin turns it off.")
    status = serializers.ChoiceField(PublicationStatus.choices)
    status_display = serializers.CharField(source="get_status_display")
    message = serializers.CharField(source="error", help_text="Why it failed, or what a dry run did.")
    values = serializers.SerializerMethodField()
    photo_hashes = serializers.SerializerMethodField()
    snapshot_hash = serializers.CharField(allow_blank=True)
    screenshot_url = serializers.SerializerMethodField()
    difference = serializers.DictField(child=DifferenceSerializer(),
                                       help_text="Field -> {expected, found} where Vinted's form differed.")
    job = serializers.SerializerMethodField()
    prepared_at = serializers.DateTimeField(allow_null=True)
    confirmed_at = serializers.DateTimeField(allow_null=True)
    published_at = serializers.DateTimeField(allow_null=True)
    vinted_item_id = serializers.CharField(allow_blank=True)
    vinted_url = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()

    @extend_schema_field(SnapshotValuesSerializer(allow_null=True))
    def get_values(self, publication):
        return (publication.snapshot or {}).get("values") or None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_photo_hashes(self, publication):
        return list((publication.snapshot or {}).get("photo_hashes") or [])

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_screenshot_url(self, publication):
        if not publication.screenshot:
            return None
        try:
            return reverse("vinted:publication-screenshot", args=[publication.pk])
        except NoReverseMatch:  # the page side (pubui) is not wired in this build
            return None

    @extend_schema_field(JobProgressSerializer(allow_null=True))
    def get_job(self, publication):
        run = publication.publish_job or publication.prepare_job
        if run is None:
            return None
        return JobProgressSerializer({
            "id": run.pk, "name": run.name, "status": run.status, "attempt": run.attempt,
            "max_attempts": run.max_attempts, "progress": run.progress, "progress_message": run.progress_message,
            "error": run.error}).data


class ConfirmAnswerSerializer(serializers.Serializer):
    publication = serializers.IntegerField()
    token = serializers.CharField(help_text="Send it to `publish` with an Idempotency-Key header.")
    expires_at = serializers.DateTimeField()
    snapshot = SnapshotSerializer(help_text="Exactly what publish will fill in and check before submitting.")


IDEMPOTENCY_HELP = (f"A unique value per publish request (at most {IDEMPOTENCY_KEY_MAX} characters, e.g. a UUID): "
                    "repeating a request with the same key publishes once and answers the same publication; the "
                    "key reused for another listing is a 409.")
