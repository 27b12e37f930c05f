"""Pipeline pages: the track library (upload, delete, listen)."""


from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View

from accounts.mixins import ObjectActionView, ObjectListView, ObjectPermissionMixin
from accounts.roles import Action
from lofisite.formatting import format_duration
from lofisite.media import serve_media_file

from .. import services
from ..forms import (
    TrackUploadForm,
    apply_service_errors,
)
from ..models import Track
from .base import PipelinePageMixin


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
        context = super().get_context_data(
            form=(self.form or TrackUploadForm()) if can_add else None, can_add=can_add, **kwargs)
        context["deletable"] = self.ids_permitting(Action.DELETE, context["object_list"])
        return context

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
