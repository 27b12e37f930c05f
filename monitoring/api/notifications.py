"""Notification preferences over the API: each user reads and changes their own, whatever the role.

`/api/v1/notifications/preferences/me/` is the caller's own row (made with the defaults on first use);
`/{id}/` names one row (admins see everyone's, others only theirs: someone else's is a 404). The webhook
secret is write-only: answers say only whether one is saved (`has_webhook_secret`). Changing one's own
preferences needs only the `read` scope (`owner_scope`), so a viewer's token may do it too.
`POST .../me/test/` queues a test notification to the caller's channels.
The delivery log is admin-only and on the HTML page (monitoring:notification-deliveries).
"""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.viewsets import BaseViewSet
from lofisite.errors import drf_validation_error
from lofisite.openapi import NO_NUL

from .. import notifications
from ..models import Delivery, NotificationPreference

SECRET_MAX_LENGTH = 200


# The secret is kept exactly as sent (not trimmed: a key is any characters), so the schema states the
# service's rule as it is: empty (keep the saved one), or 16 to 200 characters without NUL.
@extend_schema_field({"oneOf": [
    {"type": "string", "minLength": notifications.MIN_SECRET_LENGTH, "maxLength": SECRET_MAX_LENGTH, "pattern": NO_NUL},
    {"type": "string", "maxLength": 0},
]})
class WebhookSecretField(serializers.CharField):
    pass


class NotificationPreferenceSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    kinds = serializers.ListField(child=serializers.ChoiceField(choices=[]), required=False,
                                  help_text="Keys of the events you want (see `available_kinds`).")
    webhook_url = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                        help_text="http(s) URL we POST signed JSON to; empty: no webhook.")
    webhook_secret = WebhookSecretField(min_length=notifications.MIN_SECRET_LENGTH, max_length=SECRET_MAX_LENGTH,
                                        required=False, allow_blank=True, write_only=True, trim_whitespace=False,
                                        help_text="HMAC-SHA256 key, 16+ characters; empty keeps the saved one.")
    has_webhook_secret = serializers.SerializerMethodField()
    available_kinds = serializers.SerializerMethodField()

    class Meta:
        model = NotificationPreference
        fields = ["id", "username", "email_enabled", "kinds", "webhook_url", "webhook_secret", "has_webhook_secret",
                  "available_kinds", "updated_at"]
        read_only_fields = ["id", "username", "updated_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The kinds are settings.NOTIFICATION_EVENTS, read when the serializer is made (the schema's enum too).
        self.fields["kinds"].child.choices = list(notifications.kinds())

    def get_has_webhook_secret(self, preference) -> bool:
        return bool(preference.webhook_secret)

    def get_available_kinds(self, preference) -> dict[str, str]:
        return notifications.kinds()


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = ["id", "kind", "title", "channel", "destination", "status", "attempts", "created_at"]


@extend_schema_view(
    list=extend_schema(summary="List notification preferences", description="Yours; an admin sees everyone's."),
    retrieve=extend_schema(summary="Notification preferences", description="`me` for your own."),
)
class NotificationPreferenceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                                    BaseViewSet):
    queryset = NotificationPreference.objects.select_related("user").order_by("user__username")
    serializer_class = NotificationPreferenceSerializer
    filter_backends = []
    http_method_names = ["get", "post", "patch", "head", "options"]
    lookup_value_regex = r"me|\d+"
    owner_scope = "read"  # one's own preferences are not a write to the product

    def get_object(self):
        if self.kwargs.get(self.lookup_field) == "me":
            preference = notifications.own_preference(self.request.user)
            self.check_object_permissions(self.request, preference)
            return preference
        return super().get_object()

    @extend_schema(summary="Change notification preferences", description="Only the fields sent change.",
                   responses={200: NotificationPreferenceSerializer})
    def partial_update(self, request, *args, **kwargs):
        preference = self.get_object()
        serializer = self.get_serializer(preference, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            preference = notifications.save_preferences(
                preference.user, email_enabled=data.get("email_enabled"), webhook_url=data.get("webhook_url"),
                webhook_secret=data.get("webhook_secret"), kinds_chosen=data.get("kinds"))
        except ValidationError as exc:
            raise drf_validation_error(exc) from None
        return Response(self.get_serializer(preference).data)

    @extend_schema(summary="Send a test notification", request=None,
                   responses={202: OpenApiResponse(DeliverySerializer(many=True),
                                                   description="The deliveries queued (none: no channel on).")})
    @action(detail=True, methods=["post"], pagination_class=None)  # every delivery queued, not a page
    def test(self, request, *args, **kwargs):
        preference = self.get_object()
        deliveries = notifications.send_test(preference.user)
        return Response(DeliverySerializer(deliveries, many=True).data, status=status.HTTP_202_ACCEPTED)
