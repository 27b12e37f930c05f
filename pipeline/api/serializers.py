"""DRF serializers of the pipeline. Reads show what the pages show; writes are validated
here for shape (types, lengths, ranges) and by the services for meaning (preset, key,
publish rules), so the API and the HTML forms give the same messages."""

from pathlib import Path

from django.db.models.manager import BaseManager
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from lofisite.fields import StrictCharField, StringOnlyModelSerializer

from .. import services
from ..choices import AudioSource, Privacy, PublishTarget
from ..cron import describe_cron, upcoming_fire_times
from ..engines.limits import MAX_BPM, MIN_BPM
from ..engines.presets import PRESETS
from ..models import MAX_DURATION_S, MIN_DURATION_S, Run, Schedule, Stage, Track, Video
from .media import MEDIA_KINDS

LOG_TAIL_LINES = 20
FIRE_TIMES_SHOWN = 5


def _absolute(request, view_name: str, args) -> str:
    path = reverse(view_name, args=args)
    return request.build_absolute_uri(path) if request is not None else path


def media_url(request, video: Video, kind: str) -> str | None:
    """URL of a video's file on the API (bearer token, Range support; pipeline.api.media)."""
    return _absolute(request, "api:pipeline-video-media", [video.pk, kind]) if getattr(video, kind) else None


class StageSerializer(serializers.ModelSerializer):
    duration_s = serializers.FloatField(read_only=True, allow_null=True, help_text="Seconds from start to finish.")
    log_tail = serializers.SerializerMethodField(help_text=f"The last {LOG_TAIL_LINES} lines of the stage log.")

    class Meta:
        model = Stage
        fields = ["name", "status", "attempts", "progress", "started_at", "finished_at", "duration_s", "error",
                  "log_tail", "outputs"]
        read_only_fields = fields

    def get_log_tail(self, stage) -> str:
        return "\n".join(stage.log.splitlines()[-LOG_TAIL_LINES:])


# A primary key no run has, whose digits cannot occur elsewhere in a run's URL (RunListSerializer).
_PK_MARK = 4611686018427387911


class RunListSerializer(serializers.ListSerializer):
    """The runs list's rows, each written out directly: the same JSON as RunSerializer's fields give
    (tests/pipeline/test_api_run_list_fast.py compares both), in a fraction of the time per row.

    DRF's generic path builds the child's fields from the model once per request and costs, per row and
    field, a get_attribute walk and a to_representation call, and per row a reverse() of the run's URL;
    here the URL is reversed once per page (a template around the pk) and datetimes are written as DRF's
    DateTimeField writes them (ISO 8601 in the current time zone, "Z" for UTC)."""

    def to_representation(self, data):
        if type(self.child) is not RunSerializer:  # a subclass (details) adds fields: DRF's generic path
            return super().to_representation(data)
        runs = data.all() if isinstance(data, BaseManager) else data  # as DRF's ListSerializer does
        url_of = _url_template(self.child.context)
        when = _datetime_writer()
        return [{
            "id": run.pk, "url": url_of(run.pk), "status": run.status, "preset": run.preset,
            "duration_s": run.duration_s, "bpm": run.bpm, "musical_key": run.musical_key, "seed": run.seed,
            "audio_source": run.audio_source, "motion": bool(run.motion), "publish_target": run.publish_target,
            "privacy": run.privacy, "publish_at": when(run.publish_at), "progress": float(run.progress),
            "error": run.error, "cancel_requested": bool(run.cancel_requested), "can_retry": run.can_retry,
            "can_cancel": run.can_cancel, "video": _video_pk(run), "schedule": run.schedule_id,
            "created_by": _username(run), "created_at": when(run.created_at),
            "started_at": when(run.started_at), "finished_at": when(run.finished_at), "elapsed_s": run.elapsed_s,
        } for run in runs]


_RUN_URL = serializers.HyperlinkedIdentityField(view_name="api:pipeline-run-detail")  # RunSerializer's "url"


def _url_template(context):
    """pk -> the run's URL as RunSerializer's HyperlinkedIdentityField gives it, reversed once."""
    marked = _RUN_URL.get_url(Run(pk=_PK_MARK), _RUN_URL.view_name, context.get("request"), context.get("format"))
    head, _, tail = marked.partition(str(_PK_MARK))
    return lambda pk: f"{head}{pk}{tail}"


def _datetime_writer():
    """datetime -> its JSON text as DRF's DateTimeField writes it (None stays None)."""
    field = serializers.DateTimeField()
    if getattr(field, "format", api_settings.DATETIME_FORMAT) != ISO_8601:
        return lambda value: field.to_representation(value) if value else None
    zone = field.default_timezone()

    def write(value):
        if not value:
            return None
        text = (value.astimezone(zone) if zone is not None and timezone.is_aware(value) else value).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return write


def _video_pk(run):
    if hasattr(run, "video_pk"):  # joined in by the list's queryset (pipeline.api.views)
        return run.video_pk
    try:
        return run.video.pk
    except Video.DoesNotExist:
        return None


def _username(run):
    return run.created_by_username if hasattr(run, "created_by_username") else run.created_by.username


class RunSerializer(serializers.ModelSerializer):
    """A run as listed: parameters, state and timings."""

    url = serializers.HyperlinkedIdentityField(view_name="api:pipeline-run-detail")
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    elapsed_s = serializers.FloatField(read_only=True, allow_null=True, help_text="Seconds since it started.")
    can_retry = serializers.BooleanField(read_only=True)
    can_cancel = serializers.BooleanField(read_only=True)
    video = serializers.IntegerField(source="video.pk", read_only=True, help_text="Id of the run's video.")

    class Meta:
        model = Run
        fields = ["id", "url", "status", "preset", "duration_s", "bpm", "musical_key", "seed", "audio_source",
                  "motion", "publish_target", "privacy", "publish_at", "progress", "error", "cancel_requested",
                  "can_retry", "can_cancel", "video", "schedule", "created_by", "created_at", "started_at",
                  "finished_at", "elapsed_s"]
        read_only_fields = fields
        list_serializer_class = RunListSerializer


class RunDetailSerializer(RunSerializer):
    """A run with its stages in pipeline order."""

    stages = serializers.SerializerMethodField()
    intro = serializers.SerializerMethodField(help_text="File name of the intro clip, if any.")
    outro = serializers.SerializerMethodField(help_text="File name of the outro clip, if any.")

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "intro", "outro", "stages"]
        read_only_fields = fields

    @extend_schema_field(StageSerializer(many=True))
    def get_stages(self, run):
        return StageSerializer(run.ordered_stages(), many=True, context=self.context).data

    def get_intro(self, run) -> str | None:
        return Path(run.intro.name).name if run.intro else None

    def get_outro(self, run) -> str | None:
        return Path(run.outro.name).name if run.outro else None


def _check_publish(publish_target, attrs):
    """The services' publish rules, reported at their fields (as the pages do)."""
    errors = services.publish_errors(publish_target=publish_target, privacy=attrs.get("privacy"),
                                     publish_at=attrs.get("publish_at"))
    if errors:
        raise serializers.ValidationError(errors)
    return attrs


@extend_schema_field({"type": "string", "enum": list(PRESETS)})
class PresetField(StrictCharField):
    """A preset name. The schema lists the presets; the services check the name, with the
    same message the HTML form shows."""

    def __init__(self, **kwargs):
        super().__init__(max_length=32, **kwargs)


class RunCreateSerializer(serializers.Serializer):
    """Parameters of a new run (JSON, or multipart when sending intro/outro clips)."""

    preset = PresetField(help_text="A preset name, as the New run page lists them.")
    duration_s = serializers.IntegerField(min_value=MIN_DURATION_S, max_value=MAX_DURATION_S,
                                          help_text=f"Length of the mix in seconds ({MIN_DURATION_S}-"
                                                    f"{MAX_DURATION_S}).")
    seed = serializers.IntegerField(min_value=0, max_value=2**63 - 1, required=False, allow_null=True,
                                    help_text="Same seed, same music. Random when left out.")
    bpm = serializers.IntegerField(min_value=MIN_BPM, max_value=MAX_BPM, required=False, allow_null=True)
    musical_key = StrictCharField(max_length=4, required=False, allow_blank=True, default="",
                                        help_text="e.g. C, F#m, Bbm. The preset's key when left out.")
    audio_source = serializers.ChoiceField(choices=AudioSource.choices, default=AudioSource.PROCEDURAL)
    motion = serializers.BooleanField(default=False, help_text="Subtle slow zoom instead of a still image.")
    intro = serializers.FileField(required=False, allow_null=True, help_text="Optional intro clip (multipart).")
    outro = serializers.FileField(required=False, allow_null=True, help_text="Optional outro clip (multipart).")
    publish_target = serializers.ChoiceField(choices=PublishTarget.choices, default=PublishTarget.LIBRARY)
    privacy = serializers.ChoiceField(choices=Privacy.choices, default=Privacy.PRIVATE)
    publish_at = serializers.DateTimeField(required=False, allow_null=True,
                                           help_text="Scheduled publish time on YouTube (privacy 'private' only).")

    def validate_intro(self, upload):
        services.check_clip(upload)
        return upload

    def validate_outro(self, upload):
        services.check_clip(upload)
        return upload

    def validate(self, attrs):
        return _check_publish(attrs["publish_target"], attrs)


class VideoSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:pipeline-video-detail")
    run_status = serializers.CharField(source="run.status", read_only=True)
    created_by = serializers.CharField(source="run.created_by.username", read_only=True)
    youtube_url = serializers.CharField(read_only=True, help_text="The video on YouTube; empty until uploaded.")
    media = serializers.SerializerMethodField(
        help_text="API URLs of the files (null until a stage made them): GET them with the same bearer token; "
                  "they answer Range requests (206).")

    class Meta:
        model = Video
        fields = ["id", "url", "run", "run_status", "title", "description", "tags", "metadata_edited", "tracklist",
                  "duration_s", "size_bytes", "loudness_lufs", "upload_status", "upload_error", "youtube_id",
                  "youtube_url", "uploaded_at", "media", "created_by", "created_at"]
        read_only_fields = fields

    @extend_schema_field({
        "type": "object",
        "properties": {kind: {"type": "string", "format": "uri", "nullable": True} for kind in MEDIA_KINDS},
    })
    def get_media(self, video):
        request = self.context.get("request")
        return {kind: media_url(request, video, kind) for kind in MEDIA_KINDS}


class VideoMetadataSerializer(serializers.Serializer):
    """An operator's edit of title, description and tags; left-out fields keep their value.

    YouTube's limits (title at most 100 characters without < or >, description at most
    5000 bytes, tags at most 500 characters in total) are checked by the service."""

    title = StrictCharField(max_length=1000, allow_blank=True, trim_whitespace=True)
    description = StrictCharField(max_length=20000, allow_blank=True, trim_whitespace=False)
    tags = serializers.ListField(child=StrictCharField(max_length=500, allow_blank=True), max_length=500)


class PublishSerializer(serializers.Serializer):
    privacy = serializers.ChoiceField(choices=Privacy.choices, default=Privacy.PRIVATE)
    publish_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                           help_text="Scheduled publish time (privacy 'private' only).")

    def validate(self, attrs):
        return _check_publish(PublishTarget.YOUTUBE, attrs)


class ScheduleSerializer(StringOnlyModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:pipeline-schedule-detail")
    preset = PresetField(help_text="The preset of the runs it starts.")
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    description = serializers.SerializerMethodField(
        help_text="The cron expression in words, e.g. 'At 18:00' (24-hour clock); empty if it cannot be read.")
    next_fire_times = serializers.SerializerMethodField(
        help_text=f"The next {FIRE_TIMES_SHOWN} times the cron expression fires, in the schedule's time zone "
                  "(ISO 8601 with its offset), whether or not the schedule is enabled: `enabled` and "
                  "`next_run_at` say whether it will start a run. Empty when the expression never fires.")

    class Meta:
        model = Schedule
        fields = ["id", "url", "name", "cron", "description", "timezone", "preset", "duration_s", "audio_source",
                  "publish_target", "privacy", "enabled", "next_run_at", "next_fire_times", "last_run_at",
                  "created_by", "created_at"]
        read_only_fields = ["next_run_at", "last_run_at", "created_by", "created_at"]

    def get_description(self, schedule) -> str:
        return describe_cron(schedule.cron)

    @extend_schema_field(serializers.ListField(child=serializers.DateTimeField()))
    def get_next_fire_times(self, schedule) -> list[str]:
        return [moment.isoformat() for moment in
                upcoming_fire_times(schedule.cron, schedule.timezone, count=FIRE_TIMES_SHOWN)]


class TrackSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:pipeline-track-detail")
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True)
    file_name = serializers.SerializerMethodField()
    audio = serializers.SerializerMethodField(
        help_text="API URL of the audio file: GET it with the same bearer token; it answers Range requests (206).")

    class Meta:
        model = Track
        fields = ["id", "url", "title", "file_name", "audio", "duration_s", "size_bytes", "uploaded_by",
                  "created_at"]
        read_only_fields = fields

    def get_file_name(self, track) -> str:
        return Path(track.file.name).name

    def get_audio(self, track) -> str:
        return _absolute(self.context.get("request"), "api:pipeline-track-audio", [track.pk])


class TrackUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="An audio file: mp3, wav, flac, ogg, m4a, aac or opus.")
    title = StrictCharField(max_length=200, required=False, allow_blank=True, default="",
                                  help_text="Defaults to the file name.")


class ThumbnailUploadSerializer(serializers.Serializer):
    thumbnail = serializers.FileField(help_text="A JPEG, PNG or WebP image of at least 640x360 pixels; it is fitted "
                                                "to YouTube's 1280x720 JPEG of at most 2 MB.")


class CoverUploadSerializer(serializers.Serializer):
    cover = serializers.FileField(help_text="A JPEG, PNG or WebP image of at least 640x360 pixels; the video and "
                                            "its thumbnail are rendered again with it.")


@extend_schema_serializer(many=False)  # the one answer of a `list` route, not a page of them
class StorageSerializer(serializers.Serializer):
    """Bytes of media on disk, for the whole team."""

    runs = serializers.IntegerField(help_text="Audio, cover art, videos and thumbnails of runs.")
    tracks = serializers.IntegerField(help_text="Uploaded library tracks.")
    clips = serializers.IntegerField(help_text="Intro and outro clips.")
    total = serializers.IntegerField()
