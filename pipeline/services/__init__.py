"""Every change to runs, stages, videos, tracks, schedules and the channel.

Views, the API, commands, tasks and the scheduler call these (`from pipeline import
services; services.start_run(...)`); they never call each other. The modules, by what a
reader looks for:

- `runs`: start, cancel, retry; the rules a run's settings meet (choices, publish, clips)
- `execution`: `execute_next_stage` (one stage per task), stage bookkeeping, render slots,
  the hook for a worker that died mid-stage
- `schedules`, `tracks`, `channel` (connect/disconnect YouTube)
- `publishing`: metadata edits and the upload to YouTube
- `artwork`: the thumbnail that follows the title, one's own cover or thumbnail
- `media`: deleting a run with its files, retention, storage used
- `queries`: read-only questions (runs today, success rate, latest video) and the
  YouTube quota ledger
- `base`: the permission guard and status groups they share

Every public name is re-exported here, so callers and settings' dotted paths
(`pipeline.services.fire_due_schedules`) need not know which module holds it.
"""

from .artwork import IMAGE_FORMATS, IMAGE_MIN_SIZE, regenerate_thumbnail, replace_cover, replace_thumbnail
from .base import DONE_STAGE_STATUSES, TERMINAL_RUN_STATUSES
from .channel import channel_connected, connect_channel, disconnect_channel
from .execution import (
    RENDER_SLOT_POLL_SECONDS,
    RENDER_SLOT_WAIT_LINE,
    RenderSlotBusy,
    RunCancelled,
    execute_next_stage,
    executing_inline,
    on_stage_worker_died,
    release_stale_render_slots,
)
from .media import delete_run, purge_library_media, storage_used
from .publishing import publish_video, update_metadata
from .queries import (
    QUOTA_LABELS,
    QuotaUsedUp,
    check_quota,
    dashboard_stats,
    forget_dashboard_stats,
    latest_video,
    quota_day,
    quota_limit,
    quota_summary,
    quota_used,
    record_quota,
    runs_today,
    success_rate,
)
from .runs import (
    CLIP_EXTENSIONS,
    MIB,
    cancel_run,
    check_clip,
    new_seed,
    publish_errors,
    retry_run,
    start_run,
    validate_clip,
)
from .schedules import delete_schedule, fire_due_schedules, run_schedule_now, save_schedule
from .tracks import add_track, delete_track

__all__ = [
    "CLIP_EXTENSIONS", "DONE_STAGE_STATUSES", "IMAGE_FORMATS", "IMAGE_MIN_SIZE", "MIB", "QUOTA_LABELS",
    "RENDER_SLOT_POLL_SECONDS", "RENDER_SLOT_WAIT_LINE", "TERMINAL_RUN_STATUSES", "QuotaUsedUp", "RenderSlotBusy",
    "RunCancelled", "add_track", "cancel_run", "channel_connected", "check_clip", "check_quota", "connect_channel",
    "dashboard_stats", "delete_run", "delete_schedule", "delete_track", "disconnect_channel", "execute_next_stage",
    "forget_dashboard_stats",
    "executing_inline", "fire_due_schedules", "latest_video", "new_seed", "on_stage_worker_died",
    "publish_errors", "publish_video", "purge_library_media", "quota_day", "quota_limit", "quota_summary",
    "quota_used", "record_quota", "regenerate_thumbnail", "release_stale_render_slots", "replace_cover",
    "replace_thumbnail", "retry_run", "run_schedule_now", "runs_today", "save_schedule", "start_run",
    "storage_used", "success_rate", "update_metadata", "validate_clip",
]
