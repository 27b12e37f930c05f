"""Automation of one Vinted account (part 3): the switches, pause-all, the history and what is planned.

The three features live in their own modules (vinted.services.replies, .price_drops, .reposts); this
one holds what they share:

- **Opt-in per account**: `settings_for(account)` is the account's AutomationSettings (made on first
  use, every feature off). `inactive_reason(account, feature)` is "" when the feature may act now,
  else why not (the account is not active, automation is paused, the feature is off). Every feature
  asks it before each action, so a pause takes effect at once, also for what was already scheduled.
- **A block pauses everything**: when the ledger puts an account in cool-down or blocks it
  (vinted.ledger._set_status), `pause_for_block` pauses the account's automation with Vinted's reason.
  It stays paused until the seller resumes it (after a block a person should look first).
- **History**: `record(...)` writes one AutomationEvent per automatic action or decision not to act.
- **What is planned**: `upcoming(account, hours)` gathers each feature's `upcoming()` (Planned rows).

Times: nights and busy windows are in the account's time zone (`zone(automation)`).
"""

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.roles import Action
from monitoring.events import record_event

from ..choices import AccountStatus, AutomationFeature, AutomationOutcome
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


def settings_for(account: VintedAccount) -> AutomationSettings:
    """The account's automation settings (every feature off until the seller turns it on)."""
    try:
        return account.automation
    except AutomationSettings.DoesNotExist:
        automation, _ = AutomationSettings.objects.get_or_create(account=account)
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
    automation = settings_for(account)
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


def resume(account: VintedAccount, *, by_user) -> AutomationSettings:
    _require_change(by_user, account)
    automation = settings_for(account)
    if automation.paused:
        automation.paused, automation.paused_reason, automation.paused_at = False, "", None
        automation.save(update_fields=["paused", "paused_reason", "paused_at", "updated_at"])
        record_event("vinted", "automation.resumed", "info", f"Vinted account {account.label}: automation resumed.",
                     {"account": account.pk}, user=by_user, target=account)
    return automation


def pause_for_block(account: VintedAccount, message: str) -> None:
    """The ledger saw a block (cool-down or blocked): nothing automatic runs until the seller resumes."""
    pause(account, reason=f"Vinted blocked the account ({message})"[:300])


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
