"""Reposting stale items (part 3): plan, preview, schedule, cancel; the steps of one repost are in
vinted.services.repost_steps.

- **Stale**: a listing published on Vinted (a Vinted item id, status published, so unsold) on an account
  with reposts on, live for more than `repost_after_days` days since its publication (`listed_at`, else
  `created_at`; relist.stale_before / is_stale, the rule the relist itself applies), without an open
  Repost (scheduled, relisting, deleting).
- **Plan** (`plan`): each stale listing, oldest first, gets a slot in the account's busy windows
  (AutomationSettings.busy_windows, in the account's time zone), soonest window first. The new slots of a
  window are spread evenly over what is left of it (after `now` and after the window's slots already
  taken), at most settings.VINTED_REPOSTS_PER_DAY per account per local day, and never more in any hour
  than the ledger's hourly write limit leaves room for: a repost costs WRITES_PER_REPOST writes (the
  new item's submit and the old item's delete; photo uploads and page loads are reads), and the writes
  the ledger recorded in the last hour already use part of the coming hour.
- **Rows, not memory**: the scheduler hook `run_due_reposts` stores the plan as Repost rows (scheduled)
  and starts the due ones through the job wrapper (`vinted.repost`); it also moves on the reposts whose
  publication finished, so a restart between two steps loses nothing.

Choices where the issue is silent (written down here):

- A listing whose last repost was cancelled or failed is not planned again before `repost_after_days`
  more days (else a cancel would be undone at the next tick and a failure retried without a person).
- A dry-run account is planned like the others; when its repost is due nothing is sent, the history
  says what would have happened (outcome dry_run) and the repost ends cancelled with that message.
- A scheduled repost that could not start in time (automation paused or off, the account not active)
  and is more than LATE_AFTER late is dropped (and recorded as skipped): it is planned again in a
  coming busy window instead of running outside one.
- The hook plans PLAN_AHEAD_DAYS ahead; the preview looks `days` ahead and also shows the listings
  that become stale meanwhile.
"""

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.roles import Action

from ..choices import (
    AutomationFeature,
    AutomationOutcome,
    CallKind,
    CallOutcome,
    ListingStatus,
    RepostStatus,
)
from ..models import Listing, Repost, VintedAccount, VintedCall
from . import automation, relist

logger = logging.getLogger(__name__)

REPOST_JOB = "vinted.repost"
WRITES_PER_REPOST = 2  # the new item's submit and the old item's delete
OPEN_STATUSES = (RepostStatus.SCHEDULED, RepostStatus.RELISTING, RepostStatus.DELETING)
PLAN_AHEAD_DAYS = 2
LATE_AFTER = timedelta(minutes=30)
MIN_SPAN = timedelta(minutes=1)  # a window with less left than this takes no new slot
FEATURE = AutomationFeature.REPOSTS


@dataclass
class Slot:
    listing: Listing
    at: datetime
    stale_at: datetime


# --- busy windows ------------------------------------------------------------------------------------

def busy_windows(automation_row, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The busy windows (aware datetimes in the account's zone) that overlap [start, end), soonest first.
    A window ends the day it starts (automation.clean_busy_windows); a malformed entry is skipped (a bad
    row must not stop planning)."""
    tz = automation.zone(automation_row)
    windows = []
    day, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    while day <= last:
        for entry in automation_row.busy_windows or []:
            try:
                if day.weekday() not in [int(d) for d in entry["days"]]:
                    continue
                begins = datetime.combine(day, automation._as_time(entry["start"]), tzinfo=tz)
                ends = datetime.combine(day, automation._as_time(entry["end"]), tzinfo=tz)
            except (KeyError, TypeError, ValueError):
                continue
            if begins < ends and ends > start and begins < end:
                windows.append((begins, ends))
        day += timedelta(days=1)
    return sorted(set(windows))


def _local_day(automation_row, moment):
    return moment.astimezone(automation.zone(automation_row)).date()


def _fits_hourly(times: list[datetime], cap: int) -> bool:
    """No hour (starting at any of the times) holds more than `cap` of them."""
    ordered = sorted(times)
    end = 0
    for start, moment in enumerate(ordered):
        end = max(end, start)
        while end < len(ordered) and ordered[end] < moment + timedelta(hours=1):
            end += 1
        if end - start > cap:
            return False
    return True


# --- what is stale -------------------------------------------------------------------------------------

def published_at(listing) -> datetime:
    return listing.listed_at or listing.created_at


def live_listings(account):
    """The account's listings live on Vinted and unsold."""
    return (Listing.objects.filter(account=account, status=ListingStatus.PUBLISHED, sold_at__isnull=True)
            .exclude(vinted_item_id=""))


def _held_back(account, automation_row, now):
    """Listings not to plan: an open repost, or one cancelled or failed less than repost_after_days ago."""
    recent = now - timedelta(days=automation_row.repost_after_days)
    return (Repost.objects.filter(account=account)
            .filter(Q(status__in=OPEN_STATUSES)
                    | Q(status__in=(RepostStatus.CANCELLED, RepostStatus.FAILED), updated_at__gte=recent))
            .values("listing_id"))


def stale_listings(account, now=None, *, by=None) -> list[tuple[Listing, datetime]]:
    """(listing, stale since) of the account, oldest first: stale at `now`, or by `by` when given."""
    now = now or timezone.now()
    automation_row = automation.settings_for(account)
    days = automation_row.repost_after_days
    before = relist.stale_before(by or now, days)  # relist's own threshold, so the relist never refuses the plan
    listings = (live_listings(account).exclude(pk__in=_held_back(account, automation_row, now))
                .filter(Q(listed_at__lt=before) | Q(listed_at__isnull=True, created_at__lt=before))
                .order_by(F("listed_at").asc(nulls_first=True), "created_at", "pk"))
    return [(listing, published_at(listing) + timedelta(days=days)) for listing in listings]


# --- the plan --------------------------------------------------------------------------------------------

def hourly_cap() -> int:
    return max(0, settings.VINTED_WRITES_PER_HOUR // WRITES_PER_REPOST)


def plan(account, now=None, *, days=PLAN_AHEAD_DAYS, include_upcoming=False) -> list[Slot]:
    """Slots for the account's stale listings (see the module docstring); writes nothing.
    include_upcoming: also the listings that become stale within `days` (each no sooner than then)."""
    now = now or timezone.now()
    automation_row = automation.settings_for(account)
    until = now + timedelta(days=days)
    pending = stale_listings(account, now, by=until if include_upcoming else None)
    if not pending:
        return []
    taken = list(Repost.objects.filter(account=account, scheduled_for__gte=now - timedelta(days=1),
                                       scheduled_for__lte=until + timedelta(days=1))
                 .exclude(status=RepostStatus.CANCELLED).values_list("scheduled_for", flat=True))
    per_day = Counter(_local_day(automation_row, moment) for moment in taken)
    # The ledger's writes of the last hour still count against the coming hour: as many reposts' worth at `now`.
    recent_writes = (VintedCall.objects.filter(account=account, kind=CallKind.WRITE, at__gte=now - timedelta(hours=1))
                     .exclude(outcome=CallOutcome.REFUSED).count())
    busy = list(taken) + [now] * -(-recent_writes // WRITES_PER_REPOST)
    cap, per_day_cap = hourly_cap(), settings.VINTED_REPOSTS_PER_DAY
    slots: list[Slot] = []
    for begins, ends in busy_windows(automation_row, now, until):
        if not pending:
            break
        in_window = [moment for moment in [*taken, *(slot.at for slot in slots)] if begins <= moment < ends]
        start = max([begins, now, *in_window])
        if ends - start < MIN_SPAN:
            continue
        eligible = [(listing, stale_at) for listing, stale_at in pending
                    if relist.is_stale(listing, start, automation_row.repost_after_days)]
        count = min(len(eligible), max(0, per_day_cap - per_day[_local_day(automation_row, begins)]))
        while count > 0:
            gap = (ends - start) / count
            times = [start + gap * (index + 0.5) for index in range(count)]
            if _fits_hourly(busy + times, cap):
                break
            count -= 1
        if count <= 0:
            continue
        for (listing, stale_at), moment in zip(eligible[:count], times, strict=True):
            moment = moment.replace(microsecond=0)
            slots.append(Slot(listing=listing, at=moment, stale_at=stale_at))
            busy.append(moment)
        per_day[_local_day(automation_row, begins)] += count
        placed = {listing.pk for listing, _ in eligible[:count]}
        pending = [(listing, stale_at) for listing, stale_at in pending if listing.pk not in placed]
    return slots


def preview(account, now=None, days=7) -> dict:
    """Which items would be reposted and when in the next `days` (also while reposts are off: `note`
    says so); writes nothing."""
    now = now or timezone.now()
    account = VintedAccount.objects.select_related("automation").filter(pk=account.pk).first() or account
    reason = automation.inactive_reason(account, FEATURE)
    scheduled = list(Repost.objects.filter(account=account, status=RepostStatus.SCHEDULED,
                                           scheduled_for__lte=now + timedelta(days=days))
                     .select_related("listing"))
    slots = plan(account, now, days=days, include_upcoming=True)
    automation_row = automation.settings_for(account)
    note = ""
    if reason:
        note = f"{reason} Nothing is reposted until that changes; this is what would happen."
    elif account.dry_run:
        note = "The account is in dry-run mode: when a repost is due nothing is sent to Vinted; the history says so."
    return {"account": account, "enabled": not reason, "reason": reason, "note": note, "now": now, "days": days,
            "scheduled": scheduled, "planned": slots, "time_zone": str(automation.zone(automation_row)),
            "per_day": settings.VINTED_REPOSTS_PER_DAY, "per_hour": hourly_cap(),
            "after_days": automation_row.repost_after_days}


def upcoming(account, *, now, until) -> list:
    """Reposts scheduled for the account before `until`, and what plan() would schedule next within the
    horizon when reposts are on (automation.Planned rows)."""
    planned = [automation.Planned(at=max(repost.scheduled_for, now), feature=FEATURE,
                                  what=f"Repost {repost.listing}", listing=repost.listing,
                                  details={"repost": repost.pk})
               for repost in Repost.objects.filter(account=account, status=RepostStatus.SCHEDULED,
                                                   scheduled_for__lte=until).select_related("listing")]
    if not automation.inactive_reason(account, FEATURE):
        days = max(1, -(-int((until - now).total_seconds()) // 86400))
        planned += [automation.Planned(at=slot.at, feature=FEATURE, what=f"Repost {slot.listing} (not scheduled yet)",
                                       listing=slot.listing, details={"planned": True})
                    for slot in plan(account, now, days=days, include_upcoming=True) if slot.at <= until]
    return sorted(planned, key=lambda item: item.at)


# --- the scheduler hook ------------------------------------------------------------------------------------

def schedule(account, now=None) -> list[Repost]:
    """Store the plan of an account whose reposts are on as scheduled Repost rows."""
    now = now or timezone.now()
    if automation.inactive_reason(account, FEATURE):
        return []
    made = []
    for slot in plan(account, now):
        try:
            with transaction.atomic():
                made.append(Repost.objects.create(account=account, listing=slot.listing, scheduled_for=slot.at))
        except IntegrityError:  # another scheduler process planned it first (one open repost per listing)
            continue
    return made


def _has_active_job(repost) -> bool:
    from monitoring.choices import JOB_ACTIVE_STATUSES
    from monitoring.models import JobRun

    return JobRun.objects.filter(name=REPOST_JOB, args__0=repost.pk, status__in=JOB_ACTIVE_STATUSES).exists()


def _drop_late(account, now) -> None:
    for repost in Repost.objects.filter(account=account, status=RepostStatus.SCHEDULED,
                                        scheduled_for__lt=now - LATE_AFTER).select_related("listing"):
        if _has_active_job(repost):  # its job is on its way (a busy worker): let it run
            continue
        if Repost.objects.filter(pk=repost.pk, status=RepostStatus.SCHEDULED).delete()[0]:
            planned_for = timezone.localtime(repost.scheduled_for, automation.zone(automation.settings_for(account)))
            automation.record(account, FEATURE, AutomationOutcome.SKIPPED,
                              f"The repost of {repost.listing} planned for {planned_for:%a %H:%M}"
                              " missed its slot (automation was paused or off); it is planned again in a coming "
                              "busy window.", listing=repost.listing)


def _ready_to_advance(repost, now) -> bool:
    """The row's next step may run now (the job does the checks again)."""
    from .publishing import BUSY_PUBLICATION_STATUSES, current_publication

    if repost.status == RepostStatus.SCHEDULED:
        return repost.scheduled_for <= now
    if repost.status == RepostStatus.RELISTING and repost.new_listing_id:
        publication = current_publication(repost.new_listing)
        return publication is None or publication.status not in BUSY_PUBLICATION_STATUSES
    return True


def run_due_reposts(now=None) -> int:
    """Scheduler hook: plan reposts of stale listings and start the due ones; returns how many were started
    (the scheduled ones that are due, and the open ones whose next step may run)."""
    from ..tasks import repost as repost_job

    now = now or timezone.now()
    started = 0
    accounts = VintedAccount.objects.filter(Q(automation__reposts_enabled=True) | Q(reposts__status__in=OPEN_STATUSES))
    for account in accounts.select_related("automation").distinct():
        try:
            _drop_late(account, now)
            if automation.inactive_reason(account, FEATURE):
                continue  # a pause takes effect at once: nothing starts, nothing moves on
            schedule(account, now)
            for repost in Repost.objects.filter(account=account, status__in=OPEN_STATUSES).select_related(
                    "new_listing"):
                if _ready_to_advance(repost, now) and not _has_active_job(repost):
                    repost_job.enqueue(repost.pk)
                    started += 1
        except Exception:  # one account's trouble must not stop the others
            logger.exception("Reposts of Vinted account #%s could not be planned or started", account.pk)
    return started


# --- by hand ---------------------------------------------------------------------------------------------

def _require_change(by_user, repost) -> None:
    if not Repost.objects.permits(by_user, repost, Action.CHANGE):
        raise PermissionDenied("Only the account's owner or an admin may change its reposts.")


def cancel(repost, *, by_user) -> Repost:
    """Cancel a scheduled repost (one that started cannot be: the old listing stays live until the new one is)."""
    _require_change(by_user, repost)
    now = timezone.now()
    cancelled = Repost.objects.filter(pk=repost.pk, status=RepostStatus.SCHEDULED).update(
        status=RepostStatus.CANCELLED, error=f"Cancelled by {by_user}."[:500], finished_at=now, updated_at=now)
    repost.refresh_from_db()
    if not cancelled:
        raise ValidationError(f"Only a scheduled repost can be cancelled; this one is "
                              f"{repost.get_status_display().lower()}.")
    automation.record(repost.account, FEATURE, AutomationOutcome.SKIPPED,
                      f"The repost of {repost.listing} was cancelled by {by_user}; it is not planned again for "
                      f"{automation.settings_for(repost.account).repost_after_days} days.", listing=repost.listing)
    return repost


def can_retry(repost) -> bool:
    """A failed repost whose new listing is live: only deleting the old item is left to do."""
    return (repost.status == RepostStatus.FAILED and repost.new_listing is not None
            and bool(repost.new_listing.vinted_item_id) and bool(repost.listing.vinted_item_id)
            and repost.listing.status == ListingStatus.PUBLISHED)


def retry(repost, *, by_user) -> Repost:
    """Retry the deletion of the old item (the new listing is live already)."""
    from ..tasks import repost as repost_job

    _require_change(by_user, repost)
    repost = Repost.objects.select_related("account", "listing", "new_listing").get(pk=repost.pk)
    if not can_retry(repost):
        raise ValidationError("Only a failed repost whose new listing is live on Vinted can be retried (it then "
                              "only deletes the old item).")
    reason = automation.inactive_reason(repost.account, FEATURE)
    if reason:
        raise ValidationError(reason)
    if not Repost.objects.filter(pk=repost.pk, status=RepostStatus.FAILED).update(
            status=RepostStatus.DELETING, error="", finished_at=None, updated_at=timezone.now()):
        raise ValidationError("This repost changed meanwhile: reload the page.")
    repost_job.enqueue(repost.pk)
    repost.refresh_from_db()
    return repost
