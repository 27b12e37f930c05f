"""Photos on the API: upload (multipart, one or more files, an answer per file), list (by listing
or bulk upload), retrieve, delete, reorder, set the cover, and download the stored files with the
client's own token. Access is the queryset rule (vinted.querysets) applied by the base viewset and
the one permission class; every change goes through vinted.services.photos.

An upload answers 201 when at least one file was added (each file's outcome is in `results`) and
400 VALIDATION_ERROR with the same per-file outcomes in `details.files` when none was.
"""

import django_filters
from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.api.viewsets import BaseViewSet
from lofisite.api_files import RANGE_PARAMETERS, ErrorEnvelope, FileNegotiation, file_response, file_responses
from lofisite.errors import APIError
from lofisite.filters import IntegerFilter

from ..models import DraftBatch, Listing, Photo
from ..photos import ACCEPTED_TEXT, STORED_CONTENT_TYPE
from ..services import photos as photo_services

FILE_KINDS = ("original", "display", "thumbnail")
MAX_ID = 2**31 - 1  # the id columns' range


def _absolute(request, view_name, args):
    path = reverse(view_name, args=args)
    return request.build_absolute_uri(path) if request is not None else path


class PhotoFilesSerializer(serializers.Serializer):
    original = serializers.URLField(help_text="The stored original: oriented, all metadata stripped, JPEG.")
    display = serializers.URLField(help_text="A copy of at most 1600 px on its long side.")
    thumbnail = serializers.URLField(help_text="A copy of at most 320 px on its long side.")


class PhotoSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:vinted-photo-detail")
    files = serializers.SerializerMethodField(help_text="Where to fetch the stored files (the same token).")
    is_cover = serializers.SerializerMethodField()

    class Meta:
        model = Photo
        fields = ["id", "url", "listing", "batch", "position", "is_cover", "status", "content_type", "width",
                  "height", "size_bytes", "sha256", "files", "created_at"]
        read_only_fields = fields

    def get_is_cover(self, photo) -> bool:
        return photo.position == 0 and photo.listing_id is not None

    @extend_schema_field(PhotoFilesSerializer)
    def get_files(self, photo):
        request = self.context.get("request")
        return {kind: _absolute(request, "api:vinted-photo-file", [photo.pk, kind]) for kind in FILE_KINDS}


class PhotoUploadSerializer(serializers.Serializer):
    listing = serializers.PrimaryKeyRelatedField(queryset=Listing.objects.none(), required=False,
                                                 help_text="The listing the photos go to (or give `batch`).")
    batch = serializers.PrimaryKeyRelatedField(queryset=DraftBatch.objects.none(), required=False,
                                               help_text="A bulk upload (photos not yet grouped into items).")
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), allow_empty=False,
        max_length=settings.VINTED_PHOTOS_MAX,
        help_text=f"One or more photos ({ACCEPTED_TEXT}, at most {settings.VINTED_PHOTO_MAX_MB} MB each); "
                  "the type is read from the bytes, never the name.")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Only what the user sees: another operator's listing is "does not exist", as a 404 would say.
        self.fields["listing"].queryset = Listing.objects.restrict(user)
        self.fields["batch"].queryset = DraftBatch.objects.restrict(user)

    def validate(self, attrs):
        if ("listing" in attrs) == ("batch" in attrs):
            raise serializers.ValidationError({"listing": "Give a listing or a batch (exactly one)."})
        return attrs


class PhotoResultSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The file's name as sent (shown back only; never stored).")
    ok = serializers.BooleanField()
    error = serializers.CharField(help_text="Why the file was refused; empty when it was added.")
    photo = PhotoSerializer(allow_null=True)


class PhotoUploadResultSerializer(serializers.Serializer):
    results = PhotoResultSerializer(many=True, help_text="One per file, in the order sent.")


class ReorderSerializer(serializers.Serializer):
    listing = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    photos = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
                                   allow_empty=False, max_length=settings.VINTED_PHOTOS_MAX,
                                   help_text="Every photo id of the listing once, in the new order (cover first).")


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(IntegerFilter):
    """A row id: a whole number in the columns' range (a larger one is a 400, not a database overflow)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=MAX_ID, **kwargs)


class PhotoFilterSet(django_filters.FilterSet):
    listing = IdFilter(field_name="listing_id", help_text="Only this listing's photos.")
    batch = IdFilter(field_name="batch_id", help_text="Only this bulk upload's photos.")

    class Meta:
        model = Photo
        fields = ["listing", "batch"]


def _result_data(view, results):
    return [{"name": result.name, "ok": result.ok, "error": result.error,
             "photo": PhotoSerializer(result.photo, context=view.get_serializer_context()).data
             if result.photo else None} for result in results]


@extend_schema_view(
    list=extend_schema(summary="List photos", description="Filter by `listing` or `batch`; in order, cover first."),
    retrieve=extend_schema(summary="A photo with the URLs of its files"),
    destroy=extend_schema(summary="Delete a photo and its files",
                          responses={204: OpenApiResponse(description="Deleted; the others close the gap."),
                                     400: OpenApiResponse(ErrorEnvelope, description="The listing can no longer "
                                                                                     "be changed.")}),
)
class PhotoViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, BaseViewSet):
    """Photos of listings and of bulk uploads."""

    queryset = Photo.objects.select_related("listing")
    serializer_class = PhotoSerializer
    filterset_class = PhotoFilterSet
    parser_classes = [JSONParser, MultiPartParser]

    def get_queryset(self):
        return super().get_queryset().order_by("listing_id", "batch_id", "position", "id")

    @extend_schema(
        summary="Upload photos", request={"multipart/form-data": PhotoUploadSerializer},
        responses={201: PhotoUploadResultSerializer,
                   400: OpenApiResponse(ErrorEnvelope, description=(
                       "VALIDATION_ERROR: no listing/batch or files; or no file was added, each file's reason in "
                       "details.files (not an image, empty, too large, too many pixels, truncated, a photo past "
                       f"the {settings.VINTED_PHOTOS_MAX} a listing takes).")),
                   404: OpenApiResponse(ErrorEnvelope, description="NOT_FOUND: no such listing or batch for you.")})
    def create(self, request, *args, **kwargs):
        serializer = PhotoUploadSerializer(data=request.data, user=request.user)
        if not serializer.is_valid():
            self._not_found_if_invisible(serializer)
            raise serializers.ValidationError(serializer.errors)
        data = serializer.validated_data
        results = photo_services.add_photos(request.user, data["files"], listing=data.get("listing"),
                                            batch=data.get("batch"))
        body = _result_data(self, results)
        if not any(result.ok for result in results):
            raise APIError("VALIDATION_ERROR", "No photo was added; each file's reason is in details.files.",
                           details={"files": body})
        return Response({"results": body}, status=status.HTTP_201_CREATED)

    def _not_found_if_invisible(self, serializer):
        """A listing or batch id the user cannot see (another operator's, or none) is a 404, as on its own URL."""
        for name in ("listing", "batch"):
            errors = serializer.errors.get(name) or []
            if any(getattr(error, "code", "") == "does_not_exist" for error in errors):
                raise APIError("NOT_FOUND", f"No such {name}.", status.HTTP_404_NOT_FOUND)

    @extend_schema(summary="Put a listing's photos in a new order (the first is the cover)",
                   request=ReorderSerializer,
                   responses={200: PhotoSerializer(many=True),
                              400: OpenApiResponse(ErrorEnvelope, description="VALIDATION_ERROR: `photos` is not "
                                                   "exactly the listing's photos, or the listing can no longer be "
                                                   "changed."),
                              404: OpenApiResponse(ErrorEnvelope, description="NOT_FOUND: no such listing for you.")})
    @action(detail=False, methods=["post"])
    def reorder(self, request):
        serializer = ReorderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        listing = Listing.objects.restrict(request.user).filter(pk=serializer.validated_data["listing"]).first()
        if listing is None:
            raise APIError("NOT_FOUND", "No such listing.", status.HTTP_404_NOT_FOUND)
        photos = photo_services.reorder_photos(request.user, listing, serializer.validated_data["photos"])
        return Response(PhotoSerializer(photos, many=True, context=self.get_serializer_context()).data)

    @extend_schema(summary="Make this photo the cover (position 0)", request=None,
                   responses={200: PhotoSerializer,
                              400: OpenApiResponse(ErrorEnvelope, description="The listing can no longer be "
                                                                              "changed.")})
    @action(detail=True, methods=["post"])
    def cover(self, request, pk=None):
        photo = photo_services.set_cover(request.user, self.get_object())
        return Response(PhotoSerializer(photo, context=self.get_serializer_context()).data)

    @extend_schema(summary="Download a stored file of the photo", description=(
                       "`original` (oriented, metadata stripped), `display` (<= 1600 px) or `thumbnail` "
                       "(<= 320 px), all JPEG; authenticated like every API call."),
                   parameters=[OpenApiParameter("kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=FILE_KINDS,
                                                description="Which file."), *RANGE_PARAMETERS],
                   responses=file_responses([STORED_CONTENT_TYPE], "photo"))
    @action(detail=True, methods=["get"], url_path=f"files/(?P<kind>{'|'.join(FILE_KINDS)})", url_name="file",
            content_negotiation_class=FileNegotiation)
    def file(self, request, pk=None, kind=None):
        photo = self.get_object()
        return file_response(request, getattr(photo, kind), f"photo-{photo.pk}-{kind}")

    def perform_destroy(self, instance):
        photo_services.delete_photo(self.request.user, instance)
