"""Admin pages of the pipeline (admins only, see lofisite.admin_site).

Changes to runs go through the dashboard and the services; here runs, stages and
the quota ledger are read-only. The YouTube channel shows who connected it and
when, never its client secret or refresh token: those fields are left out of the
form, the list and the change view altogether.
"""

from django.contrib import admin

from lofisite.formatting import format_duration, format_percent

from .models import QuotaUsage, Run, Schedule, Stage, Track, Video, YouTubeChannel


class ReadableMixin:
    """Progress as a percentage and durations as h:mm:ss instead of raw 0.5025 and 4500."""

    @admin.display(description="progress", ordering="progress")
    def progress_percent(self, obj):
        return format_percent(obj.progress)

    @admin.display(description="duration", ordering="duration_s")
    def duration(self, obj):
        return format_duration(obj.duration_s)


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class StageInline(ReadableMixin, ReadOnlyMixin, admin.TabularInline):
    model = Stage
    fields = ("name", "status", "attempts", "progress_percent", "started_at", "finished_at", "error", "log")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False


@admin.register(Run)
class RunAdmin(ReadableMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "status", "preset", "duration", "progress_percent", "publish_target", "created_by",
                    "created_at", "finished_at")
    list_filter = ("status", "preset", "publish_target", "audio_source")
    search_fields = ("id", "preset", "created_by__username", "error")
    date_hierarchy = "created_at"
    list_select_related = ("created_by",)
    # progress shown as a percentage instead of the raw fraction
    exclude = ["progress"]
    readonly_fields = [field.name for field in Run._meta.fields if field.name != "progress"] + ["progress_percent"]
    inlines = [StageInline]


@admin.register(Video)
class VideoAdmin(ReadableMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "title", "run", "duration", "size_bytes", "upload_status", "youtube_url", "created_at")
    list_filter = ("upload_status", "metadata_edited")
    search_fields = ("title", "description", "youtube_id")
    list_select_related = ("run",)
    fields = ("run", "title", "description", "tags", "metadata_edited", "tracklist", "audio", "cover", "video",
              "thumbnail", "duration_s", "size_bytes", "loudness_lufs", "youtube_id", "youtube_url", "upload_status",
              "upload_error", "uploaded_at", "created_at")
    # Metadata edits go through the run page (validated against YouTube's limits); here it is for reading.
    readonly_fields = fields


@admin.register(Track)
class TrackAdmin(ReadableMixin, admin.ModelAdmin):
    list_display = ("title", "duration", "size_bytes", "uploaded_by", "created_at")
    search_fields = ("title",)
    list_select_related = ("uploaded_by",)
    readonly_fields = ("file", "duration_s", "size_bytes", "uploaded_by", "created_at")

    def has_add_permission(self, request):
        return False  # uploads are decoded and validated by the Tracks page


@admin.register(Schedule)
class ScheduleAdmin(ReadableMixin, admin.ModelAdmin):
    list_display = ("name", "cron", "timezone", "preset", "duration", "enabled", "next_run_at", "last_run_at",
                    "created_by")
    list_filter = ("enabled", "preset")
    search_fields = ("name",)
    list_select_related = ("created_by",)
    # Name and on/off only: the cron, time zone and preset are validated on the Schedules page.
    readonly_fields = ("cron", "timezone", "preset", "duration_s", "audio_source", "publish_target", "privacy",
                       "next_run_at", "last_run_at", "created_by", "created_at")

    def has_add_permission(self, request):
        return False  # created on the Schedules page, which validates the cron and sets the owner

    def save_model(self, request, obj, form, change):
        from . import services

        services.save_schedule(request.user, obj)  # validates the cron, recomputes next_run_at


@admin.register(QuotaUsage)
class QuotaUsageAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("day", "bucket", "units", "operation", "video", "user", "created_at")
    list_filter = ("bucket", "operation", "day")
    date_hierarchy = "day"
    list_select_related = ("video", "user")
    readonly_fields = ("day", "bucket", "units", "operation", "video", "user", "created_at")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(YouTubeChannel)
class YouTubeChannelAdmin(admin.ModelAdmin):
    """Shows who connected the channel; the secrets never leave the database."""

    list_display = ("channel_title", "client_id", "connected_by", "connected_at")
    fields = ("channel_title", "client_id", "connected_by", "connected_at")
    readonly_fields = ("client_id", "connected_by", "connected_at")
    exclude = ("client_secret", "refresh_token")

    def has_add_permission(self, request):
        return False  # connect with `manage.py youtube_connect`, which stores the secrets encrypted
