from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views import View
from django.views.generic import TemplateView

from accounts.mixins import ObjectPermissionMixin, RestrictedViewMixin
from accounts.roles import Action
from lofisite import health as site_health

from . import ai, audit, breakers, charts, health, jobs, system
from .choices import JOB_ACTIVE_STATUSES
from .filtersets import EventFilterSet
from .models import AIUsage, CircuitBreaker, Event, JobRun, JobStat, SystemSample


class MonitoringView(RestrictedViewMixin, TemplateView):
    """The overview (admins only, by the operations rule like the pages it summarises): the Breakers,
    Jobs and Events pages' own tables (the same partials, polled by their own fragments), and AI spend."""

    queryset = Event.objects.select_related("user")
    permission_action = Action.VIEW
    template_name = "monitoring/index.html"
    events_shown = 10

    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(
            **job_queue(user),
            breakers=breakers.all_breakers(user),
            can_reset=CircuitBreaker.objects.model_permits(user, Action.CHANGE),
            job_stats=JobStat.objects.restrict(user).order_by("name"),
            # Each row links to its target (a generic relation): one query per target type, not per row.
            recent_events=self.get_queryset().prefetch_related("target")[:self.events_shown],
            show_payload=Event.objects.payload_visible_to(user),
            ai_spend_of_everyone=AIUsage.objects.shows_everyone(user),
            ai_enabled=ai.ai_enabled(),
            can_read_audit_log=audit.audit_queryset().model_permits(user),
            ai_month_total=ai.visible_month_spend(user),
            ai_budget=ai.budget_summary(user),
            ai_by_user=ai.spend_by_user(user),
            ai_by_type=ai.spend_by_request_type(user),
            tab="overview",
            **kwargs,
        )


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
        # From the Breakers page back to it; from the overview (or anywhere else) to the overview.
        return redirect("monitoring:breakers" if request.POST.get("next") == "breakers" else "monitoring:index")


# --- the operations pages (admin-only: System, Jobs, Breakers, Events) --------------------------------------


class OpsPageMixin(RestrictedViewMixin):
    """An operations page: admins only, by the rule of its kind's queryset (`permission_action` admin)."""

    permission_action = Action.ADMIN
    tab = ""

    def get_context_data(self, **kwargs):
        return super().get_context_data(tab=self.tab, **kwargs)


class SystemView(OpsPageMixin, TemplateView):
    """Host, database and cache now, and their 24 h charts (SystemSample: admin-only, even to look)."""

    queryset = SystemSample.objects.all()
    permission_action = Action.VIEW
    template_name = "monitoring/system.html"
    tab = "system"

    def get_context_data(self, **kwargs):
        user = self.request.user
        # Every check with its time and message: the detail /health/ shows admins, run now.
        checks = site_health.report(site_health.run_checks()) if health.details_visible_to(user) else None
        return super().get_context_data(**system.current(user), charts=list(charts.SYSTEM_CHARTS), health=checks,
                                        sample_seconds=settings.SYSTEM_SAMPLE_SECONDS,
                                        keep_hours=settings.SYSTEM_SAMPLE_KEEP_HOURS, **kwargs)


def svg_response(svg: bytes) -> HttpResponse:
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "private, no-cache"
    return response


class SystemChartView(OpsPageMixin, View):
    queryset = SystemSample.objects.all()
    permission_action = Action.VIEW

    def get(self, request, name):
        draw = charts.SYSTEM_CHARTS.get(name)
        if draw is None:
            raise Http404(f"No system chart named {name!r}.")
        return svg_response(draw(system.recent_samples(request.user)))


def job_queue(user) -> dict:
    """The task queue: django-tasks-db's ready tasks, the worker and scheduler, and the runs not finished."""
    active = JobRun.objects.restrict(user).filter(status__in=JOB_ACTIVE_STATUSES)
    return {"queue": health.jobs_status(), "active_runs": active.order_by("created_at")[:50],
            "active_count": active.count()}


class JobsQueueView(OpsPageMixin, TemplateView):
    """The task queue fragment of the Jobs page, polled by htmx."""

    queryset = JobStat.objects.all()
    template_name = "monitoring/_jobs_queue.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(**job_queue(self.request.user), **kwargs)


class JobsView(OpsPageMixin, TemplateView):
    """The job wrapper's statistics, recent failures (retry now) and the task queue."""

    queryset = JobStat.objects.all()
    template_name = "monitoring/jobs.html"
    tab = "jobs"
    failures_shown = 25

    def get_context_data(self, **kwargs):
        user = self.request.user
        runs = JobRun.objects.restrict(user)
        return super().get_context_data(
            **job_queue(user),
            job_stats=self.queryset.order_by("name"),
            failed_runs=runs.filter(status__in=jobs.RETRYABLE_STATUSES).order_by("-finished_at", "-pk")[
                :self.failures_shown],
            jobs_chart_height=charts.job_chart_height(self.queryset.filter(runs__gt=0).count()),
            **kwargs,
        )


class JobsChartView(OpsPageMixin, View):
    queryset = JobStat.objects.all()

    def get(self, request):
        return svg_response(charts.job_success(self.queryset.order_by("name")))


class JobRetryView(ObjectPermissionMixin, View):
    """Retry now: a failed or dead run goes back to the queue (monitoring.jobs.retry_now)."""

    queryset = JobRun.objects.all()
    permission_action = Action.ADMIN
    http_method_names = ["post"]

    def post(self, request, pk):
        run = self.get_object()
        try:
            run = jobs.retry_now(run, by_user=request.user)
        except jobs.NotRetryable as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{run.display_name} is queued again (attempt 1 of {run.max_attempts}).")
        return redirect("monitoring:jobs")


class JobStatsResetView(RestrictedViewMixin, View):
    """Reset the counters of one job (`name`) or, without a name, of all jobs (monitoring.jobs.reset_stats)."""

    queryset = JobStat.objects.all()
    permission_action = Action.ADMIN
    http_method_names = ["post"]

    def post(self, request):
        name = request.POST.get("name", "").strip()
        if name:
            get_object_or_404(self.get_queryset(), name=name)
        count = jobs.reset_stats(name or None, by_user=request.user)
        messages.success(request, f"Statistics of {name or 'all jobs'} reset ({count} row(s)).")
        return redirect("monitoring:jobs")


class BreakersView(OpsPageMixin, TemplateView):
    """State, counts, last failure and open-until of every breaker; admins reset them."""

    queryset = CircuitBreaker.objects.all()
    template_name = "monitoring/breakers.html"
    tab = "breakers"

    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(breakers=breakers.all_breakers(user),
                                        can_reset=self.queryset.model_permits(user, Action.CHANGE), **kwargs)


class BreakersTableView(BreakersView):
    """The breakers table alone, polled by htmx."""

    template_name = "monitoring/_breakers_table.html"


class EventsView(OpsPageMixin, TemplateView):
    """The event log: filter by source, kind, status and time; newest first, paginated."""

    queryset = Event.objects.all()
    template_name = "monitoring/events.html"
    tab = "events"
    events_per_page = 50

    def get_context_data(self, **kwargs):
        events = self.get_queryset().select_related("user")
        filterset = EventFilterSet(self.request.GET, queryset=events)
        sources = events.order_by("source").values_list("source", flat=True).distinct()
        filterset.form.fields["source"].widget = forms.Select(choices=[("", "Any source")] + [(s, s) for s in sources])
        filterset.form.fields["since"].label, filterset.form.fields["until"].label = "From", "Before"
        kinds = events.order_by("kind").values_list("kind", flat=True).distinct()
        filterset.form.fields["kind"].widget = forms.Select(choices=[("", "Any kind")] + [(k, k) for k in kinds])
        filtered = filterset.is_bound and any(self.request.GET.get(name) for name in filterset.filters)
        page = None
        if filterset.is_valid():
            page = Paginator(filterset.qs.prefetch_related("target"), self.events_per_page).get_page(
                self.request.GET.get("page"))
        return super().get_context_data(filterset=filterset, page_obj=page, filtered=filtered,
                                        show_payload=Event.objects.payload_visible_to(self.request.user), **kwargs)
