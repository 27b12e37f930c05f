from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from accounts.mixins import RestrictedViewMixin, RoleRequiredMixin

from . import ai, audit, breakers
from .choices import JOB_ACTIVE_STATUSES
from .filtersets import EventFilterSet
from .models import AIUsage, CircuitBreaker, Event, JobRun, JobStat


def live_status(user) -> dict:
    """Breakers and jobs: the part of the page that refreshes itself."""
    return {
        "breakers": breakers.all_breakers(user),
        "job_stats": JobStat.objects.restrict(user),
        "active_runs": JobRun.objects.restrict(user).filter(status__in=JOB_ACTIVE_STATUSES).order_by("created_at")[:20],
        "can_reset": CircuitBreaker.objects.model_permits(user, "change"),
    }


class MonitoringView(RoleRequiredMixin, TemplateView):
    """Breakers, jobs, AI spend and the event log: everyone reads, admins reset breakers."""

    template_name = "monitoring/index.html"
    events_per_page = 25

    def get_context_data(self, **kwargs):
        user = self.request.user
        events = Event.objects.restrict(user).select_related("user")
        filterset = EventFilterSet(self.request.GET, queryset=events)
        sources = events.order_by("source").values_list("source", flat=True).distinct()
        filterset.form.fields["source"].widget = forms.Select(choices=[("", "Any source")] + [(s, s) for s in sources])
        # Each row links to its target (a generic relation): one query per target type, not per row.
        page = Paginator(filterset.qs.prefetch_related("target"), self.events_per_page).get_page(
            self.request.GET.get("page"))
        return super().get_context_data(
            **live_status(user),
            filterset=filterset,
            page_obj=page,
            ai_spend_of_everyone=AIUsage.objects.shows_everyone(user),
            show_payload=Event.objects.payload_visible_to(user),
            ai_enabled=ai.ai_enabled(),
            can_read_audit_log=audit.audit_queryset().model_permits(user),
            ai_month_total=ai.visible_month_spend(user),
            ai_budget=ai.budget_summary(user),
            ai_by_user=ai.spend_by_user(user),
            ai_by_type=ai.spend_by_request_type(user),
            **kwargs,
        )


class LiveStatusView(RoleRequiredMixin, TemplateView):
    """The breakers and jobs fragment, polled by htmx."""

    template_name = "monitoring/_live.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(**live_status(self.request.user), **kwargs)


class BreakerResetView(RestrictedViewMixin, View):
    """Admins reset a breaker (a change: CircuitBreakerQuerySet); others get a 403."""

    queryset = CircuitBreaker.objects.all()
    http_method_names = ["post"]

    def post(self, request, name):
        try:
            row = breakers.reset(name, by_user=request.user)
        except CircuitBreaker.DoesNotExist:
            raise Http404(f"No circuit breaker named {name!r}.")
        messages.success(request, f"Circuit breaker “{row.name}” was reset; calls go through again.")
        return redirect("monitoring:index")
