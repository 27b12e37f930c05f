"""The Vinted listings and catalogue API: thin. The base viewset restricts the queryset once per
request (operators see and change only their own listings, viewers read all and change nothing,
admins everything; another operator's listing is a 404); every change goes through
vinted.services.listings.

Choices where the issue is silent:

- `GET .../{id}/validate/` answers 200 with `{ready, errors, warnings}` (a question, not a change:
  viewers may ask it too); `POST .../{id}/mark_ready/` answers the listing, or 400 with the envelope
  code NOT_READY and `details.fields` (field -> messages, the same shape as VALIDATION_ERROR) plus
  `details.warnings`.
- Edits are PATCH (any subset of fields); there is no PUT.
- DELETE of a listing that was sold, is on Vinted or is busy publishing answers 409 CONFLICT.
- `POST .../bulk/` answers 200 with per-listing results; one refusal never blocks the others.
"""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.viewsets import BaseViewSet
from accounts.roles import Action
from lofisite.errors import APIError

from .. import validation
from ..filtersets import ListingFilterSet
from ..models import Brand, Category, Colour, Listing, Size
from ..services import listings as services
from .draft import ListingDraftActions
from .publishing import ListingPublishingActions
from .relist import ListingRelistActions
from .serializers import (
    BulkActionSerializer,
    BulkResultSerializer,
    CatalogueSerializer,
    ListingSerializer,
    ListingWriteSerializer,
    MarkSoldSerializer,
    ValidationReportSerializer,
)

STATE_ERROR = OpenApiResponse(description="VALIDATION_ERROR: the listing's status does not allow this now.")
NOT_READY = OpenApiResponse(description=(
    "NOT_READY: the validator's problems, `details.fields` (field -> messages) and `details.warnings`; "
    "or VALIDATION_ERROR when the listing is not a draft."))


def listing_answer(view, listing, status_code=status.HTTP_200_OK):
    """A listing read again through the user's restricted queryset (what the list shows)."""
    listing = view.get_queryset().get(pk=listing.pk)
    data = ListingSerializer(listing, context=view.get_serializer_context()).data
    headers = {"Location": data["url"]} if status_code == status.HTTP_201_CREATED else None
    return Response(data, status=status_code, headers=headers)


@extend_schema_view(
    list=extend_schema(summary="List listings", description="Newest first; filter like the listings board."),
    retrieve=extend_schema(summary="A listing"),
    destroy=extend_schema(summary="Delete a listing and its photos", responses={
        204: OpenApiResponse(description="Deleted."),
        409: OpenApiResponse(description="CONFLICT: sold, on Vinted or busy publishing; archive it instead.")}),
)
class ListingViewSet(ListingDraftActions, ListingPublishingActions, ListingRelistActions, mixins.ListModelMixin,
                     mixins.RetrieveModelMixin, mixins.DestroyModelMixin, BaseViewSet):
    """Vinted listings: drafts with any subset of fields, the ready validator, archive, sold, bulk actions."""

    queryset = (Listing.objects.select_related("owner").prefetch_related("colours"))
    serializer_class = ListingSerializer
    filterset_class = ListingFilterSet
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def initial(self, request, *args, **kwargs):
        # The bulk action changes listings (POST to a list is otherwise "add").
        if self.action == "bulk":
            self.permission_action = Action.CHANGE
        super().initial(request, *args, **kwargs)

    @extend_schema(summary="Create a draft", request=ListingWriteSerializer, responses={201: ListingSerializer})
    def create(self, request, *args, **kwargs):
        serializer = ListingWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        listing = services.create_listing(request.user, **serializer.validated_data)
        return listing_answer(self, listing, status.HTTP_201_CREATED)

    @extend_schema(summary="Edit some fields", request=ListingWriteSerializer,
                   responses={200: ListingSerializer, 400: OpenApiResponse(
                       description="VALIDATION_ERROR per field; or the content of a listing past 'ready' "
                                   "(only its inventory fields may change).")})
    def partial_update(self, request, *args, **kwargs):
        listing = self.get_object()
        serializer = ListingWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return listing_answer(self, services.update_listing(request.user, listing, **serializer.validated_data))

    def perform_destroy(self, instance):
        try:
            services.delete_listing(self.request.user, instance)
        except ValidationError as exc:
            raise APIError("CONFLICT", " ".join(exc.messages), status.HTTP_409_CONFLICT) from exc

    @extend_schema(summary="What the ready validator says", responses={200: ValidationReportSerializer})
    @action(detail=True, methods=["get"])
    def validate(self, request, pk=None):
        listing = self.get_object()
        report = validation.check_ready(services.ready_queryset().get(pk=listing.pk))
        return Response(ValidationReportSerializer(
            {"ready": report.ok, "errors": report.errors, "warnings": report.warnings}).data)

    @extend_schema(summary="Mark ready (runs the validator)", request=None,
                   responses={200: ListingSerializer, 400: NOT_READY})
    @action(detail=True, methods=["post"])
    def mark_ready(self, request, pk=None):
        listing = self.get_object()
        try:
            services.mark_ready(request.user, listing)
        except services.ListingNotReady as exc:
            raise APIError("NOT_READY", "The listing is not ready: fix the fields named in details.fields.",
                           details={"fields": exc.report.errors, "warnings": exc.report.warnings}) from exc
        return listing_answer(self, listing)

    @extend_schema(summary="Archive", request=None, responses={200: ListingSerializer, 400: STATE_ERROR})
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        return listing_answer(self, services.archive_listing(request.user, self.get_object()))

    @extend_schema(summary="Restore an archived listing as a draft", request=None,
                   responses={200: ListingSerializer, 400: STATE_ERROR})
    @action(detail=True, methods=["post"])
    def unarchive(self, request, pk=None):
        return listing_answer(self, services.unarchive_listing(request.user, self.get_object()))

    @extend_schema(summary="Mark sold by hand", request=MarkSoldSerializer,
                   responses={200: ListingSerializer, 400: OpenApiResponse(
                       description="VALIDATION_ERROR per field, or already sold / busy publishing.")})
    @action(detail=True, methods=["post"])
    def sold(self, request, pk=None):
        listing = self.get_object()
        serializer = MarkSoldSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return listing_answer(self, services.mark_sold(request.user, listing, **serializer.validated_data))

    @extend_schema(summary="Archive, mark ready or re-draft many listings", request=BulkActionSerializer,
                   responses={200: BulkResultSerializer})
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        serializer = BulkActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.bulk_action(request.user, **serializer.validated_data)
        return Response(BulkResultSerializer({
            "action": result.action, "succeeded": result.succeeded,
            "failed": {str(pk): reason for pk, reason in sorted(result.failed.items())},
            "batch": getattr(result.batch, "pk", None)}).data)


class CatalogueViewSet(BaseViewSet):
    """Vinted's ids for categories (with parent and size group), brands, sizes and colours, for every role."""

    queryset = Category.objects.all()
    pagination_class = None
    filter_backends = []
    serializer_class = CatalogueSerializer

    @extend_schema(summary="The whole catalogue", responses={200: CatalogueSerializer})
    def list(self, request):
        return Response(CatalogueSerializer({
            "categories": self.get_queryset().order_by("id"),
            "brands": Brand.objects.restrict(request.user).order_by("name"),
            "sizes": Size.objects.restrict(request.user),
            "colours": Colour.objects.restrict(request.user).order_by("name"),
        }).data)
