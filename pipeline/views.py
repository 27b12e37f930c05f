"""HTML pages of the pipeline.

Thin: they read through `restrict()`, call `pipeline.services` for every
change, and put a service's ValidationError back on the form so the error
shows next to its field and what the user typed stays.

Permissions (NetBox style) come from the base views in `accounts.mixins`, which
apply each model's queryset rule once per request: an object the user may not see
is a 404; an object the user sees but may not change is a 403; anonymous visitors
are sent to the sign-in page. State changes are POST-only and CSRF-protected.
"""

import secrets
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.csp import CSP
from django.utils.http import urlencode
from django.views import View
from django.views.decorators.csp import csp_override
from django.views.generic import DetailView, FormView, TemplateView
from django_htmx.http import HttpResponseClientRedirect

from accounts.mixins import ObjectActionView, ObjectListView, ObjectPermissionMixin, RestrictedViewMixin
from accounts.roles import Action
from lofisite import crypto
from lofisite.media import serve_media_file
from lofisite.validation import error_text

from . import services, youtube_oauth
from .choices import AudioSource, PublishTarget, RunStatus
from .cron import describe_cron, upcoming_fire_times
from .durations import format_duration
from .filtersets import RunFilterSet
from .forms import (
    DURATION_CHOICES,
    ChannelForm,
    ChannelOAuthForm,
    CoverUploadForm,
    MetadataForm,
    PublishForm,
    RunForm,
    ScheduleForm,
    ThumbnailUploadForm,
    TrackUploadForm,
    apply_service_errors,
)
from .models import Run, Schedule, Track, Video, YouTubeChannel
from .timezones import canonical_timezone, timezone_names

MEDIA_KINDS = ("audio", "video", "cover", "thumbnail")


class PipelinePageMixin:
    """`tab` marks the pipeline section in the sub-navigation."""

    tab = "runs"

    def get_context_data(self, **kwargs):
        return super().get_context_data(tab=self.tab, **kwargs)


class FormStatusMixin:
    """Invalid forms answer 400 (bad input is a 4xx), with the errors next to the fields."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


# --- runs --------------------------------------------------------------------------------------
class RunListView(PipelinePageMixin, ObjectListView):
    queryset = Run.objects.select_related("created_by", "schedule", "video")
    filterset_class = RunFilterSet
    template_name = "pipeline/run_list.html"
    context_object_name = "runs"

    def get_context_data(self, **kwargs):
        return super().get_context_data(storage=services.storage_used(),
                                        deletable=self.ids_permitting(Action.DELETE), **kwargs)


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
    if video is None:
        return {"audio": "0", "visuals": "000", "meta": "0", "publish": run.status}
    editable = can_change and bool(video.title) and video.metadata_editable
    return {
        "audio": "1" if video.audio else "0",
        # The active flag too: the section's text changes when a run stops without a video.
        "visuals": "".join("1" if getattr(video, name) else "0" for name in ("cover", "video", "thumbnail"))
        + ("a" if run.is_active else ""),
        "meta": f"{int(bool(video.title))}{int(editable)}",
        "publish": f"{run.status}.{run.publish_target}.{video.upload_status}.{int(bool(video.youtube_id))}",
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
    from .engines.presets import PRESETS

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


# --- schedules ---------------------------------------------------------------------------------
class ScheduleListView(PipelinePageMixin, ObjectListView):
    queryset = Schedule.objects.select_related("created_by")
    tab = "schedules"
    template_name = "pipeline/schedule_list.html"
    context_object_name = "schedules"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(changeable=self.ids_permitting(Action.CHANGE), **kwargs)
        for schedule in context["schedules"]:  # this page's rows: the cron in plain words
            schedule.description = describe_cron(schedule.cron)
        return context


class ScheduleFormMixin(FormStatusMixin, PipelinePageMixin):
    queryset = Schedule.objects.all()
    tab = "schedules"
    template_name = "pipeline/schedule_form.html"
    form_class = ScheduleForm
    schedule = None

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.schedule}

    def form_valid(self, form):
        schedule = form.apply_to(self.schedule or Schedule())
        try:
            schedule = services.save_schedule(self.request.user, schedule)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        when = "disabled" if not schedule.enabled else (
            f"next run {schedule.next_run_at.astimezone(_zone(schedule.timezone)):%Y-%m-%d %H:%M} "
            f"({schedule.timezone})")
        messages.success(self.request, f"Schedule “{schedule}” saved; {when}.")
        return redirect("pipeline:schedule-list")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(schedule=self.schedule, timezone_names=timezone_names(), **kwargs)
        form = context["form"]
        cron, zone = form["cron"].value() or "", form["timezone"].value() or ""
        return {**context, **cron_preview(cron, zone)}


def cron_preview(cron, zone) -> dict:
    """The plain-language description and the next fire times of a cron in a zone, for the form."""
    cron, zone_name = " ".join(str(cron).split()), canonical_timezone(str(zone).strip())
    fire_times = upcoming_fire_times(cron, zone_name) if cron and zone_name else []
    return {"preview": {"cron": cron, "timezone": zone_name or str(zone).strip(),
                        "description": describe_cron(cron) if cron else "", "fire_times": fire_times,
                        "valid_zone": zone_name is not None}}


class ScheduleCronPreviewView(PipelinePageMixin, RestrictedViewMixin, TemplateView):
    """htmx: the description and next 5 fire times of what is typed in the schedule form."""

    queryset = Schedule.objects.all()
    template_name = "pipeline/_cron_preview_body.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(**cron_preview(self.request.GET.get("cron", "")[:100],
                                                       self.request.GET.get("timezone", "")[:64]), **kwargs)


def _zone(name):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


class ScheduleCreateView(ScheduleFormMixin, RestrictedViewMixin, FormView):
    permission_action = Action.ADD


class ScheduleUpdateView(ScheduleFormMixin, ObjectPermissionMixin, FormView):
    permission_action = Action.CHANGE  # the edit page too: 403 for a schedule that is not yours
    permission_denied_message = "Only its owner or an admin may change this schedule."

    @cached_property
    def schedule(self):
        return self.get_object()


class ScheduleActionView(ObjectActionView):
    queryset = Schedule.objects.all()

    def get_success_url(self, obj):
        return reverse("pipeline:schedule-list")


class ScheduleToggleView(ScheduleActionView):
    def act(self, schedule, user):
        schedule.enabled = not schedule.enabled
        services.save_schedule(user, schedule)
        return f"Schedule “{schedule}” {'enabled' if schedule.enabled else 'disabled'}."


class ScheduleRunNowView(ScheduleActionView):
    """"Run now": one run with the schedule's settings; the schedule's next fire time stays."""

    permission_denied_message = "Only its owner or an admin may run this schedule."

    def act(self, schedule, user):
        self.run = services.run_schedule_now(user, schedule)
        return f"{self.run} started from the schedule “{schedule}”; the next scheduled run stays as it was."

    def get_success_url(self, schedule):
        run = getattr(self, "run", None)
        return run.get_absolute_url() if run is not None else reverse("pipeline:schedule-list")


class ScheduleDeleteView(ScheduleActionView):
    permission_action = Action.DELETE

    def act(self, schedule, user):
        services.delete_schedule(schedule, user)
        return f"Schedule “{schedule}” deleted."


# --- tracks ------------------------------------------------------------------------------------
class TrackListView(PipelinePageMixin, ObjectListView):
    """The track library; operators and admins upload here (POST: add)."""

    queryset = Track.objects.select_related("uploaded_by")
    permission_denied_message = "Your role cannot upload tracks."
    tab = "tracks"
    template_name = "pipeline/track_list.html"
    context_object_name = "tracks"
    paginate_by = 50
    form = None

    def get_context_data(self, **kwargs):
        can_add = self.queryset.can_add(self.request.user)
        return super().get_context_data(
            form=(self.form or TrackUploadForm()) if can_add else None, can_add=can_add,
            deletable=self.ids_permitting(Action.DELETE), **kwargs)

    def post(self, request, *args, **kwargs):
        self.form = TrackUploadForm(request.POST, request.FILES)
        if self.form.is_valid():
            try:
                track = services.add_track(request.user, self.form.cleaned_data["file"],
                                           self.form.cleaned_data.get("title", ""))
            except ValidationError as exc:
                apply_service_errors(self.form, exc)
            else:
                messages.success(request, f"Track “{track}” added ({format_duration(track.duration_s)}).")
                return redirect("pipeline:track-list")
        self.object_list = self.get_queryset()
        return self.render_to_response(self.get_context_data(), status=400)


class TrackDeleteView(ObjectActionView):
    queryset = Track.objects.all()
    permission_action = Action.DELETE

    def act(self, track, user):
        services.delete_track(track, user)
        return f"Track “{track}” deleted."

    def get_success_url(self, obj):
        return reverse("pipeline:track-list")


class TrackAudioView(ObjectPermissionMixin, View):
    queryset = Track.objects.all()

    def get(self, request, pk):
        return serve_media_file(request, self.get_object().file, f"track-{pk}")


# --- YouTube channel ---------------------------------------------------------------------------
class ChannelView(PipelinePageMixin, RestrictedViewMixin, TemplateView):
    """Everyone sees whether a channel is connected; admins connect (POST: add) and disconnect it."""

    queryset = YouTubeChannel.objects.select_related("connected_by")
    write_action = Action.ADD
    permission_denied_message = "Only admins connect the YouTube channel."
    tab = "youtube"
    template_name = "pipeline/channel.html"

    def get_context_data(self, form=None, google_form=None, **kwargs):
        from . import stages, youtube

        can_connect = self.queryset.can_add(self.request.user)
        quota = []
        for bucket, label in ((youtube.QUOTA_BUCKET_UPLOADS, "Uploads (videos.insert)"),
                              (youtube.QUOTA_BUCKET_DEFAULT, "API units (thumbnails, lookups)")):
            used = stages.quota_used(bucket)
            limit = settings.YOUTUBE_DAILY_QUOTA.get(bucket, 0)
            quota.append({"label": label, "used": used, "limit": limit,
                          "fraction": min(used / limit, 1.0) if limit else 0})
        return super().get_context_data(
            channel=self.get_queryset().first(),
            can_connect=can_connect, form=(form or ChannelForm()) if can_connect else None, quota=quota,
            google_form=(google_form or ChannelOAuthForm(prefix="google")) if can_connect else None,
            quota_day=stages.quota_day(), callback_url=self.request.build_absolute_uri(
                reverse("pipeline:channel-callback")), **kwargs)

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        return allow_google_consent(response) if context.get("google_form") is not None else response

    def post(self, request, *args, **kwargs):
        form = ChannelForm(request.POST)
        if form.is_valid():
            try:
                services.connect_channel(request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "YouTube channel connected. New runs can upload to it.")
                return redirect("pipeline:channel")
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ChannelDisconnectView(RestrictedViewMixin, View):
    queryset = YouTubeChannel.objects.all()
    permission_action = Action.DELETE
    http_method_names = ["post"]

    def post(self, request):
        services.disconnect_channel(request.user)
        messages.success(request, "YouTube channel disconnected; its credentials were deleted.")
        return redirect("pipeline:channel")


# "Connect with Google": authorization code with PKCE, the callback on this site, the state checked.
OAUTH_SESSION_KEY = "pipeline.youtube_oauth"


def allow_google_consent(response):
    """The page with the "Connect with Google" form may submit to a redirect to Google's consent
    page: browsers apply CSP form-action to the redirects of a form's submission, so this page's
    policy adds the consent page's origin there (and nowhere else)."""
    policy = settings.SECURE_CSP
    if not policy:
        return response
    consent = urlsplit(settings.YOUTUBE_AUTH_URL)
    config = {**policy, "form-action": [*policy.get("form-action", [CSP.SELF]),
                                        f"{consent.scheme}://{consent.netloc}"]}
    return csp_override(config)(lambda request: response)(None)


class ChannelGoogleConnectView(ChannelView):
    """POST the OAuth client: keep a state and the PKCE verifier in the session, go to Google's consent."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        form = ChannelOAuthForm(request.POST, prefix="google")
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(google_form=form), status=400)
        verifier, challenge = youtube_oauth.pkce_pair()
        state = secrets.token_urlsafe(32)
        redirect_uri = request.build_absolute_uri(reverse("pipeline:channel-callback"))
        request.session[OAUTH_SESSION_KEY] = {
            "state": state, "verifier": verifier, "redirect_uri": redirect_uri,
            "client_id": form.cleaned_data["client_id"],
            "client_secret": crypto.encrypt(form.cleaned_data["client_secret"]),  # sessions are rows too
        }
        return redirect(youtube_oauth.consent_url(form.cleaned_data["client_id"], redirect_uri, state, challenge))


class ChannelGoogleCallbackView(RestrictedViewMixin, View):
    """Google sends the browser back here: check the state, trade the code, verify and save.

    Every failure is a message on the channel page and saves nothing; the pending
    request is used once (a reload or a replayed callback cannot connect)."""

    queryset = YouTubeChannel.objects.all()
    permission_action = Action.ADD
    permission_denied_message = "Only admins connect the YouTube channel."
    http_method_names = ["get"]

    def get(self, request):
        pending = request.session.pop(OAUTH_SESSION_KEY, None)
        try:
            message = self.connect(request, pending)
        except ValidationError as exc:
            messages.error(request, f"The channel was not connected: {error_text(exc, name_fields=False)}")
        else:
            messages.success(request, message)
        return redirect("pipeline:channel")

    def connect(self, request, pending) -> str:
        if not pending:
            raise ValidationError("no connection was started from this browser (or it was already used). "
                                  "Start again with “Connect with Google”. Nothing was saved.")
        if not secrets.compare_digest(request.GET.get("state", ""), pending["state"]):
            raise ValidationError("the answer from Google does not belong to the request this browser made "
                                  "(state mismatch). Start again with “Connect with Google”. Nothing was saved.")
        if request.GET.get("error") or not request.GET.get("code"):
            reason = request.GET.get("error", "no authorization code")
            raise ValidationError(f"Google did not grant access ({reason}). Nothing was saved.")
        client_secret = crypto.decrypt(pending["client_secret"])
        refresh_token = youtube_oauth.exchange_code(
            client_id=pending["client_id"], client_secret=client_secret, code=request.GET["code"],
            redirect_uri=pending["redirect_uri"], verifier=pending["verifier"])
        channel = services.connect_channel(request.user, client_id=pending["client_id"],
                                           client_secret=client_secret, refresh_token=refresh_token)
        return f"YouTube channel “{channel.channel_title}” connected. New runs can upload to it."
