"""Schedules: saved with a cron that fires, started by the scheduler or by "Run now"."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.roles import Action
from monitoring.events import record_event

from ..choices import PublishTarget
from ..cron import NeverFires, next_fire_time, validate_cron
from ..engines.presets import PRESETS
from ..models import Run, Schedule
from .base import require
from .channel import channel_connected
from .runs import start_run


@transaction.atomic
def save_schedule(user, schedule: Schedule) -> Schedule:
    if schedule.pk:
        require(user, schedule, Action.CHANGE)
    elif not Schedule.objects.can_add(user):
        raise PermissionDenied("Your role cannot create schedules.")
    else:
        schedule.created_by = user
    schedule.timezone = validate_cron(schedule.cron, schedule.timezone)
    schedule.full_clean(exclude=["created_by"])
    if schedule.preset not in PRESETS:
        raise ValidationError({"preset": f"Unknown preset {schedule.preset!r}."})
    schedule.next_run_at = next_fire_time(schedule.cron, schedule.timezone) if schedule.enabled else None
    schedule.save()
    return schedule


def delete_schedule(schedule: Schedule, user) -> None:
    require(user, schedule, Action.DELETE)
    schedule.delete()


def _start_from_schedule(schedule: Schedule, user) -> Run:
    target = schedule.publish_target
    if target == PublishTarget.YOUTUBE and not channel_connected():
        target = PublishTarget.LIBRARY
    return start_run(user, preset=schedule.preset, duration_s=schedule.duration_s,
                     audio_source=schedule.audio_source, publish_target=target, privacy=schedule.privacy,
                     schedule=schedule)


def run_schedule_now(user, schedule: Schedule) -> Run:
    """"Run now": one run with the schedule's settings, started by `user`; the next fire time stays."""
    require(user, schedule, Action.CHANGE)
    return _start_from_schedule(schedule, user)


def fire_due_schedules(now=None) -> int:
    """Scheduler hook: start one run per due schedule; claims each with a conditional UPDATE committed
    in one transaction with the run it starts."""
    now = now or timezone.now()
    fired = 0
    for schedule in Schedule.objects.filter(enabled=True, next_run_at__lte=now).select_related("created_by"):
        try:
            upcoming = next_fire_time(schedule.cron, schedule.timezone, after=now)
        except (NeverFires, ValueError, OSError) as exc:
            # A row saved around the services (admin, an older release): stop it, keep the scheduler up.
            if Schedule.objects.filter(pk=schedule.pk, next_run_at=schedule.next_run_at).update(
                    enabled=False, next_run_at=None):
                record_event("pipeline", "schedule.disabled", "failed",
                             f"Schedule {schedule} was disabled: its cron or time zone cannot fire ({exc}).",
                             {"schedule": schedule.pk})
            continue
        # The claim and the run it is for commit together: a scheduler that dies (or a database error)
        # between the two leaves the schedule due for the next tick instead of losing this fire.
        with transaction.atomic():
            claimed = Schedule.objects.filter(pk=schedule.pk, next_run_at=schedule.next_run_at).update(
                next_run_at=upcoming, last_run_at=now)
            if not claimed:
                continue  # another scheduler process took it
            try:
                with transaction.atomic():  # a refused run is rolled back alone; the fire is spent
                    _start_from_schedule(schedule, schedule.created_by)
                fired += 1
            except (ValidationError, PermissionDenied) as exc:
                record_event("pipeline", "schedule.failed", "failed", f"Schedule {schedule} could not start a "
                             f"run: {'; '.join(getattr(exc, 'messages', [str(exc)]))}", {"schedule": schedule.pk})
    return fired
