"""The pipeline's DRF views: thin. The base viewset (`accounts.api.viewsets`) restricts each
queryset once per request and the one permission class asks the queryset rule; every change goes through
`pipeline.services`; a service's ValidationError becomes the 400 envelope and its
PermissionDenied the 403 envelope (lofisite.errors).

Visibility and permission follow the pages: every role sees every run, video, track
and schedule; viewers have only the `read` scope (403 on any write); operators change
their own objects and get 403 on someone else's; admins change everything.

Deleting a run (or its video, which is the same: the run goes with its video and files)
that is queued, running or uploading to YouTube answers 409 CONFLICT: the request is
well-formed, the run's state forbids it for now (cancel it, or wait for the upload).
"""

from django.core.exceptions import ValidationError
from django.db.models import F, Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.api.viewsets import BaseViewSet, RestrictedAPIMixin
from lofisite.errors import APIError

from .. import services
from ..filtersets import RunFilterSet
from ..models import Run, Schedule, Stage, Track, Video
from .media import (
    MEDIA_KINDS,
    RANGE_PARAMETERS,
    TRACK_MEDIA_TYPES,
    VIDEO_MEDIA_TYPES,
    ErrorEnvelope,
    FileNegotiation,
    download_name,
    file_response,
    file_responses,
)
from .serializers import (
    CoverUploadSerializer,
    PublishSerializer,
    RunCreateSerializer,
    RunDetailSerializer,
    RunSerializer,
    ScheduleSerializer,
    StorageSerializer,
    ThumbnailUploadSerializer,
    TrackSerializer,
    TrackUploadSerializer,
    VideoMetadataSerializer,
    VideoSerializer,
)

DELETE_RESPONSES = {
    204: OpenApiResponse(description="Deleted with its video and files (a video on YouTube stays there)."),
    409: OpenApiResponse(ErrorEnvelope, description="CONFLICT: the run is queued, running or uploading to YouTube; "
                                                    "cancel it (or wait for the upload to end), then delete it."),
}

ARTWORK_UPLOAD_ERRORS = OpenApiResponse(ErrorEnvelope, description=(
    "VALIDATION_ERROR at the field: not a JPEG, PNG or WebP image, under 640x360 pixels or over "
    "PIPELINE_IMAGE_MAX_MB; or the run is still running, or the video is already on YouTube."))


LIST_RUN_COLUMNS = ["status", "preset", "duration_s", "bpm", "musical_key", "seed", "audio_source", "motion",
                    "publish_target", "privacy", "publish_at", "progress", "error", "cancel_requested", "schedule",
                    "created_by", "created_at", "started_at", "finished_at"]


def delete_run(run, user):
    """services.delete_run; a run whose state forbids it now is a 409, not bad input."""
    try:
        return services.delete_run(run, user)
    except ValidationError as exc:
        raise APIError("CONFLICT", " ".join(exc.messages), status.HTTP_409_CONFLICT) from exc


def run_detail(view, run, status_code=status.HTTP_200_OK, **headers):
    """A run as RunDetailSerializer shows it, read again through the user's restricted queryset."""
    run = (Run.objects.restrict(view.request.user).select_related("created_by", "video")
           .prefetch_related(Prefetch("stages", queryset=Stage.objects.order_by("id"))).get(pk=run.pk))
    data = RunDetailSerializer(run, context=view.get_serializer_context()).data
    if status_code == status.HTTP_201_CREATED:
        headers["Location"] = data["url"]
    return Response(data, status=status_code, headers=headers or None)


@extend_schema_view(
    list=extend_schema(summary="List runs", description="Newest first; filter by status, preset and dates."),
    retrieve=extend_schema(summary="A run with its stages"),
    destroy=extend_schema(summary="Delete a run with its video and files", responses=DELETE_RESPONSES),
)
class RunViewSet(RestrictedAPIMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
                 viewsets.ReadOnlyModelViewSet):
    """Pipeline runs: start one, follow its stages, retry it from the failed stage, cancel it, delete it."""

    queryset = Run.objects.select_related("created_by", "video")
    filterset_class = RunFilterSet
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            # The columns the list shows (RunListSerializer), the username and the video's id joined in as
            # values: building a User and a Video per row cost more than the rest of the row.
            return (queryset.select_related(None).only(*LIST_RUN_COLUMNS)
                    .annotate(created_by_username=F("created_by__username"), video_pk=F("video__id")))
        return queryset.prefetch_related(Prefetch("stages", queryset=Stage.objects.order_by("id")))

    def get_serializer_class(self):
        if self.action == "create":
            return RunCreateSerializer
        return RunSerializer if self.action == "list" else RunDetailSerializer

    @extend_schema(summary="Start a run", request={"application/json": RunCreateSerializer,
                                                   "multipart/form-data": RunCreateSerializer},
                   responses={201: RunDetailSerializer})
    def create(self, request, *args, **kwargs):
        serializer = RunCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        run = services.start_run(request.user, **serializer.validated_data)
        return run_detail(self, run, status.HTTP_201_CREATED)

    @extend_schema(summary="Retry from the failed stage", request=None,
                   responses={200: RunDetailSerializer, 400: OpenApiResponse(description="Not failed or cancelled.")})
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        return run_detail(self, services.retry_run(self.get_object(), request.user))

    @extend_schema(summary="Cancel a queued or running run", request=None,
                   responses={200: RunDetailSerializer, 400: OpenApiResponse(description="Already finished.")})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return run_detail(self, services.cancel_run(self.get_object(), request.user))

    def perform_destroy(self, instance):
        delete_run(instance, self.request.user)


@extend_schema_view(
    list=extend_schema(summary="List videos"),
    retrieve=extend_schema(summary="A video with its metadata, files and YouTube state"),
    destroy=extend_schema(summary="Delete a video with its run and files", responses=DELETE_RESPONSES),
)
class VideoViewSet(RestrictedAPIMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Videos made by runs: download their files, edit the metadata, change the artwork, publish to YouTube,
    delete them."""

    queryset = Video.objects.select_related("run", "run__created_by")
    serializer_class = VideoSerializer
    filterset_fields = ["upload_status"]

    @extend_schema(summary="Edit title, description and tags", request=VideoMetadataSerializer,
                   responses={200: VideoSerializer})
    def partial_update(self, request, pk=None):
        video = self.get_object()
        serializer = VideoMetadataSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        fields = {"title": video.title, "description": video.description, "tags": video.tags,
                  **serializer.validated_data}
        return self._video(services.update_metadata(video, request.user, **fields))

    @extend_schema(summary="Upload to YouTube", request=PublishSerializer,
                   responses={202: RunDetailSerializer,
                              400: OpenApiResponse(description="Not rendered, already uploaded, no channel, or "
                                                               "a publish time without privacy 'private'.")})
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        video = self.get_object()
        serializer = PublishSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = services.publish_video(video, request.user, **serializer.validated_data)
        return run_detail(self, run, status.HTTP_202_ACCEPTED)

    @extend_schema(summary="Download a file of the video", description=(
                       "`audio` (AAC in MP4), `video` (H.264/AAC MP4), `cover` (PNG) or `thumbnail` (JPEG), "
                       "authenticated like every API call. Send `Range` to seek or resume."),
                   parameters=[OpenApiParameter("kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=MEDIA_KINDS,
                                                description="Which file."), *RANGE_PARAMETERS],
                   responses=file_responses(sorted(set(VIDEO_MEDIA_TYPES.values())), "file"))
    @action(detail=True, methods=["get"], url_path=f"media/(?P<kind>{'|'.join(MEDIA_KINDS)})",
            content_negotiation_class=FileNegotiation)
    def media(self, request, pk=None, kind=None):
        video = self.get_object()
        return file_response(request, getattr(video, kind),
                             download_name(f"run-{video.run_id}", video.title, kind))

    @extend_schema(summary="Draw the thumbnail again from the cover and the current title", request=None,
                   responses={200: VideoSerializer,
                              400: OpenApiResponse(ErrorEnvelope, description="Still running, no cover yet, or "
                                                                              "already on YouTube.")})
    @action(detail=True, methods=["post"], url_path="thumbnail/regenerate")
    def regenerate_thumbnail(self, request, pk=None):
        return self._video(services.regenerate_thumbnail(self.get_object(), request.user))

    @extend_schema(summary="Upload your own thumbnail", request={"multipart/form-data": ThumbnailUploadSerializer},
                   responses={200: VideoSerializer,
                              400: ARTWORK_UPLOAD_ERRORS})
    @action(detail=True, methods=["put", "post"], parser_classes=[MultiPartParser])
    def thumbnail(self, request, pk=None):
        video, upload = self._image_upload(ThumbnailUploadSerializer, "thumbnail")
        return self._video(services.replace_thumbnail(video, request.user, upload))

    @extend_schema(summary="Upload your own cover art (the video is rendered again)",
                   request={"multipart/form-data": CoverUploadSerializer},
                   responses={202: RunDetailSerializer,
                              400: ARTWORK_UPLOAD_ERRORS})
    @action(detail=True, methods=["put", "post"], parser_classes=[MultiPartParser])
    def cover(self, request, pk=None):
        video, upload = self._image_upload(CoverUploadSerializer, "cover")
        return run_detail(self, services.replace_cover(video, request.user, upload), status.HTTP_202_ACCEPTED)

    def _image_upload(self, serializer_class, field):
        """The video (permission checked first) and the uploaded file, present and a file."""
        video = self.get_object()
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return video, serializer.validated_data[field]

    def _video(self, video):
        return Response(VideoSerializer(self.get_queryset().get(pk=video.pk),
                                        context=self.get_serializer_context()).data)

    def perform_destroy(self, instance):
        delete_run(instance.run, self.request.user)


class ScheduleViewSet(RestrictedAPIMixin, viewsets.ModelViewSet):
    """Cron schedules that start runs (e.g. `0 18 * * *` = every day at 18:00 in `timezone`)."""

    queryset = Schedule.objects.select_related("created_by")
    serializer_class = ScheduleSerializer

    @extend_schema(summary="Start a run now with the schedule's settings", request=None,
                   description="The run is started by you; the schedule's next fire time stays as it is.",
                   responses={201: RunDetailSerializer,
                              400: OpenApiResponse(ErrorEnvelope, description="The schedule's settings no longer "
                                                                              "start a run (e.g. a removed preset).")})
    @action(detail=True, methods=["post"], url_path="run-now")
    def run_now(self, request, pk=None):
        return run_detail(self, services.run_schedule_now(request.user, self.get_object()), status.HTTP_201_CREATED)

    def perform_create(self, serializer):
        serializer.instance = services.save_schedule(self.request.user, Schedule(**serializer.validated_data))

    def perform_update(self, serializer):
        schedule = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(schedule, name, value)
        serializer.instance = services.save_schedule(self.request.user, schedule)

    def perform_destroy(self, instance):
        services.delete_schedule(instance, self.request.user)


@extend_schema_view(
    list=extend_schema(summary="List library tracks"),
    retrieve=extend_schema(summary="A library track"),
    destroy=extend_schema(summary="Delete a track and its file"),
)
class TrackViewSet(RestrictedAPIMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
                   viewsets.ReadOnlyModelViewSet):
    """Audio tracks for library-mode mixes."""

    queryset = Track.objects.select_related("uploaded_by")
    serializer_class = TrackSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(summary="Upload a track", request={"multipart/form-data": TrackUploadSerializer},
                   responses={201: TrackSerializer})
    def create(self, request, *args, **kwargs):
        serializer = TrackUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        track = services.add_track(request.user, serializer.validated_data["file"],
                                   serializer.validated_data["title"])
        data = TrackSerializer(track, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": data["url"]})

    def perform_destroy(self, instance):
        services.delete_track(instance, self.request.user)

    @extend_schema(summary="Download the track's audio", parameters=RANGE_PARAMETERS,
                   responses=file_responses(TRACK_MEDIA_TYPES, "audio file"))
    @action(detail=True, methods=["get"], content_negotiation_class=FileNegotiation)
    def audio(self, request, pk=None):
        track = self.get_object()
        return file_response(request, track.file, download_name(f"track-{track.pk}", track.title))


class StorageViewSet(BaseViewSet):
    """Media on disk, for everyone with a role: it is the team's, not one person's. The rule is the
    runs' view rule (their files are most of it)."""

    queryset = Run.objects.all()
    serializer_class = StorageSerializer
    pagination_class = None
    filter_backends = []

    @extend_schema(summary="Bytes of media on disk", responses={200: StorageSerializer})
    def list(self, request):
        return Response(StorageSerializer(services.storage_used()).data)
