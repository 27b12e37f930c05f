"""A schedule's cron expression and time zone: the one check and the next fire times."""

from zoneinfo import ZoneInfo

from cron_descriptor import ExpressionDescriptor, FormatException, Options
from croniter import CroniterBadDateError as NeverFires
from croniter import croniter
from django.core.exceptions import ValidationError
from django.utils import timezone

from .timezones import canonical_timezone, unknown_timezone_message

__all__ = ["NeverFires", "describe_cron", "next_fire_time", "upcoming_fire_times", "validate_cron"]


def next_fire_time(cron: str, tz_name: str, after=None):
    """The next fire time after `after` (now); NeverFires when the expression never fires."""
    return _fire_times(cron, tz_name, after)()


def _fire_times(cron, tz_name, after):
    base = (after or timezone.now()).astimezone(ZoneInfo(tz_name))
    runs = croniter(cron, base)
    return lambda: runs.get_next(type(base))


def validate_cron(cron: str, tz_name: str):
    """The one check of a schedule's cron and time zone, for form, API, toggle and scheduler."""
    errors = {}
    zone = canonical_timezone(tz_name)
    if zone is None:
        errors["timezone"] = unknown_timezone_message(tz_name)
    if len(cron.split()) != 5 or not croniter.is_valid(cron):
        errors["cron"] = "Not a valid five-field cron expression (e.g. '0 18 * * *' = every day at 18:00)."
    else:
        try:
            # A day that never exists (31 February) is valid syntax but never fires.
            next_fire_time(cron, zone or "UTC")
        except NeverFires:
            errors["cron"] = (f"This expression never fires ({cron!r} names a day that does not exist): "
                              "choose a day of the month that every chosen month has.")
    if errors:
        raise ValidationError(errors)
    return zone


def upcoming_fire_times(cron: str, tz_name: str, count: int = 5, after=None) -> list:
    """The next `count` fire times in the schedule's zone (a preview); [] when it cannot fire."""
    try:
        following = _fire_times(cron, tz_name, after)
        return [following() for _ in range(count)]
    except (NeverFires, ValueError, KeyError, OSError):
        return []


def describe_cron(cron: str) -> str:
    """'30 7 * * 1-5' -> 'At 07:30, Monday through Friday' (24-hour clock); '' when not a cron."""
    options = Options()
    options.use_24hour_time_format = True
    try:
        return ExpressionDescriptor(cron, options).get_description()
    except (FormatException, ValueError, KeyError, IndexError):
        return ""
