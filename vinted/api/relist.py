"""The listing endpoint's `relist` action (a mixin of vinted.api.views.ListingViewSet; `sold` and
`archive` are the viewset's own). Thin: vinted.services.relist decides.

`POST /api/v1/vinted/listings/{id}/relist/` `{"delete_old": false}` answers 201 with the new draft
(`Location` is its URL, `relisted_from` the old listing's id); with `delete_old` the answer's
`delete_job` is the id of the background run that deletes the old item on Vinted. 400 VALIDATION_ERROR
when the listing cannot be relisted (its state) or `delete_old` cannot be honoured (field
`delete_old`); 403 without the right to add or change listings; 404 for a listing the user cannot see.

`GET /api/v1/vinted/listings/{id}/relist/status/` follows it, for whoever may see the listing: whether it
may be relisted now, the listing it was relisted from, its relists, and the deletion on Vinted of this
listing's item (the job's status and Vinted's reason when it failed), as the listing page shows them.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from lofisite.openapi import ERROR_SCHEMA
from monitoring.choices import JobStatus

from ..services import relist as services
from .serializers import ListingSerializer

ERROR_ENVELOPE = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}


class RelistRequestSerializer(serializers.Serializer):
    delete_old = serializers.BooleanField(
        default=False, help_text="Also delete the old item on Vinted (a background job; the old listing is "
                                 "archived once Vinted confirms, unless it is sold).")


class RelistedListingSerializer(ListingSerializer):
    relisted_from = serializers.PrimaryKeyRelatedField(read_only=True, help_text="The listing this one duplicates.")
    delete_job = serializers.SerializerMethodField(
        help_text="The background run deleting the old item on Vinted; null when none was asked.")

    class Meta(ListingSerializer.Meta):
        fields = [*ListingSerializer.Meta.fields, "relisted_from", "delete_job"]
        read_only_fields = fields

    def get_delete_job(self, listing) -> int | None:
        run = self.context.get("delete_job")
        return getattr(run, "pk", None)


class DeletionSerializer(serializers.Serializer):
    job = serializers.IntegerField(source="pk")
    status = serializers.ChoiceField(JobStatus.choices, help_text="queued, running, retrying: under way.")
    attempt = serializers.IntegerField()
    max_attempts = serializers.IntegerField()
    error = serializers.CharField(help_text="Why it failed (Vinted's reason); empty otherwise.")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class RelistStatusSerializer(serializers.Serializer):
    listing = serializers.IntegerField(source="listing.pk")
    can_relist = serializers.BooleanField(help_text="Sold or stale now (your permission aside).")
    stale_days = serializers.IntegerField(help_text="VINTED_STALE_DAYS: a listing published longer ago is stale.")
    relisted_from = serializers.IntegerField(source="source.pk", allow_null=True, default=None)
    relists = serializers.ListField(child=serializers.IntegerField(), help_text="Drafts made from this listing.")
    deletion = DeletionSerializer(allow_null=True, help_text="Deleting this listing's item on Vinted; null if never "
                                                             "asked.")


class ListingRelistActions:
    """Mixed into vinted.api.views.ListingViewSet: POST /vinted/listings/{id}/relist/."""

    @extend_schema(
        summary="Relist: a new draft copy (photos reused), optionally deleting the old item on Vinted",
        description="Allowed for a sold listing and a stale one (archived, or published more than "
                    "VINTED_STALE_DAYS days ago). The draft copies the content, catalogue ids, colours, hashtags "
                    "and inventory fields (not the sale or the Vinted ids), reuses the photos in order and sets "
                    "`relisted_from`. With `delete_old` a background job deletes the old item on Vinted and "
                    "archives the old listing; if Vinted refuses (a block, an expired session) that job fails "
                    "and the draft stays.",
        request=RelistRequestSerializer,
        responses={
            201: RelistedListingSerializer,
            400: OpenApiResponse(ERROR_ENVELOPE, description="VALIDATION_ERROR: the listing is neither sold nor "
                                                             "stale, or `delete_old` cannot be done (not on "
                                                             "Vinted, or not your Vinted account)."),
            401: OpenApiResponse(ERROR_ENVELOPE, description="NOT_AUTHENTICATED."),
            403: OpenApiResponse(ERROR_ENVELOPE, description="PERMISSION_DENIED: your role may not add or change "
                                                             "listings."),
            404: OpenApiResponse(ERROR_ENVELOPE, description="NOT_FOUND: no such listing you can see."),
        },
    )
    @action(detail=True, methods=["post"])
    def relist(self, request, pk=None):
        listing = self.get_object()
        options = RelistRequestSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        new = services.relist(listing, by_user=request.user, delete_old=options.validated_data["delete_old"])
        run = services.deletion_job(listing) if options.validated_data["delete_old"] else None
        new = self.get_queryset().get(pk=new.pk)
        data = RelistedListingSerializer(new, context={**self.get_serializer_context(), "delete_job": run}).data
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": data["url"]})

    @extend_schema(
        summary="Relist state: can it be relisted, its relists, the deletion of its item on Vinted",
        responses={200: RelistStatusSerializer,
                   401: OpenApiResponse(ERROR_ENVELOPE, description="NOT_AUTHENTICATED."),
                   403: OpenApiResponse(ERROR_ENVELOPE, description="PERMISSION_DENIED."),
                   404: OpenApiResponse(ERROR_ENVELOPE, description="NOT_FOUND: no such listing you can see.")},
    )
    @action(detail=True, methods=["get"], url_path="relist/status", url_name="relist-status")
    def relist_status(self, request, pk=None):
        listing = self.get_object()
        state = services.panel_state(request.user, listing)
        return Response(RelistStatusSerializer({
            "listing": listing, "can_relist": services.can_relist(listing), "stale_days": state["stale_days"],
            "source": state["source"], "relists": [copy.pk for copy in state["relists"]],
            "deletion": state["deletion"]}).data)
