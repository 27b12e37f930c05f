"""Pipeline pages: runs (list, start, page, live progress, actions), their video forms and media."""

from functools import cached_property
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.http import urlencode
from django.views import View
from django.views.generic import DetailView, FormView
from django_htmx.http import HttpResponseClientRedirect

from accounts.mixins import ObjectActionView, ObjectListView, ObjectPermissionMixin, RestrictedViewMixin
from accounts.roles import Action
from lofisite.formatting import format_duration
from lofisite.media import serve_media_file

from .. import services
from ..choices import AudioSource, PublishTarget, RunStatus
from ..filtersets import RunFilterSet
from ..forms import (
    DURATION_CHOICES,
    CoverUploadForm,
    MetadataForm,
    PublishForm,
    RunForm,
    ThumbnailUploadForm,
    apply_service_errors,
)
from ..models import Run, Video
from .base import MEDIA_KINDS, FormStatusMixin, PipelinePageMixin


# --- runs --------------------------------------------------------------------------------------
class RunListView(PipelinePageMixin, ObjectListView):
    queryset = Run.objects.select_related("created_by", "schedule", "video")
    filterset_class = RunFilterSet
    template_name = "pipeline/run_list.html"
    context_object_name = "runs"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(storage=services.storage_used(), **kwargs)
        context["deletable"] = self.ids_permitting(Action.DELETE, context["object_list"])
        return context


class RunCreateView(FormStatusMixin, PipelinePageMixin, RestrictedViewMixin, FormView):
    queryset = Run.objects.all()
    permission_action = Action.ADD
    template_name = "pipeline/run_form.html"
    form_class = RunForm

    @cached_property
    def source(self):
        """`?from=<run id>`: the earlier run whose settings this form starts from ("run again")."""
        source_id = self.request.GET.get("from", "")
        return self.get_queryset().filter(pk=source_id).first() if source_id.isdigit() else None

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "previous_seed": self.source.seed if self.source else None}

    def get_initial(self):
        source = self.source
        if source is None:
            return super().get_initial()
        listed = source.duration_s in dict(DURATION_CHOICES)
        # The seed field stays blank (a new mix); "keep seed" on the form reuses it.
        return {
            "preset": source.preset, "duration": source.duration_s if listed else None,
            "custom_duration": "" if listed else format_duration(source.duration_s),
            "bpm": source.bpm, "musical_key": source.musical_key,
            "audio_source": source.audio_source, "motion": source.motion, "privacy": source.privacy,
            "publish_target": PublishTarget.LIBRARY,
        }

    def form_valid(self, form):
        try:
            run = services.start_run(self.request.user, **form.service_kwargs())
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        target = ("It will be uploaded to YouTube when it is ready." if run.publish_target == PublishTarget.YOUTUBE
                  else "Library only: nothing will be uploaded to YouTube.")
        messages.success(self.request, f"{run} queued ({format_duration(run.duration_s)}, seed {run.seed}). {target}")
        return redirect(run)


def _video_of(run):
    return Video.objects.filter(run=run).first()


def live_state(run, video, can_change) -> dict:
    """What the sections around the live timeline show; the poller sends it back, and a
    section is re-sent (htmx out-of-band swap) only when it changed, so a player that is
    playing or a form being typed in is not replaced needlessly."""
    # Parameters: the tempo and key made appear with the audio; times and "Delete" with the status.
    params = f"{run.status}.{int(bool(video and video.audio))}"
    if video is None:
        return {"audio": "0", "visuals": "000", "meta": "0", "publish": run.status, "params": params}
    editable = can_change and bool(video.title) and video.metadata_editable
    return {
        "audio": "1" if video.audio else "0",
        # The active flag too: the section's text changes when a run stops without a video.
        "visuals": "".join("1" if getattr(video, name) else "0" for name in ("cover", "video", "thumbnail"))
        + ("a" if run.is_active else ""),
        "meta": f"{int(bool(video.title))}{int(editable)}",
        "publish": f"{run.status}.{run.publish_target}.{video.upload_status}.{int(bool(video.youtube_id))}",
        "params": params,
    }


def run_context(request, run, *, metadata_form=None, publish_form=None, thumbnail_form=None,
                cover_form=None) -> dict:
    """Everything the run page and its live partial show."""
    user = request.user
    video = _video_of(run)
    can_change = Run.objects.permits(user, run, Action.CHANGE)
    connected = services.channel_connected()
    media = {}
    if video is not None:
        media = {kind: reverse("pipeline:run-media", args=[run.pk, kind])
                 for kind in MEDIA_KINDS if getattr(video, kind)}
    state = live_state(run, video, can_change)
    can_edit_metadata = state["meta"].endswith("1")
    if can_edit_metadata and metadata_form is None:
        metadata_form = MetadataForm.for_video(video)
    can_publish = can_change and connected and video is not None and not video.publish_blocker(run)
    if can_publish and publish_form is None:
        publish_form = PublishForm(initial={"privacy": run.privacy})
    # Own artwork: once the run has stopped, and while the video is not on YouTube.
    can_change_artwork = (can_change and video is not None and not run.is_active and bool(video.cover)
                          and video.metadata_editable)
    return {
        "run": run, "video": video, "stages": run.ordered_stages(), "tab": "runs",
        "can_change": can_change, "can_add": Run.objects.can_add(user), "channel_connected": connected,
        "media": media,
        "metadata_form": metadata_form if can_edit_metadata else None,
        "publish_form": publish_form if can_publish else None,
        "can_change_artwork": can_change_artwork,
        "thumbnail_form": (thumbnail_form or ThumbnailUploadForm()) if can_change_artwork else None,
        "cover_form": (cover_form or CoverUploadForm()) if can_change_artwork else None,
        "can_delete": Run.objects.permits(user, run, Action.DELETE) and not run.is_active,
        "live_state": state,
        "poll_url": f"{reverse('pipeline:run-progress', args=[run.pk])}?{urlencode(state)}",
        "params": run_parameters(run, video),
    }


def _composed(values, unit=""):
    """The distinct values of a tracklist, in order: '72 BPM' or '70, 74 BPM'; '' when none."""
    seen = list(dict.fromkeys(value for value in values if value))
    return f"{', '.join(str(value) for value in seen)}{unit}" if seen else ""


def run_parameters(run, video=None):
    """What the run was asked for, and (once composed) the tempo and key that were made."""
    from ..engines.presets import PRESETS

    preset = PRESETS.get(run.preset)
    rows = [
        ("Preset", preset.label if preset else run.preset),
        ("Duration", format_duration(run.duration_s)),
    ]
    if run.audio_source != AudioSource.LIBRARY:  # a mix of uploaded tracks has neither
        entries = video.tracklist if video is not None else []
        bpm = _composed((entry.get("bpm") for entry in entries), " BPM")
        key = _composed(entry.get("key") for entry in entries)
        rows += [
            ("Tempo", bpm or (f"{run.bpm} BPM" if run.bpm else "chosen by the preset")),
            ("Key", key or run.musical_key or "chosen by the preset"),
        ]
    rows += [
        ("Seed", str(run.seed)),
        ("Audio", run.get_audio_source_display()),
        ("Picture", "gentle motion" if run.motion else "still image"),
        ("Intro / outro", " / ".join(Path(f.name).name if f else "none" for f in (run.intro, run.outro))),
        ("Publish to", run.get_publish_target_display()),
    ]
    if run.publish_target == PublishTarget.YOUTUBE:
        rows.append(("Privacy", run.get_privacy_display()))
        if run.publish_at:
            rows.append(("Publish at", run.publish_at))
    return rows


RUN_PAGE_QUERYSET = Run.objects.select_related("created_by", "schedule").prefetch_related("stages")


class RunDetailView(PipelinePageMixin, ObjectPermissionMixin, DetailView):
    queryset = RUN_PAGE_QUERYSET
    template_name = "pipeline/run_detail.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **run_context(self.request, self.object)}


class RunProgressView(ObjectPermissionMixin, View):
    """The live part of the run page (htmx polls it every 2 s while the run is active).

    The fragment carries `hx-trigger` only while the run is active, so polling
    stops by itself with the response that shows the run finished. Sections
    around it are re-sent out-of-band when their state changed.
    """

    def handle_no_permission(self):
        # A poll after the session ended: send the whole page to the sign-in form,
        # instead of swapping the sign-in page into the timeline.
        if getattr(self.request, "htmx", False) and not self.request.user.is_authenticated:
            return HttpResponseClientRedirect(
                redirect_to_login(reverse("pipeline:run-detail", args=[self.kwargs["pk"]]))["Location"])
        return super().handle_no_permission()

    queryset = RUN_PAGE_QUERYSET

    def get(self, request, pk):
        run = self.get_object()
        context = run_context(request, run)
        changed = [name for name, value in context["live_state"].items()
                   if name in request.GET and request.GET[name] != value]
        context.update(oob=True, oob_sections=changed)
        return render(request, "pipeline/_run_live_response.html", context)


def render_run_page(request, run, status=200, **forms):
    return render(request, "pipeline/run_detail.html", run_context(request, run, **forms), status=status)


class RunActionView(ObjectActionView):
    """POST-only action on a run: 404 if the user cannot see it, 403 if they may not change it."""

    queryset = Run.objects.all()


class RunCancelView(RunActionView):
    def act(self, run, user):
        run = services.cancel_run(run, user)
        if run.status == RunStatus.CANCELLED:
            return f"{run} cancelled."
        return f"{run}: cancel requested; the running stage stops at its next checkpoint."


class RunRetryView(RunActionView):
    def act(self, run, user):
        run = services.retry_run(run, user)
        return f"{run} queued again; it resumes from the stage that did not finish."


class RunDeleteView(RunActionView):
    """Delete a run, its video and its files; not while it runs or uploads (the message says why)."""

    permission_action = Action.DELETE
    permission_denied_message = "Only the run's owner or an admin may delete it."

    def post(self, request, *args, **kwargs):
        self.deleted = False
        return super().post(request, *args, **kwargs)

    def act(self, run, user):
        label = str(run)
        freed = services.delete_run(run, user)
        self.deleted = True
        return f"{label} deleted with its video and files ({filesizeformat(freed)} freed)."

    def get_success_url(self, run):
        if not self.deleted:
            return run.get_absolute_url()
        return reverse("pipeline:run-list")


class RunThumbnailRegenerateView(ObjectActionView):
    """Draw the thumbnail again from the cover and the current title."""

    queryset = Video.objects.select_related("run")
    lookup_field = "run_id"
    permission_denied_message = "Only the run's owner or an admin may change its artwork."

    def act(self, video, user):
        services.regenerate_thumbnail(video, user)
        return "Thumbnail redrawn with the current title."

    def get_success_url(self, video):
        return video.run.get_absolute_url()


class VideoFormActionView(ObjectPermissionMixin, View):
    """POST a form about a run's video to a service; on errors, show the run page with the form
    (400). A GET of the form's address (a reload after an error) goes back to the run page."""

    queryset = Video.objects.select_related("run", "run__created_by", "run__schedule")
    lookup_field = "run_id"
    http_method_names = ["get", "post"]
    form_class = None
    form_name = ""  # the run page's context name for the bound form

    def act(self, video, user, data) -> str:
        raise NotImplementedError

    def on_invalid(self, request, form):
        pass

    def get(self, request, pk):
        return redirect("pipeline:run-detail", pk=pk)

    def post(self, request, pk):
        video = self.get_object()
        form = self.form_class(request.POST, request.FILES)
        if form.is_valid():
            try:
                message = self.act(video, request.user, form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, message)
                return redirect(video.run)
        self.on_invalid(request, form)
        return render_run_page(request, video.run, status=400, **{self.form_name: form})


class MetadataUpdateView(VideoFormActionView):
    form_class = MetadataForm
    form_name = "metadata_form"
    permission_denied_message = "Only the run's owner or an admin may edit its metadata."

    def act(self, video, user, data):
        services.update_metadata(video, user, **data)
        return "Metadata saved."


class VideoPublishView(VideoFormActionView):
    form_class = PublishForm
    form_name = "publish_form"
    permission_denied_message = "Only the run's owner or an admin may publish its video."

    def act(self, video, user, data):
        services.publish_video(video, user, privacy=data["privacy"], publish_at=data.get("publish_at"))
        return f"{video.run}: uploading to YouTube. Follow the publish stage below."

    def on_invalid(self, request, form):
        if not form.errors:
            form.add_error(None, "The video could not be published.")
        messages.error(request, "The video was not published: see the errors in the publish form.")


class ThumbnailUploadView(VideoFormActionView):
    form_class = ThumbnailUploadForm
    form_name = "thumbnail_form"
    permission_denied_message = "Only the run's owner or an admin may change its artwork."

    def act(self, video, user, data):
        services.replace_thumbnail(video, user, data["thumbnail"])
        return "Your thumbnail is saved (fitted to 1280x720)."


class CoverUploadView(VideoFormActionView):
    form_class = CoverUploadForm
    form_name = "cover_form"
    permission_denied_message = "Only the run's owner or an admin may change its artwork."

    def act(self, video, user, data):
        run = services.replace_cover(video, user, data["cover"])
        return f"Your cover art is saved; {run} renders the video and the thumbnail again with it."


class RunMediaView(ObjectPermissionMixin, View):
    """A run's audio, video, cover or thumbnail for everyone who may see the run; seekable (Range)."""

    queryset = Video.objects.all()
    lookup_field = "run_id"

    def get(self, request, pk, kind):
        if kind not in MEDIA_KINDS:
            raise Http404("No such media.")
        video = self.get_object()
        return serve_media_file(request, getattr(video, kind), f"run-{pk}-{kind}")


# --- videos ------------------------------------------------------------------------------------
class VideoListView(PipelinePageMixin, ObjectListView):
    queryset = (Video.objects.exclude(video="").select_related("run", "run__created_by")
                .order_by("-created_at", "-id"))
    tab = "videos"
    template_name = "pipeline/video_list.html"
    context_object_name = "videos"
    paginate_by = 24

    def get_context_data(self, **kwargs):
        return super().get_context_data(storage=services.storage_used(), **kwargs)
