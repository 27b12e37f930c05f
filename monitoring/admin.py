"""Read-only admin views of the operations data; the one action is resetting a breaker."""

from django.contrib import admin, messages

from lofisite.formatting import format_percent, format_short_duration

from . import breakers
from .models import AIUsage, CircuitBreaker, Event, JobRun, JobStat


class ReadOnlyAdmin(admin.ModelAdmin):
    """These rows are written by the system; the admin only looks."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "source", "kind", "status", "message", "user")
    list_filter = ("status", "source")
    search_fields = ("message", "kind")
    date_hierarchy = "created_at"


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "display_name", "status", "attempt", "max_attempts", "progress_percent", "created_at",
                    "started_at", "finished_at", "heartbeat_at", "worker_host")
    list_filter = ("status", "name")
    search_fields = ("name", "label", "error")
    date_hierarchy = "created_at"

    @admin.display(description="job", ordering="label")
    def display_name(self, obj):
        return obj.display_name

    @admin.display(description="progress", ordering="progress")
    def progress_percent(self, obj):
        return format_percent(obj.progress)


@admin.register(JobStat)
class JobStatAdmin(ReadOnlyAdmin):
    list_display = ("name", "runs", "failures", "consecutive_failures", "mean_duration", "last_status",
                    "last_run_at")

    @admin.display(description="mean duration")
    def mean_duration(self, obj):
        return format_short_duration(obj.mean_duration_seconds)


@admin.register(CircuitBreaker)
class CircuitBreakerAdmin(ReadOnlyAdmin):
    list_display = ("name", "state", "failure_count", "opened_at", "last_failure_at", "updated_at")
    actions = ["reset_breakers"]

    @admin.action(description="Reset (close) the selected breakers")
    def reset_breakers(self, request, queryset):
        for row in queryset:
            breakers.reset(row.name, by_user=request.user)
        messages.success(request, f"Reset {queryset.count()} breaker(s).")


@admin.register(AIUsage)
class AIUsageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "request_type", "model", "prompt_tokens", "completion_tokens", "images",
                    "cost_usd", "latency_ms", "success")
    list_filter = ("success", "request_type", "model")
    search_fields = ("user__username", "request_type")
    date_hierarchy = "created_at"
