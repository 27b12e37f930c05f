"""API of Vinted automation (part 3): reposts, under /api/v1/vinted/. Owner-only like the pages (each
seller sees their own accounts' reposts, admins all; someone else's is a 404).

- `GET /reposts/` (filter `account`, `status`), `GET /reposts/{id}/`.
- `POST /reposts/{id}/cancel/`: a scheduled repost is cancelled (400 VALIDATION_ERROR otherwise).
- `POST /reposts/{id}/retry/`: a failed repost whose new listing is live deletes the old item again.
- `GET /reposts/preview/?account=ID`: which items would be reposted and when in the next `days` (1-14,
  default 7); also while reposts are off (`enabled` false, `note` says why). Writes nothing.
"""

import django_filters
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.viewsets import BaseViewSet
from accounts.roles import Action
from lofisite.errors import APIError
from lofisite.openapi import ERROR_SCHEMA

from ..choices import RepostStatus
from ..forms_inbox import visible_accounts
from ..models import Repost, VintedAccount
from ..services import reposts as services
from .automation import query_values, whole_number

ERROR_ENVELOPE = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
PREVIEW_MAX_DAYS = 14


class RepostFilterSet(django_filters.FilterSet):
    account = django_filters.ModelChoiceFilter(queryset=visible_accounts, label="Account")
    status = django_filters.ChoiceFilter(choices=RepostStatus.choices)

    class Meta:
        model = Repost
        fields = ["account", "status"]


class RepostSerializer(serializers.ModelSerializer):
    listing_title = serializers.CharField(source="listing.title", read_only=True)
    can_retry = serializers.SerializerMethodField(help_text="Failed while deleting the old item: a retry only "
                                                            "deletes it.")

    class Meta:
        model = Repost
        fields = ["id", "account", "listing", "listing_title", "new_listing", "status", "scheduled_for", "error",
                  "created_at", "updated_at", "finished_at", "can_retry"]
        read_only_fields = fields

    def get_can_retry(self, repost) -> bool:
        return services.can_retry(repost)


class PlannedSlotSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    listing = serializers.IntegerField(source="listing.pk")
    listing_title = serializers.CharField(source="listing.title")
    stale_at = serializers.DateTimeField(help_text="Since when the listing is stale.")


class PreviewSerializer(serializers.Serializer):
    account = serializers.IntegerField(source="account.pk")
    enabled = serializers.BooleanField(help_text="Reposts are on and may run now.")
    note = serializers.CharField(help_text="Why nothing would run (off, paused, not active), or dry run.")
    days = serializers.IntegerField()
    time_zone = serializers.CharField()
    per_day = serializers.IntegerField()
    per_hour = serializers.IntegerField()
    scheduled = RepostSerializer(many=True, help_text="Reposts already scheduled within the horizon.")
    planned = PlannedSlotSerializer(many=True, help_text="What would be scheduled next, soonest first.")


class PreviewQuerySerializer(serializers.Serializer):
    account = whole_number(1, 2**63 - 1, required=True)
    days = whole_number(1, PREVIEW_MAX_DAYS, default=7)


@extend_schema_view(
    list=extend_schema(summary="List reposts", description="Planned first; filter by account and status."),
    retrieve=extend_schema(summary="A repost"),
)
class RepostViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    queryset = Repost.objects.select_related("listing", "new_listing").order_by("-scheduled_for", "-id")
    serializer_class = RepostSerializer
    filterset_class = RepostFilterSet

    @extend_schema(summary="Cancel a scheduled repost", request=None, responses={
        200: RepostSerializer,
        400: OpenApiResponse(ERROR_ENVELOPE, description="VALIDATION_ERROR: only a scheduled repost can be "
                                                         "cancelled."),
    })
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        repost = services.cancel(self.get_object(), by_user=request.user)
        return Response(RepostSerializer(repost).data)

    @extend_schema(summary="Retry deleting the old item of a failed repost", request=None, responses={
        202: RepostSerializer,
        400: OpenApiResponse(ERROR_ENVELOPE, description="VALIDATION_ERROR: only a failed repost whose new listing "
                                                         "is live can be retried; or automation may not act now."),
    })
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        repost = services.retry(self.get_object(), by_user=request.user)
        return Response(RepostSerializer(repost).data, status=202)

    @extend_schema(summary="Preview: which items would be reposted and when", parameters=[
        OpenApiParameter("account", int, required=True, description="The Vinted account."),
        OpenApiParameter("days", int, required=False, description=f"Horizon in days (1-{PREVIEW_MAX_DAYS}, "
                                                                   "default 7)."),
    ], responses={
        200: PreviewSerializer,
        400: OpenApiResponse(ERROR_ENVELOPE, description="VALIDATION_ERROR: `account` missing or not a number, "
                                                         "`days` out of range."),
        404: OpenApiResponse(ERROR_ENVELOPE, description="NOT_FOUND: no such account among yours."),
    })
    @action(detail=False, methods=["get"])
    def preview(self, request):
        query = query_values(PreviewQuerySerializer, request)
        account = VintedAccount.objects.restrict(request.user, Action.VIEW).filter(pk=query["account"]).first()
        if account is None:
            raise APIError("NOT_FOUND", "No such Vinted account among yours.", 404)
        return Response(PreviewSerializer(services.preview(account, days=query["days"])).data)


def register(router) -> None:
    """Add this module's viewsets to the API router (lofisite.api_urls)."""
    router.register("vinted/reposts", RepostViewSet, basename="vinted-repost")
