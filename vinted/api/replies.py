"""/api/v1/vinted/suggestions/: reply suggestions (part 3), owner-only like the conversations
(each seller sees their own, admins all; someone else's is a 404).

- `GET /` suggestions, newest first (filters `account`, `conversation`, `status`, `intent`);
  `GET /{id}/` one.
- `POST /{id}/send/` {"body"?} -> 202 with the suggestion (status "sent", `reply` the message a job
  sends to Vinted, as `POST conversations/{id}/reply/` does): without `body` the draft as it is,
  with one the edited text. 400 VALIDATION_ERROR for an empty or too long body, contact details or
  other forbidden phrases (details.fields.body), a suggestion already sent or discarded, or an
  account that cannot write now; 429 WRITE_LIMIT_REACHED beyond the account's hourly writes.
- `POST /{id}/discard/` -> 200 with the suggestion (status "discarded"); 400 if it is decided already.
"""

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.viewsets import BaseViewSet
from accounts.roles import Action
from lofisite.errors import APIError
from lofisite.fields import StrictCharField
from lofisite.openapi import ERROR_SCHEMA

from ..choices import ReplyIntent, SuggestionStatus
from ..forms_inbox import visible_accounts
from ..models import Conversation, ReplySuggestion
from ..services import inbox
from ..services import replies as services
from .inbox import MessageSerializer

ERROR_ENVELOPE = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
NOT_AUTHENTICATED = OpenApiResponse(ERROR_ENVELOPE, description="NOT_AUTHENTICATED.")
PERMISSION_DENIED = OpenApiResponse(ERROR_ENVELOPE, description="PERMISSION_DENIED: your role may not change "
                                                                "Vinted conversations.")
NOT_FOUND = OpenApiResponse(ERROR_ENVELOPE, description="NOT_FOUND: no such suggestion you can see.")


def visible_conversations(request):
    if request is None:
        return Conversation.objects.none()
    return Conversation.objects.restrict(request.user, Action.VIEW)


class SuggestionFilterSet(django_filters.FilterSet):
    account = django_filters.ModelChoiceFilter(queryset=visible_accounts, field_name="conversation__account",
                                               label="Account")
    conversation = django_filters.ModelChoiceFilter(queryset=visible_conversations, label="Conversation")
    status = django_filters.ChoiceFilter(choices=SuggestionStatus.choices)
    intent = django_filters.ChoiceFilter(choices=ReplyIntent.choices)

    class Meta:
        model = ReplySuggestion
        fields = ["account", "conversation", "status", "intent"]


class SuggestionSerializer(serializers.ModelSerializer):
    account = serializers.IntegerField(source="conversation.account_id", read_only=True)
    message = MessageSerializer(read_only=True, help_text="The buyer's message it answers.")
    reply = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True,
                                               help_text="The message it became once sent.")
    classified_by = serializers.ChoiceField(choices=[("ai", "ai"), ("rules", "rules")], read_only=True)

    class Meta:
        model = ReplySuggestion
        fields = ["id", "account", "conversation", "message", "intent", "offer_amount", "classified_by", "body",
                  "status", "send_at", "reply", "error", "decided_by", "created_at", "decided_at"]
        read_only_fields = fields


class SendSerializer(serializers.Serializer):
    body = StrictCharField(required=False, max_length=inbox.REPLY_MAX_CHARS, trim_whitespace=True,
                           allow_blank=True, help_text="The edited reply; without it the suggestion as drafted.")


@extend_schema_view(
    list=extend_schema(summary="List reply suggestions", description="Newest first; filter by account, "
                                                                     "conversation, status, intent.",
                       responses={200: SuggestionSerializer, 400: OpenApiResponse(
                           ERROR_ENVELOPE, description="VALIDATION_ERROR: a filter value is not a choice."),
                                  401: NOT_AUTHENTICATED}),
    retrieve=extend_schema(summary="A reply suggestion", responses={200: SuggestionSerializer,
                                                                    401: NOT_AUTHENTICATED, 404: NOT_FOUND}),
)
class SuggestionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    queryset = (ReplySuggestion.objects.select_related("conversation__account", "message")
                .order_by("-created_at", "-id"))
    serializer_class = SuggestionSerializer
    filterset_class = SuggestionFilterSet

    @extend_schema(summary="Send the suggested (or edited) reply to the buyer", request=SendSerializer, responses={
        202: SuggestionSerializer,
        400: OpenApiResponse(ERROR_ENVELOPE, description="VALIDATION_ERROR: `details.fields.body` (empty, too long, "
                                                         "contact details), the suggestion is decided already, or "
                                                         "the account cannot write now."),
        401: NOT_AUTHENTICATED, 403: PERMISSION_DENIED, 404: NOT_FOUND,
        429: OpenApiResponse(ERROR_ENVELOPE, description="WRITE_LIMIT_REACHED: the account made its writes of the "
                                                         "last hour; details.retry_after_seconds."),
    })
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        suggestion = self.get_object()
        data = SendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            suggestion = services.send(suggestion, by_user=request.user, body=data.validated_data.get("body"))
        except inbox.ReplyLimitReached as exc:
            raise APIError("WRITE_LIMIT_REACHED", exc.message, status.HTTP_429_TOO_MANY_REQUESTS,
                           details={"retry_after_seconds": exc.retry_after}) from exc
        return Response(SuggestionSerializer(self.get_queryset().get(pk=suggestion.pk)).data,
                        status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="Discard the suggestion", request=None, responses={
        200: SuggestionSerializer,
        400: OpenApiResponse(ERROR_ENVELOPE, description="VALIDATION_ERROR: the suggestion is decided already."),
        401: NOT_AUTHENTICATED, 403: PERMISSION_DENIED, 404: NOT_FOUND,
    })
    @action(detail=True, methods=["post"])
    def discard(self, request, pk=None):
        suggestion = services.discard(self.get_object(), by_user=request.user)
        return Response(SuggestionSerializer(self.get_queryset().get(pk=suggestion.pk)).data)


def register(router) -> None:
    """Add this module's viewsets to the API router (lofisite.api_urls)."""
    router.register("vinted/suggestions", SuggestionViewSet, basename="vinted-suggestion")
