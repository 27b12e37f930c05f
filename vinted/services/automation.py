"""Automation of one Vinted account (part 3): the switches, pause-all, the history and what is planned.

The three features live in their own modules (vinted.services.replies, .price_drops, .reposts); this
one holds what they share:

- **Opt-in per account**: `settings_for(account)` is the account's AutomationSettings (every feature
  off; the unsaved defaults until a change makes the row with `create=True`: reading writes nothing).
  `inactive_reason(account, feature)` is "" when the feature may act now, else why not (the account
  is not active, automation is paused, the feature is off). Every feature asks it before each action,
  so a pause takes effect at once, also for what was already scheduled.
- **A block pauses everything**: when the ledger puts an account in cool-down or blocks it
  (vinted.ledger._set_status), `pause_for_block` pauses the account's automation with Vinted's reason.
  It stays paused until the seller resumes it (after a block a person should look first).
- **History**: `record(...)` writes one AutomationEvent per automatic action or decision not to act.
- **What is planned**: `upcoming(account, hours)` gathers each feature's `upcoming()` (Planned rows).
- **Changes by people**: `update_settings(account, changes, by_user=)` is the one place the settings
  change (the Automation page's form and the API's PATCH both call it): it validates the whole
  result (ValidationError with field errors, nothing saved), saves and records an Event. `resume`
  is refused while Vinted blocks the account (cooling down or blocked): resuming then would only
  meet the block again. `status(account)` is what the page's banner and the API say.

Times: nights and busy windows are in the account's time zone (`zone(automation)`).
"""

import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.roles import Action
from monitoring.events import record_event

from ..choices import AccountStatus, AutomationFeature, AutomationOutcome, ReplyIntent, ReplyTone
from ..models import AutomationEvent, AutomationSettings, VintedAccount

FEATURE_SWITCHES = {
    AutomationFeature.PRICE_DROPS: "price_drops_enabled",
    AutomationFeature.REPOSTS: "reposts_enabled",
}


@dataclass
class Planned:
    """One thing automation will do: when, which feature, what (for people), on what."""

    at: datetime
    feature: str
    what: str
    listing: object = None
    conversation: object = None
    details: dict = field(default_factory=dict)


def settings_for(account: VintedAccount, *, create: bool = False) -> AutomationSettings:
    """The account's automation settings (every feature off until the seller turns it on). An account
    without a row gets the defaults, unsaved, so that reading (pages, API, previews) writes nothing;
    `create=True` (for the functions that change them) makes the row."""
    try:
        automation = account.automation
    except AutomationSettings.DoesNotExist:
        automation = None
    if automation is None or (create and automation.pk is None):
        if create:
            automation, _ = AutomationSettings.objects.get_or_create(account=account)
        else:
            automation = AutomationSettings(account=account)
        account.automation = automation
    return automation


def feature_on(automation: AutomationSettings, feature: str) -> bool:
    if feature == AutomationFeature.REPLIES:  # suggestions always; auto-send for the chosen intents
        return bool(automation.auto_reply_intents)
    return bool(getattr(automation, FEATURE_SWITCHES[AutomationFeature(feature)]))


def inactive_reason(account: VintedAccount, feature: str | None = None) -> str:
    """"" when automation (this feature) of the account may act now, else why not (for people)."""
    if account.status != AccountStatus.ACTIVE:
        return f"The account is {account.get_status_display().lower()}: {account.status_message}".rstrip(": ")
    automation = settings_for(account)
    if automation.paused:
        return automation.paused_reason or "Automation of this account is paused."
    if feature is not None and not feature_on(automation, feature):
        return f"{AutomationFeature(feature).label} are off for this account."
    return ""


def record(account, feature: str, outcome: str, message: str, *, listing=None, conversation=None,
           **details) -> AutomationEvent:
    return AutomationEvent.objects.create(account=account, feature=feature, outcome=outcome, message=message[:500],
                                          listing=listing, conversation=conversation, details=details)


def _require_change(by_user, account) -> None:
    if not VintedAccount.objects.permits(by_user, account, Action.CHANGE):
        raise PermissionDenied("You may not change the automation of this Vinted account.")


def pause(account: VintedAccount, *, by_user=None, reason: str = "") -> AutomationSettings:
    """Pause every automation of the account (by a person: `by_user`; by the system: `reason`)."""
    if by_user is not None:
        _require_change(by_user, account)
    automation = settings_for(account, create=True)
    if automation.paused:
        return automation
    automation.paused, automation.paused_reason, automation.paused_at = True, reason[:300], timezone.now()
    automation.save(update_fields=["paused", "paused_reason", "paused_at", "updated_at"])
    message = f"Automation paused: {reason}" if reason else "Automation paused by hand."
    for feature in AutomationFeature.values:
        if feature_on(automation, feature):
            record(account, feature, AutomationOutcome.PAUSED, message)
    record_event("vinted", "automation.paused", "warning" if reason else "info",
                 f"Vinted account {account.label}: {message}"[:1000], {"account": account.pk},
                 user=by_user or account.owner, target=account)
    return automation


BLOCKED_STATUSES = (AccountStatus.COOLING_DOWN, AccountStatus.BLOCKED)
BLOCK_REASON = "Vinted blocked the account"


def resume(account: VintedAccount, *, by_user) -> AutomationSettings:
    """Resume the account's automation; refused while Vinted blocks the account (ValidationError)."""
    _require_change(by_user, account)
    if account.status in BLOCKED_STATUSES:
        raise ValidationError(
            f"Automation cannot be resumed while the account is {account.get_status_display().lower()}: "
            "Vinted blocked it. Resume it once the account is active again.", code="blocked")
    automation = settings_for(account, create=True)
    if automation.paused:
        automation.paused, automation.paused_reason, automation.paused_at = False, "", None
        automation.save(update_fields=["paused", "paused_reason", "paused_at", "updated_at"])
        record_event("vinted", "automation.resumed", "info", f"Vinted account {account.label}: automation resumed.",
                     {"account": account.pk}, user=by_user, target=account)
    return automation


def pause_for_block(account: VintedAccount, message: str) -> None:
    """The ledger saw a block (cool-down or blocked): nothing automatic runs until the seller resumes."""
    pause(account, reason=f"{BLOCK_REASON} ({message})"[:300])


# --- time --------------------------------------------------------------------------------------------

def zone(automation: AutomationSettings) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(automation.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def clean_time_zone(name) -> str:
    name = str(name or "").strip()
    if name not in zoneinfo.available_timezones():
        raise ValidationError({"time_zone": f"{name or 'an empty name'!r} is not a time zone (e.g. Europe/Paris)."})
    return name


def _as_time(value) -> time:
    return value if isinstance(value, time) else time.fromisoformat(str(value))


def is_night(automation: AutomationSettings, moment: datetime) -> bool:
    """`moment` falls in the account's night (night_start..night_end, across midnight when start > end)."""
    local = moment.astimezone(zone(automation)).time()
    start, end = _as_time(automation.night_start), _as_time(automation.night_end)
    if start == end:
        return False
    return start <= local < end if start < end else (local >= start or local < end)


def night_ends_after(automation: AutomationSettings, moment: datetime) -> datetime:
    """The first moment at or after `moment` that is not night."""
    if not is_night(automation, moment):
        return moment
    tz = zone(automation)
    local = moment.astimezone(tz)
    end = _as_time(automation.night_end)
    candidate = datetime.combine(local.date(), end, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=tz)
    return candidate.astimezone(moment.tzinfo or timezone.get_current_timezone())


# --- what is planned ------------------------------------------------------------------------------------

UPCOMING_HOURS_MAX = 168  # how far ahead `upcoming` may look (the API's and the command's limit)


def upcoming(account: VintedAccount, *, hours: int = 24, now=None) -> list[Planned]:
    """Everything automation of the account would do in the next `hours`, soonest first (each feature's
    upcoming() applies its own rules; a paused or inactive account plans nothing)."""
    from . import price_drops, replies, reposts

    if inactive_reason(account):
        return []
    now = now or timezone.now()
    until = now + timedelta(hours=hours)
    planned = []
    for module in (replies, price_drops, reposts):
        planned += [item for item in module.upcoming(account, now=now, until=until) if item.at <= until]
    return sorted(planned, key=lambda item: item.at)


# --- what the page and the API say ------------------------------------------------------------------

def status(account: VintedAccount) -> dict:
    """The account's automation as people read it: `state` "active" / "paused" / "inactive", a
    `headline`, the `reason`, `since` (when it was paused), `blocked` (Vinted blocked the account or
    paused it by blocking) and `can_resume` (paused and the account may resume now)."""
    automation = settings_for(account)
    account_blocked = account.status in BLOCKED_STATUSES
    paused_by_block = automation.paused and automation.paused_reason.startswith(BLOCK_REASON)
    answer = {"paused": automation.paused, "reason": automation.paused_reason, "since": automation.paused_at,
              "blocked": account_blocked or paused_by_block,
              "can_resume": automation.paused and not account_blocked,
              "features_on": [AutomationFeature(feature).label for feature in AutomationFeature.values
                              if feature_on(automation, feature)]}
    if automation.paused and answer["blocked"]:
        headline = "Automation is paused because Vinted blocked this account. It stays paused until you resume it"
        headline += "." if not account_blocked else \
            f"; that is possible once the account is active again (now {account.get_status_display().lower()})."
        state = "paused"
    elif automation.paused:
        headline, state = "Automation is paused by hand: nothing runs until you resume it.", "paused"
    elif account_blocked:  # blocked before automation existed for it: pause_for_block did not run yet
        headline, state = (f"Automation cannot run: Vinted blocked this account "
                           f"({account.get_status_display().lower()})."), "inactive"
    elif account.status != AccountStatus.ACTIVE:
        headline, state = f"Automation cannot run: {inactive_reason(account)}", "inactive"
    elif not answer["features_on"]:
        headline, state = "Automation is on, but every feature is off: only reply suggestions are made.", "active"
    else:
        headline, state = f"Automation is active: {', '.join(answer['features_on']).lower()}.", "active"
    return {**answer, "state": state, "headline": headline}


# --- settings changed by people ----------------------------------------------------------------------

DELAY_MAX_SECONDS = 3600
REPLIES_PER_CONVERSATION_MAX = 10
REPOST_AFTER_DAYS_MAX = 365
BUSY_WINDOWS_MAX = 20
EDITABLE_FIELDS = (
    "time_zone", "reply_tone", "auto_reply_intents", "auto_replies_per_conversation",
    "auto_reply_delay_min_seconds", "auto_reply_delay_max_seconds", "night_start", "night_end",
    "price_drops_enabled", "reposts_enabled", "repost_after_days", "busy_windows",
)
# Offers are answered by the seller only: nothing is accepted or countered automatically.
AUTO_SEND_INTENTS = [intent for intent in ReplyIntent if intent != ReplyIntent.OFFER]


def _clean_int(errors: dict, name: str, value, low: int, high: int, unit: str = "") -> int | None:
    try:
        number = value if isinstance(value, int) and not isinstance(value, bool) else int(str(value).strip())
    except ValueError:
        errors[name] = "Enter a whole number."
        return None
    if not low <= number <= high:
        errors[name] = f"Enter a number from {low} to {high}{unit}."
    return number


def _clean_intents(errors: dict, value) -> list:
    if not isinstance(value, list | tuple):
        errors["auto_reply_intents"] = "Give a list of intents."
        return []
    intents = []
    for item in value:
        if item == ReplyIntent.OFFER:
            errors["auto_reply_intents"] = "Offers are never answered automatically: the seller decides."
        elif item not in ReplyIntent.values:
            errors["auto_reply_intents"] = f"{item!r} is not an intent (one of {', '.join(AUTO_SEND_INTENTS)})."
        elif item not in intents:
            intents.append(item)
    return intents


def _clean_time(errors: dict, name: str, value) -> time | None:
    try:
        return _as_time(value)
    except (TypeError, ValueError):
        errors[name] = "Enter a time such as 22:00."
        return None


def update_settings(account: VintedAccount, changes: dict, *, by_user) -> AutomationSettings:
    """Change the account's automation settings (only the EDITABLE_FIELDS given in `changes`). The
    result is validated as a whole (e.g. the minimum delay against the stored maximum); any error
    raises a ValidationError with field errors and nothing is saved. An Event names what changed."""
    _require_change(by_user, account)
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError({name: "This setting does not exist or cannot be changed here." for name in unknown})
    automation = settings_for(account)
    values = {name: getattr(automation, name) for name in EDITABLE_FIELDS} | dict(changes)
    errors: dict = {}
    cleaned = {}
    try:
        cleaned["time_zone"] = clean_time_zone(values["time_zone"])
    except ValidationError as exc:
        errors.update({name: messages[0] for name, messages in exc.message_dict.items()})
    if values["reply_tone"] not in ReplyTone.values:
        errors["reply_tone"] = f"Choose one of {', '.join(ReplyTone.values)}."
    cleaned["reply_tone"] = values["reply_tone"]
    cleaned["auto_reply_intents"] = _clean_intents(errors, values["auto_reply_intents"])
    cleaned["auto_replies_per_conversation"] = _clean_int(
        errors, "auto_replies_per_conversation", values["auto_replies_per_conversation"], 0,
        REPLIES_PER_CONVERSATION_MAX)
    for name in ("auto_reply_delay_min_seconds", "auto_reply_delay_max_seconds"):
        cleaned[name] = _clean_int(errors, name, values[name], 0, DELAY_MAX_SECONDS, " seconds")
    low, high = cleaned["auto_reply_delay_min_seconds"], cleaned["auto_reply_delay_max_seconds"]
    if low is not None and high is not None and low > high and "auto_reply_delay_min_seconds" not in errors:
        errors["auto_reply_delay_min_seconds"] = "The shortest delay cannot be longer than the longest."
    for name in ("night_start", "night_end"):
        cleaned[name] = _clean_time(errors, name, values[name])
    for name in ("price_drops_enabled", "reposts_enabled"):
        if not isinstance(values[name], bool):
            errors[name] = "Say true or false."
        cleaned[name] = values[name]
    cleaned["repost_after_days"] = _clean_int(errors, "repost_after_days", values["repost_after_days"], 1,
                                              REPOST_AFTER_DAYS_MAX, " days")
    try:
        cleaned["busy_windows"] = clean_busy_windows(values["busy_windows"])
    except ValidationError as exc:
        errors["busy_windows"] = exc.messages
    if errors:
        raise ValidationError(errors)
    changed = [name for name in EDITABLE_FIELDS if cleaned[name] != _comparable(getattr(automation, name))]
    if not changed:
        return automation
    automation = settings_for(account, create=True)  # the row is made only for a valid change
    for name in changed:
        setattr(automation, name, cleaned[name])
    automation.save(update_fields=[*changed, "updated_at"])
    record_event("vinted", "automation.settings_changed", "info",
                 f"Vinted account {account.label}: automation settings changed ({', '.join(changed)}).",
                 {"account": account.pk, "changed": changed}, user=by_user, target=account)
    return automation


def _comparable(value):
    return _as_time(value) if isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", value) else value


# --- busy windows: [{"days": [0..6], "start": "18:00", "end": "21:30"}] or text lines ------------------

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WINDOW_LINE = re.compile(r"^(?P<days>[A-Za-z][A-Za-z ,\-]*?)\s+"
                          r"(?P<start>\d{1,2}:\d{2})\s*[-–]\s*(?P<end>\d{1,2}:\d{2})$")
_HH_MM = re.compile(r"^\d{1,2}:\d{2}$")


def _day(name: str) -> int:
    key = name.strip()[:3].title()
    if len(name.strip()) < 3 or key not in DAY_NAMES:
        raise ValueError(name)
    return DAY_NAMES.index(key)


def _parse_days(text: str) -> list[int]:
    days = []
    for part in text.split(","):
        if "-" in part:
            first, last = (_day(name) for name in part.split("-", 1))
            span = range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)]
        else:
            span = [_day(part)]
        days += [day for day in span if day not in days]
    return sorted(days)


def parse_busy_windows(text: str) -> list[dict]:
    """Text lines such as "Mon-Fri 18:00-21:30" or "Sat,Sun 10:00-12:00" as busy windows (ValidationError
    naming the line that is wrong). Empty lines are skipped; no line at all: no window."""
    windows, errors = [], []
    for number, line in enumerate(str(text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        match = _WINDOW_LINE.match(line)
        try:
            if not match:
                raise ValueError(line)
            windows.append({"days": _parse_days(match["days"]), "start": match["start"], "end": match["end"]})
        except ValueError:
            errors.append(f"Line {number} ({line[:40]!r}): write days and hours like “Mon-Fri 18:00-21:30”.")
    if errors:
        raise ValidationError(errors)
    return clean_busy_windows(windows)


def clean_busy_windows(value) -> list[dict]:
    """Busy windows checked and normalised ("18:00" times, sorted days); text is parsed first."""
    if isinstance(value, str):
        return parse_busy_windows(value)
    if not isinstance(value, list | tuple):
        raise ValidationError("Give a list of windows: {\"days\": [0..6], \"start\": \"18:00\", \"end\": \"21:30\"}.")
    if len(value) > BUSY_WINDOWS_MAX:
        raise ValidationError(f"At most {BUSY_WINDOWS_MAX} busy windows.")
    windows, errors = [], []
    for number, window in enumerate(value, start=1):
        try:
            windows.append(_clean_window(window))
        except ValueError as exc:
            errors.append(f"Window {number}: {exc}.")
    if errors:
        raise ValidationError(errors)
    return windows


def _clean_window(window) -> dict:
    if not isinstance(window, dict) or set(window) != {"days", "start", "end"}:
        raise ValueError("give days, start and end (and nothing else)")
    days = window["days"]
    if (not isinstance(days, list) or not days
            or any(isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6 for day in days)):
        raise ValueError("days is a list of day numbers, 0 (Monday) to 6 (Sunday)")
    try:
        start, end = (time.fromisoformat(window[name].zfill(5)) for name in ("start", "end")
                      if isinstance(window[name], str) and _HH_MM.match(window[name]))
    except ValueError:  # fewer than two times, or "25:00"
        raise ValueError("start and end are times such as 18:00") from None
    if start >= end:
        raise ValueError("the start must be before the end (a window ends the same day)")
    return {"days": sorted(set(days)), "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}


def format_busy_windows(windows) -> str:
    """Busy windows as the text lines parse_busy_windows reads."""
    return "\n".join(f"{_days_text(window['days'])} {window['start']}-{window['end']}" for window in windows or [])


def _days_text(days) -> str:
    runs, parts = [], []
    for day in sorted(days):
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{DAY_NAMES[run[0]]}-{DAY_NAMES[run[-1]]}")
        else:
            parts += [DAY_NAMES[day] for day in run]
    return ",".join(parts)
