"""/api/v1/vinted/conversations/: the Vinted inbox, owner-only like the pages (each seller sees
their own conversations, admins all; someone else's is a 404).

- `GET /` conversations (filter `account`, `unread`), latest message first; `GET /{id}/` one with
  its messages, oldest first. Reading through the API marks nothing read:
  `POST /{id}/read/` does (the page does it on opening).
- `POST /{id}/reply/` {"body"} -> 202 with the reply (status "sending"); a job sends it to Vinted
  (a mutating action: the account's hourly write limit and waits apply) and its status becomes
  "sent" or "failed" (with `error`). 400 VALIDATION_ERROR for an empty or too long body or an
  account that cannot write now; 429 WRITE_LIMIT_REACHED when the account made its writes of the
  last hour (details.retry_after_seconds).
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.viewsets import BaseViewSet
from lofisite.errors import APIError
from lofisite.fields import StrictCharField
from lofisite.openapi import ERROR_SCHEMA

from ..forms_inbox import ConversationFilterSet
from ..models import Conversation, Message
from ..services import inbox as services

ERROR_ENVELOPE = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "vinted_id", "kind", "body", "sender", "is_mine", "status", "error", "sent_at", "read_at"]
        read_only_fields = fields


class ConversationSerializer(serializers.ModelSerializer):
    account_label = serializers.CharField(source="account.label", read_only=True)

    class Meta:
        model = Conversation
        fields = ["id", "account", "account_label", "vinted_id", "subject", "other_user", "vinted_item_id",
                  "listing", "unread_count", "last_message_at", "synced_at"]
        read_only_fields = fields


class ConversationDetailSerializer(ConversationSerializer):
    messages = MessageSerializer(many=True, read_only=True, help_text="Oldest first.")

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "messages"]
        read_only_fields = fields


class ReplySerializer(serializers.Serializer):
    body = StrictCharField(max_length=services.REPLY_MAX_CHARS, trim_whitespace=True,
                                 help_text="The message to the buyer.")


class ReadSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="Messages that were unread (0 when you are not the account's owner).")


@extend_schema_view(
    list=extend_schema(summary="List conversations", description="Latest message first; filter by account."),
    retrieve=extend_schema(summary="A conversation with its messages"),
)
class ConversationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    queryset = Conversation.objects.select_related("account").order_by("-last_message_at", "-id")
    serializer_class = ConversationSerializer
    filterset_class = ConversationFilterSet

    def get_queryset(self):
        queryset = super().get_queryset()
        return queryset.prefetch_related("messages") if self.action == "retrieve" else queryset

    def get_serializer_class(self):
        return ConversationDetailSerializer if self.action == "retrieve" else ConversationSerializer

    @extend_schema(summary="Reply to the buyer (sent by a background job)", request=ReplySerializer, responses={
        202: MessageSerializer,
        400: OpenApiResponse(ERROR_ENVELOPE, description="VALIDATION_ERROR: `details.fields.body`, or the account "
                                                         "cannot write now (needs login, cooling down, blocked)."),
        429: OpenApiResponse(ERROR_ENVELOPE, description="WRITE_LIMIT_REACHED: the account made its writes of the "
                                                         "last hour; details.retry_after_seconds."),
    })
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        conversation = self.get_object()
        body = ReplySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            message = services.send_reply(conversation, body.validated_data["body"], by_user=request.user)
        except services.ReplyLimitReached as exc:
            raise APIError("WRITE_LIMIT_REACHED", exc.message, status.HTTP_429_TOO_MANY_REQUESTS,
                           details={"retry_after_seconds": exc.retry_after}) from exc
        return Response(MessageSerializer(message).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="Mark the buyer's messages read", request=None, responses={200: ReadSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        marked = services.mark_read(self.get_object(), request.user)
        return Response(ReadSerializer({"marked": marked}).data)
