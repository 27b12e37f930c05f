"""Serializers of the Vinted accounts API. No serializer here has a field for the cookies or the
user agent on its read side: an account answers `has_session` only; the session is write-only
(SessionImportSerializer), taken in and never given back."""

from django.conf import settings
from rest_framework import serializers

from lofisite.fields import StrictBooleanField, StrictCharField, StringOnlyModelSerializer

from ..choices import AccountStatus
from ..models import VintedAccount, VintedCall


class VintedAccountSerializer(StringOnlyModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:vinted-account-detail")
    owner = serializers.CharField(source="owner.username", read_only=True)
    status = serializers.ChoiceField(choices=AccountStatus.choices, read_only=True)
    has_session = serializers.BooleanField(read_only=True, help_text="A session was imported (it is never shown).")
    what_to_do = serializers.SerializerMethodField(help_text="The seller's next step, in plain words.")

    class Meta:
        model = VintedAccount
        fields = ["id", "url", "owner", "label", "domain", "status", "status_message", "what_to_do", "has_session",
                  "dry_run", "vinted_user_id", "vinted_login", "cooling_until", "session_imported_at",
                  "last_checked_at", "last_inbox_sync_at", "created_at", "updated_at"]
        read_only_fields = fields

    def get_what_to_do(self, account) -> str:
        from ..services.accounts import what_to_do

        return what_to_do(account)


def _domain_field(**options):
    return serializers.ChoiceField(choices=[(d, d) for d in settings.VINTED_DOMAINS], **options)


class VintedAccountCreateSerializer(serializers.Serializer):
    label = StrictCharField(max_length=100)
    domain = serializers.ChoiceField(choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The domains are a setting: read them per request, not at import.
        self.fields["domain"] = _domain_field(help_text="The Vinted site (settings.VINTED_DOMAINS).")


class VintedAccountUpdateSerializer(serializers.Serializer):
    label = StrictCharField(max_length=100, required=False)
    domain = serializers.ChoiceField(choices=[], required=False)
    dry_run = StrictBooleanField(required=False, help_text="Admins only: false makes confirmed publications real.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["domain"] = _domain_field(required=False, help_text="A new site forgets the session.")


class SessionImportSerializer(serializers.Serializer):
    """Write-only: the pasted session and, optionally, the browser's user agent."""

    session = StrictCharField(write_only=True, trim_whitespace=True, allow_blank=True,
                              help_text="A Cookie header (\"a=1; b=2\") or a browser cookie export (JSON). "
                                        "Must contain access_token_web. Stored encrypted, never returned.")
    user_agent = StrictCharField(write_only=True, required=False, allow_blank=True, max_length=500,
                                 help_text="The browser's User-Agent, stored encrypted, never returned.")


class VintedCallSerializer(serializers.ModelSerializer):
    class Meta:
        model = VintedCall
        fields = ["id", "at", "kind", "action", "what", "status_code", "outcome", "duration_ms", "message"]
        read_only_fields = fields


class LedgerSummarySerializer(serializers.Serializer):
    hours = serializers.IntegerField(help_text="The window of the counts.")
    reads = serializers.IntegerField()
    writes = serializers.IntegerField()
    errors = serializers.IntegerField()
    blocks = serializers.IntegerField()
    writes_last_hour = serializers.IntegerField()
    write_limit = serializers.IntegerField(help_text="Writes allowed per hour (settings.VINTED_WRITES_PER_HOUR).")
    writes_left = serializers.IntegerField()
    limit_frees_in_seconds = serializers.FloatField(help_text="0 when a write may go now.")


class LedgerSerializer(serializers.Serializer):
    summary = LedgerSummarySerializer()
    count = serializers.IntegerField(help_text="Calls of the account in total.")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    calls = VintedCallSerializer(many=True, help_text="Newest first, paginated with ?limit= and ?offset=.")
