"""/api/v1/vinted/batches/: bulk AI drafts (one background job per batch, live progress).

Create one from listing ids (`POST`), follow it (`GET .../{id}/`: done/failed counts and one
result per listing), or draft the items of a bulk upload batch again (`POST .../{id}/draft/`).
Operators see and start only their own; viewers read all; admins everything."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.viewsets import BaseViewSet
from accounts.roles import Action

from ..drafting import DRAFT_FIELDS
from ..models import DraftBatch, Listing
from ..services import drafts
from .draft import ERROR_ENVELOPE

MAX_LISTINGS = 500


class BatchItemSerializer(serializers.Serializer):
    status = serializers.ChoiceField(list(drafts.ITEM_STATUSES))
    message = serializers.CharField(required=False, help_text="What the draft did, or why it failed.")
    filled = serializers.ListField(child=serializers.ChoiceField(list(DRAFT_FIELDS)), required=False)
    rejected = serializers.DictField(child=serializers.CharField(), required=False)
    needs_user = serializers.ListField(child=serializers.ChoiceField(list(DRAFT_FIELDS)), required=False)
    cost_usd = serializers.CharField(required=False, help_text="USD, a decimal string.")
    offline = serializers.BooleanField(required=False)


class DraftBatchSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    progress = serializers.SerializerMethodField(help_text="Finished items (drafted or failed), 0 to 1.")
    results = serializers.DictField(child=BatchItemSerializer(), help_text="Per listing id.")

    class Meta:
        model = DraftBatch
        fields = ["id", "owner", "status", "total", "done", "failed", "progress", "results", "error",
                  "created_at", "finished_at"]
        read_only_fields = fields

    def get_progress(self, batch) -> float:
        return drafts.batch_progress(batch)


class BatchCreateSerializer(serializers.Serializer):
    listings = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
                                     min_length=1, max_length=MAX_LISTINGS,
                                     help_text="Ids of your listings to draft (each needs a photo).")

    def validate_listings(self, ids):
        ids = list(dict.fromkeys(ids))
        user = self.context["request"].user
        found = Listing.objects.restrict(user, Action.CHANGE).in_bulk(ids)
        missing = [pk for pk in ids if pk not in found]
        if missing:
            raise serializers.ValidationError(
                f"No listing of yours with id {', '.join(map(str, missing))}.")
        return [found[pk] for pk in ids]


@extend_schema_view(list=extend_schema(summary="List bulk draft batches"),
                    retrieve=extend_schema(summary="A batch with its progress and per-listing results"))
class DraftBatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    queryset = DraftBatch.objects.select_related("owner")
    serializer_class = DraftBatchSerializer

    @extend_schema(summary="Draft listings with AI in the background", request=BatchCreateSerializer,
                   responses={202: DraftBatchSerializer})
    def create(self, request):
        body = BatchCreateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        batch = drafts.start_batch(request.user, body.validated_data["listings"])
        return Response(DraftBatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="Draft every item of this (bulk upload) batch again", request=None,
                   responses={202: DraftBatchSerializer,
                              400: OpenApiResponse(ERROR_ENVELOPE, description="VALIDATION_ERROR: no items yet, "
                                                                               "or the batch is being drafted.")})
    @action(detail=True, methods=["post"])
    def draft(self, request, pk=None):
        batch = drafts.queue_batch(request.user, self.get_object())
        return Response(DraftBatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED)
