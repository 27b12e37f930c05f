"""Pipeline pages: schedules (list, form with a cron preview, run now, toggle, delete)."""

from functools import cached_property

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import FormView, TemplateView

from accounts.mixins import ObjectActionView, ObjectListView, ObjectPermissionMixin, RestrictedViewMixin
from accounts.roles import Action

from .. import services
from ..cron import describe_cron, upcoming_fire_times
from ..forms import (
    ScheduleForm,
    apply_service_errors,
)
from ..models import Schedule
from ..timezones import canonical_timezone, timezone_names
from .base import FormStatusMixin, PipelinePageMixin


# --- schedules ---------------------------------------------------------------------------------
class ScheduleListView(PipelinePageMixin, ObjectListView):
    queryset = Schedule.objects.select_related("created_by")
    tab = "schedules"
    template_name = "pipeline/schedule_list.html"
    context_object_name = "schedules"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["changeable"] = self.ids_permitting(Action.CHANGE, context["schedules"])
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
