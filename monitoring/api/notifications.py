"""Notification preferences over the API: each user reads and changes their own, whatever the role.

`/api/v1/notifications/preferences/me/` is the caller's own row (made with the defaults on first use);
`/{id}/` names one row (admins see everyone's, others only theirs: someone else's is a 404). The webhook
secret is write-only: answers say only whether one is saved (`has_webhook_secret`). Changing one's own
preferences needs only the `read` scope (`owner_scope`), so a viewer's token may do it too.
`POST .../me/test/` queues a test notification to the caller's channels.
The delivery log is admin-only and on the HTML page (monitoring:notification-deliveries).
"""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.viewsets import BaseViewSet
from lofisite.errors import drf_validation_error

from .. import notifications
from ..models import Delivery, NotificationPreference


class NotificationPreferenceSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    kinds = serializers.ListField(child=serializers.ChoiceField(choices=[]), required=False,
                                  help_text="Keys of the events you want (see `available_kinds`).")
    webhook_url = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                        help_text="http(s) URL we POST signed JSON to; empty: no webhook.")
    # The service's minimum length, stated in the schema too (empty: keep the saved secret).
    webhook_secret = serializers.CharField(min_length=notifications.MIN_SECRET_LENGTH, max_length=200, required=False,
                                           allow_blank=True, write_only=True,
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
    @action(detail=True, methods=["post"])
    def test(self, request, *args, **kwargs):
        preference = self.get_object()
        deliveries = notifications.send_test(preference.user)
        return Response(DeliverySerializer(deliveries, many=True).data, status=status.HTTP_202_ACCEPTED)
