"""Read-only admin views of the operations data; the one action is resetting a breaker."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.roles import Action
from lofisite.formatting import format_bytes, format_percent, format_short_duration
from lofisite.validation import error_text

from . import breakers
from .backups import files as backup_files
from .backups import services
from .backups.engines import BackupError
from .choices import BackupContent
from .models import AIUsage, Backup, CircuitBreaker, Delivery, Event, JobRun, JobStat, NotificationPreference


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


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "recipient", "channel", "destination", "status", "attempts", "response_code")
    list_filter = ("status", "channel")
    search_fields = ("kind", "error", "recipient__username")
    date_hierarchy = "created_at"


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ReadOnlyAdmin):
    # The webhook secret never shows; people change their own preferences on their page.
    list_display = ("user", "email_enabled", "webhook", "updated_at")
    fields = ("user", "email_enabled", "kinds", "webhook", "updated_at")
    readonly_fields = ("webhook",)

    @admin.display(description="webhook URL")
    def webhook(self, obj):
        from .notifications import shown_url

        return shown_url(obj.webhook_url) if obj.webhook_url else "—"  # its query may carry a token


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


@admin.register(Backup)
class BackupAdmin(admin.ModelAdmin):
    """Backups: list, download, verify, restore (after a confirmation page naming what is lost), delete.

    Every action goes through monitoring.backups.services; who may do it is the Backup rule (admins)."""

    list_display = ("id", "started_at", "kind", "content", "status", "size_display", "verification_status",
                    "verified_at", "created_by", "row_actions")
    list_filter = ("kind", "content", "status", "verification_status")
    date_hierarchy = "started_at"
    change_list_template = "admin/monitoring/backup/change_list.html"
    readonly_fields = ("kind", "content", "status", "vendor", "server_version", "schema_version", "files", "size",
                       "sha256", "encrypted", "created_by", "started_at", "finished_at", "error",
                       "verification_status", "verification_result", "verified_at")
    exclude = ("source_stats",)

    def _rule(self, request, action):
        return Backup.objects.model_permits(request.user, action)

    def has_view_permission(self, request, obj=None):
        return self._rule(request, Action.VIEW)

    def has_module_permission(self, request):
        return self._rule(request, Action.VIEW)

    def has_add_permission(self, request):
        return False  # "Back up now" on the list page, not a form

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return self._rule(request, Action.DELETE)

    def delete_model(self, request, obj):
        services.delete_backup(obj, user=request.user)

    def delete_queryset(self, request, queryset):
        for backup in queryset:
            services.delete_backup(backup, user=request.user)

    @admin.display(description="size", ordering="size")
    def size_display(self, obj):
        return format_bytes(obj.size)

    @admin.display(description="actions")
    def row_actions(self, obj):
        if obj.status != "succeeded":
            return "-"
        return format_html('<a href="{}">download</a> · <a href="{}">verify</a> · <a href="{}">restore…</a>',
                           reverse("admin:monitoring_backup_download", args=[obj.pk]),
                           reverse("admin:monitoring_backup_verify", args=[obj.pk]),
                           reverse("admin:monitoring_backup_restore", args=[obj.pk]))

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("backup-now/", wrap(self.backup_now_view), name="monitoring_backup_now"),
            path("<int:pk>/download/<str:part>/", wrap(self.download_view), name="monitoring_backup_download_part"),
            path("<int:pk>/download/", wrap(self.download_view), name="monitoring_backup_download"),
            path("<int:pk>/verify/", wrap(self.verify_view), name="monitoring_backup_verify"),
            path("<int:pk>/restore/", wrap(self.restore_view), name="monitoring_backup_restore"),
            *super().get_urls(),
        ]

    def _backup(self, request, pk, action):
        backup = get_object_or_404(Backup.objects.restrict(request.user, Action.VIEW), pk=pk)
        if not Backup.objects.permits(request.user, backup, action):
            raise PermissionDenied
        return backup

    def _list_url(self):
        return reverse("admin:monitoring_backup_changelist")

    def backup_now_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not Backup.objects.can_add(request.user):
            raise PermissionDenied
        content = request.POST.get("content", BackupContent.DATABASE)
        if content not in BackupContent.values:
            messages.error(request, f"Choose what to back up: {', '.join(BackupContent.values)}.")
            return redirect(self._list_url())
        try:
            backup = services.create_backup(content=content, user=request.user)
        except (BackupError, ValidationError) as exc:
            messages.error(request, f"The backup failed: {error_text(exc, name_fields=False)}")
        else:
            result = backup.verification_result
            if result.get("ok"):
                messages.success(request, f"Backup #{backup.pk} taken and verified ({result['tables']} tables, "
                                          f"{result['rows']} rows).")
            else:
                messages.error(request, f"Backup #{backup.pk} was taken but FAILED verification: "
                                        + "; ".join(result.get("differences", [])))
        return redirect(self._list_url())

    def download_view(self, request, pk, part=None):
        backup = self._backup(request, pk, Action.VIEW)
        entry = backup.file_for(part) if part else (backup.files[0] if backup.files else None)
        if entry is None:
            raise Http404("This backup has no such file.")
        try:
            handle = backup_files.open_stored(entry)
        except FileNotFoundError as exc:
            raise Http404("The backup file is missing from the backup storage.") from exc
        return FileResponse(handle, as_attachment=True, filename=entry["name"].rsplit("/", 1)[-1])

    def verify_view(self, request, pk):
        backup = self._backup(request, pk, Action.CHANGE)
        if request.method == "POST":
            backup = services.verify_backup(backup, user=request.user)
            result = backup.verification_result
            if result.get("ok"):
                messages.success(request, f"Backup #{backup.pk} verified: {result['tables']} tables, "
                                          f"{result['rows']} rows match the source.")
            else:
                messages.error(request, f"Backup #{backup.pk} FAILED verification: "
                                        + "; ".join(result.get("differences", [])))
            return redirect(self._list_url())
        return TemplateResponse(request, "admin/monitoring/backup/verify_confirm.html",
                                {**self.admin_site.each_context(request), "backup": backup, "opts": self.model._meta,
                                 "title": f"Verify backup #{backup.pk}"})

    def restore_view(self, request, pk):
        backup = self._backup(request, pk, Action.CHANGE)
        phrase = f"restore backup {backup.pk}"
        error = ""
        try:
            services.check_restorable(backup)
        except ValidationError as exc:
            error = error_text(exc, name_fields=False)
        if request.method == "POST" and not error:
            if request.POST.get("confirm", "").strip() != phrase:
                error = f'Type "{phrase}" to confirm.'
            else:
                try:
                    safety = services.restore_backup(backup, request.user)
                except (BackupError, ValidationError) as exc:
                    messages.error(request, error_text(exc, name_fields=False) if isinstance(exc, ValidationError)
                                   else str(exc))
                else:
                    messages.success(request, f"Backup #{backup.pk} restored. Safety backup #{safety.pk} holds the "
                                              "data as it was just before.")
                return redirect(self._list_url())
        changes = services.changes_since(backup) if not error or request.method == "POST" else []
        return TemplateResponse(request, "admin/monitoring/backup/restore_confirm.html", {
            **self.admin_site.each_context(request), "backup": backup, "opts": self.model._meta, "phrase": phrase,
            "changes": changes, "error": error, "title": f"Restore backup #{backup.pk}?",
        }, status=400 if error and request.method == "POST" else 200)
