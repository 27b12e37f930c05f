"""API of Vinted automation (part 3), under /api/v1/vinted/; owner-only like the pages (each seller
sees their own accounts' automation, admins all; someone else's is a 404, a viewer's write a 403).

- `GET automation/{account_id}/` the account's settings and status (paused, why, since);
  `PATCH` changes any of the settings: the same function and validation as the page's form
  (vinted.services.automation.update_settings): 400 VALIDATION_ERROR with `details.fields`, nothing
  saved. `busy_windows` is a list of {"days": [0..6, Monday 0], "start": "18:00", "end": "21:30"}.
- `POST automation/{account_id}/pause/` and `.../resume/`: pause-all / resume (resume of an account
  Vinted blocks, cooling down or blocked, is a 400 until the account is active again).
- `GET automation/{account_id}/upcoming/?hours=24` (1..168): what automation would do, soonest first.
- `GET automation-events/` the history (filters `account`, `feature`, `outcome`), newest first; read-only.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.viewsets import BaseViewSet
from lofisite.openapi import ERROR_SCHEMA

from ..choices import AccountStatus, AutomationFeature, ReplyTone
from ..forms_automation import AutomationEventFilterSet
from ..models import AutomationEvent, AutomationSettings, VintedAccount
from ..services import automation as services

ERROR_ENVELOPE = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}


HOUR_MINUTE = r"^([01]\d|2[0-3]):[0-5]\d$"


@extend_schema_field({"type": "string", "pattern": HOUR_MINUTE, "example": "22:00"})
class HourMinuteField(serializers.TimeField):
    """A time of day answered as "HH:MM" (OpenAPI's `time` format wants seconds and an offset)."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class BusyWindowSerializer(serializers.Serializer):
    days = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=6), min_length=1,
                                 max_length=7, help_text="Day numbers, 0 Monday to 6 Sunday.")
    start = serializers.CharField(help_text="HH:MM in the account's time zone.")
    end = serializers.CharField(help_text="HH:MM, after start (the same day).")


class AutomationSettingsSerializer(serializers.ModelSerializer):
    """The settings and the status; only EDITABLE_FIELDS are writable (through update_settings)."""

    account = serializers.IntegerField(source="account_id", read_only=True)
    account_status = serializers.ChoiceField(source="account.status", choices=AccountStatus.choices, read_only=True)
    active = serializers.SerializerMethodField(help_text="True when automation of the account may act now.")
    inactive_reason = serializers.SerializerMethodField(help_text="Why not, for people (empty when active).")
    blocked = serializers.SerializerMethodField(help_text="Vinted blocked the account, or paused it by blocking.")
    auto_reply_intents = serializers.ListField(
        child=serializers.ChoiceField(choices=[intent.value for intent in services.AUTO_SEND_INTENTS]),
        help_text="Intents answered automatically; never \"offer\".")
    busy_windows = BusyWindowSerializer(many=True)
    night_start = HourMinuteField()
    night_end = HourMinuteField()
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True,
                                           help_text="Null until the settings are first saved.")

    class Meta:
        model = AutomationSettings
        fields = ["account", "account_status", "active", "inactive_reason", "blocked", "paused", "paused_reason",
                  "paused_at", *services.EDITABLE_FIELDS, "updated_at"]
        read_only_fields = ["paused", "paused_reason", "paused_at", "updated_at"]

    def get_active(self, automation) -> bool:
        return not services.inactive_reason(automation.account)

    def get_inactive_reason(self, automation) -> str:
        return services.inactive_reason(automation.account)

    def get_blocked(self, automation) -> bool:
        return services.status(automation.account)["blocked"]


def whole_number(low, high, *, required=False, **options):
    """A whole number from `low` to `high` (a setting, or a query parameter of a query serializer)."""
    return serializers.IntegerField(required=required, min_value=low, max_value=high, **options)


def query_values(serializer_class, request) -> dict:
    """The request's query parameters checked by `serializer_class` (400 VALIDATION_ERROR with
    `details.fields` otherwise): the one way this API reads numbers from a query."""
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


class SettingsPatchSerializer(serializers.Serializer):
    """Types and ranges (the service's constants); the service checks them again with the rules across
    fields and stored values (min delay <= max delay, a time zone that exists, start < end)."""

    time_zone = serializers.CharField(required=False, max_length=64, help_text="An IANA name, e.g. Europe/Paris.")
    reply_tone = serializers.ChoiceField(required=False, choices=ReplyTone.choices)
    auto_reply_intents = serializers.ListField(required=False, child=serializers.ChoiceField(
        choices=[(intent.value, intent.label) for intent in services.AUTO_SEND_INTENTS],
        error_messages={"invalid_choice": '"{input}" is not an intent answered automatically (offers never are).'}),
        help_text="Never \"offer\": offers are answered by the seller.")
    auto_replies_per_conversation = whole_number(0, services.REPLIES_PER_CONVERSATION_MAX)
    auto_reply_delay_min_seconds = whole_number(0, services.DELAY_MAX_SECONDS, help_text="At most the longest delay.")
    auto_reply_delay_max_seconds = whole_number(0, services.DELAY_MAX_SECONDS)
    night_start = serializers.TimeField(required=False)
    night_end = serializers.TimeField(required=False)
    price_drops_enabled = serializers.BooleanField(required=False)
    reposts_enabled = serializers.BooleanField(required=False)
    repost_after_days = whole_number(1, services.REPOST_AFTER_DAYS_MAX)
    busy_windows = BusyWindowSerializer(many=True, required=False, max_length=services.BUSY_WINDOWS_MAX)

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["This setting does not exist or cannot be changed here."]
                                               for name in unknown})
        return attrs


class PlannedSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    local_time = serializers.CharField(help_text="`at` in the account's time zone.")
    feature = serializers.ChoiceField(choices=AutomationFeature.choices)
    what = serializers.CharField()
    listing = serializers.IntegerField(allow_null=True)
    conversation = serializers.IntegerField(allow_null=True)


class UpcomingQuerySerializer(serializers.Serializer):
    hours = whole_number(1, services.UPCOMING_HOURS_MAX, default=24,
                         help_text=f"How far ahead, 1..{services.UPCOMING_HOURS_MAX} (default 24).")


class AutomationEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AutomationEvent
        fields = ["id", "account", "feature", "outcome", "message", "listing", "conversation", "details", "at"]
        read_only_fields = fields


BAD_SETTINGS = OpenApiResponse(ERROR_ENVELOPE, description="VALIDATION_ERROR: `details.fields` names each wrong "
                                                           "setting; nothing was saved.")


@extend_schema_view(retrieve=extend_schema(summary="An account's automation settings and status"))
class AutomationViewSet(mixins.RetrieveModelMixin, BaseViewSet):
    """One Vinted account's automation, addressed by the account's id."""

    queryset = VintedAccount.objects.select_related("owner", "automation")
    serializer_class = AutomationSettingsSerializer
    lookup_url_kwarg = "account_id"
    filter_backends = []
    http_method_names = ["get", "post", "patch", "head", "options"]

    def answer(self, account):
        account.refresh_from_db()
        return Response(AutomationSettingsSerializer(services.settings_for(account)).data)

    def retrieve(self, request, *args, **kwargs):
        return self.answer(self.get_object())

    @extend_schema(summary="Change automation settings", request=SettingsPatchSerializer,
                   responses={200: AutomationSettingsSerializer, 400: BAD_SETTINGS})
    def partial_update(self, request, *args, **kwargs):
        account = self.get_object()
        body = SettingsPatchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.update_settings(account, dict(body.validated_data), by_user=request.user)
        return self.answer(account)

    @extend_schema(summary="Pause every automation of the account", request=None,
                   responses={200: AutomationSettingsSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request, account_id=None):
        account = self.get_object()
        services.pause(account, by_user=request.user)
        return self.answer(account)

    @extend_schema(summary="Resume the account's automation", request=None, responses={
        200: AutomationSettingsSerializer,
        400: OpenApiResponse(ERROR_ENVELOPE, description="VALIDATION_ERROR: Vinted blocks the account (cooling "
                                                         "down or blocked); resume once it is active again.")})
    @action(detail=True, methods=["post"])
    def resume(self, request, account_id=None):
        account = self.get_object()
        services.resume(account, by_user=request.user)
        return self.answer(account)

    @extend_schema(summary="What automation would do next", parameters=[UpcomingQuerySerializer],
        responses={200: PlannedSerializer(many=True), 400: OpenApiResponse(
            ERROR_ENVELOPE, description=f"VALIDATION_ERROR: `hours` outside 1..{services.UPCOMING_HOURS_MAX}.")})
    @action(detail=True, methods=["get"], pagination_class=None)
    def upcoming(self, request, account_id=None):
        account = self.get_object()
        hours = query_values(UpcomingQuerySerializer, request)["hours"]
        tz = services.zone(services.settings_for(account))
        planned = services.upcoming(account, hours=hours)
        rows = [{"at": item.at, "local_time": item.at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z"),
                 "feature": item.feature, "what": item.what,
                 "listing": getattr(item.listing, "pk", None), "conversation": getattr(item.conversation, "pk", None)}
                for item in planned]
        return Response(PlannedSerializer(rows, many=True).data)


@extend_schema_view(list=extend_schema(summary="Automation history", description="Newest first; filter by "
                                       "account, feature, outcome."),
                    retrieve=extend_schema(summary="One automation event"))
class AutomationEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    queryset = AutomationEvent.objects.all()
    serializer_class = AutomationEventSerializer
    filterset_class = AutomationEventFilterSet


def register(router) -> None:
    """Add this module's viewsets to the API router (lofisite.api_urls)."""
    router.register("vinted/automation", AutomationViewSet, basename="vinted-automation")
    router.register("vinted/automation-events", AutomationEventViewSet, basename="vinted-automation-event")
