"""The pipeline's DRF views: thin. The base viewset (`accounts.api.viewsets`) restricts each
queryset once per request and the one permission class asks the queryset rule; every change goes through
`pipeline.services`; a service's ValidationError becomes the 400 envelope and its
PermissionDenied the 403 envelope (lofisite.errors).

Visibility and permission follow the pages: every role sees every run, video, track
and schedule; viewers have only the `read` scope (403 on any write); operators change
their own objects and get 403 on someone else's; admins change everything.
"""

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.api.viewsets import RestrictedAPIMixin

from .. import services
from ..filtersets import RunFilterSet
from ..models import Run, Schedule, Stage, Track, Video
from .serializers import (
    PublishSerializer,
    RunCreateSerializer,
    RunDetailSerializer,
    RunSerializer,
    ScheduleSerializer,
    TrackSerializer,
    TrackUploadSerializer,
    VideoMetadataSerializer,
    VideoSerializer,
)


@extend_schema_view(
    list=extend_schema(summary="List runs", description="Newest first; filter by status, preset and dates."),
    retrieve=extend_schema(summary="A run with its stages"),
)
class RunViewSet(RestrictedAPIMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Pipeline runs: start one, follow its stages, retry it from the failed stage, cancel it."""

    queryset = Run.objects.select_related("created_by", "video")
    filterset_class = RunFilterSet
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action != "list":
            queryset = queryset.prefetch_related(Prefetch("stages", queryset=Stage.objects.order_by("id")))
        return queryset

    def get_serializer_class(self):
        if self.action == "create":
            return RunCreateSerializer
        return RunSerializer if self.action == "list" else RunDetailSerializer

    def _detail(self, run, status_code=status.HTTP_200_OK):
        run = self.get_queryset().get(pk=run.pk)
        return Response(RunDetailSerializer(run, context=self.get_serializer_context()).data, status=status_code)

    @extend_schema(summary="Start a run", request={"application/json": RunCreateSerializer,
                                                   "multipart/form-data": RunCreateSerializer},
                   responses={201: RunDetailSerializer})
    def create(self, request, *args, **kwargs):
        serializer = RunCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        run = services.start_run(request.user, **serializer.validated_data)
        response = self._detail(run, status.HTTP_201_CREATED)
        response["Location"] = response.data["url"]
        return response

    @extend_schema(summary="Retry from the failed stage", request=None,
                   responses={200: RunDetailSerializer, 400: OpenApiResponse(description="Not failed or cancelled.")})
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        return self._detail(services.retry_run(self.get_object(), request.user))

    @extend_schema(summary="Cancel a queued or running run", request=None,
                   responses={200: RunDetailSerializer, 400: OpenApiResponse(description="Already finished.")})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._detail(services.cancel_run(self.get_object(), request.user))


@extend_schema_view(
    list=extend_schema(summary="List videos"),
    retrieve=extend_schema(summary="A video with its metadata, files and YouTube state"),
)
class VideoViewSet(RestrictedAPIMixin, viewsets.ReadOnlyModelViewSet):
    """Videos made by runs: edit the metadata before publishing, publish to YouTube."""

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
        video = services.update_metadata(video, request.user, **fields)
        return Response(VideoSerializer(self.get_queryset().get(pk=video.pk),
                                        context=self.get_serializer_context()).data)

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
        run = Run.objects.restrict(request.user).select_related("created_by", "video").get(pk=run.pk)
        return Response(RunDetailSerializer(run, context=self.get_serializer_context()).data,
                        status=status.HTTP_202_ACCEPTED)


class ScheduleViewSet(RestrictedAPIMixin, viewsets.ModelViewSet):
    """Cron schedules that start runs (e.g. `0 18 * * *` = every day at 18:00 in `timezone`)."""

    queryset = Schedule.objects.select_related("created_by")
    serializer_class = ScheduleSerializer

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
