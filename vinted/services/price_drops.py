"""Scheduled price drops (part 3): after `after_days` without a sale, lower a published listing's price
by a percentage or an amount every `every_days` days, never below its floor.

- **Which rule**: the listing's own rule, else its account's default (a rule without listing). A
  listing's own rule shadows the default even when inactive: that is how the default "stops" for one
  listing (`_stop` gives the listing an inactive copy of the default, which the seller may turn on).
- **The floor**: the highest of rule.floor, the listing's minimum price and purchase cost x (1 + margin %)
  (each when known). No floor at all: the rule does nothing for that listing and says so.
- **When**: everything comes from rows, so a scheduler restart loses nothing. The next drop is due
  `every_days` after the last drop; the first one `after_days` after the last change by hand, or the
  publication. The new price is max(floor, price - drop) rounded half-up to 0.01 (cents, not whole
  units: Vinted takes cents, and whole units would make small drops on cheap items jump).
- **It stops** (recorded "stopped: ..."): at the floor; when the seller edits the price by hand after
  the rule was last saved, before or after its first drop (re-activating the rule starts it again); when Vinted
  refuses the update (the item is gone). A sold or archived listing is no longer published: never due.
- **Acting**: `run_due_drops` (a scheduler hook) queues one `vinted.drop_price` job per due listing
  (never two waiting for one listing); the job checks everything again, then updates Vinted first
  (through the ledger: hourly limit, waits, block detection), then Listing.price and a PriceChange.
  A dry-run account sends nothing and queues no job ("dry run" in the history, once). A block
  pauses the account's automation (the ledger does it) and the price stays.
- **By hand**: services.listings.update_listing writes a PriceChange(manual) and, for a published
  listing, queues `vinted.push_price` which sends the new price to Vinted (`push_price`).
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.roles import Action
from monitoring.events import record_event
from monitoring.jobs import TransientError

from .. import site
from ..choices import AutomationFeature, AutomationOutcome, CallKind, ListingStatus, PriceChangeReason
from ..models import AutomationEvent, Listing, PriceChange, PriceDropRule, VintedAccount
from . import automation

CENT = Decimal("0.01")
MAX_DAYS = 3650  # after_days and every_days: ten years; far more overflows timedelta in the planner
RULE_FIELDS = ("after_days", "every_days", "percent", "amount", "floor", "margin_percent", "is_active")
NO_FLOOR = ("No floor for this listing, so its price is not lowered: set its minimum price, a floor on the "
            "rule, or its purchase cost and a margin on the rule.")
DRY_RUN = "Dry run: nothing was sent to Vinted. {what}."
PRICE_CHANGED = "skipped: the price changed meanwhile (by hand?), so it is kept and sent to Vinted again."

logger = logging.getLogger(__name__)


# --- which rule, the floor, when -----------------------------------------------------------------------

def on_vinted(listing) -> bool:
    return listing.status == ListingStatus.PUBLISHED and bool(listing.vinted_item_id) and bool(listing.account_id)


def rule_for(listing) -> PriceDropRule | None:
    """The rule that applies to the listing (its own, active or not, else the account's default)."""
    own = PriceDropRule.objects.filter(listing=listing).first()
    if own is not None:
        return own
    if not listing.account_id:
        return None
    return PriceDropRule.objects.filter(account_id=listing.account_id, listing__isnull=True).first()


def floor_for(listing, rule) -> Decimal | None:
    """The highest of every known floor: a rule's floor never takes the price under the listing's minimum."""
    candidates = [Decimal(value) for value in (rule.floor, listing.min_price) if value is not None]
    if listing.purchase_cost is not None and rule.margin_percent is not None:
        cost_floor = Decimal(listing.purchase_cost) * (1 + Decimal(rule.margin_percent) / 100)
        candidates.append(cost_floor.quantize(CENT, ROUND_HALF_UP))
    return max(candidates) if candidates else None


def lowered(price: Decimal, rule, floor: Decimal) -> Decimal:
    drop = price * Decimal(rule.percent) / 100 if rule.percent is not None else Decimal(rule.amount or 0)
    return max(floor, (price - drop).quantize(CENT, ROUND_HALF_UP))


def money_text(value) -> str:
    """18 -> "18.00" (for messages and details; replies_text.money parses an amount instead)."""
    return f"{Decimal(value):.2f}"


@dataclass
class Assessment:
    """Where a listing stands with its rule now: `stop` (why the rule stops for it), `skip` (why nothing
    happens now, without stopping), else `due_at` and the `new_price` of the next drop."""

    listing: Listing
    rule: PriceDropRule | None
    floor: Decimal | None = None
    due_at: datetime | None = None
    new_price: Decimal | None = None
    stop: str = ""
    skip: str = ""

    def due(self, now) -> bool:
        return not (self.stop or self.skip) and self.due_at is not None and self.due_at <= now

    @property
    def what(self) -> str:
        listing = self.listing
        return f"Lower {listing} from {money_text(listing.price)} to {money_text(self.new_price)} {listing.currency}"


def assess(listing, rule=None) -> Assessment:
    rule = rule or rule_for(listing)
    result = Assessment(listing, rule)
    if rule is None or not rule.is_active:
        result.skip = "No active price drop rule."
        return result
    if not on_vinted(listing):
        result.skip = f"{listing} is {listing.get_status_display().lower()}, not on sale on Vinted."
        return result
    changes = PriceChange.objects.filter(listing=listing).order_by("-at", "-id")
    last_change = changes.first()
    last_manual = changes.filter(reason=PriceChangeReason.MANUAL).first()
    # Issue 12: the rule stops "when the user edits the price by hand", before its first drop too; an
    # edit before the rule was (last) saved does not count: re-activating a rule starts it again.
    if last_manual and last_manual.at > rule.updated_at:
        result.stop = (f"Stopped: the price was edited by hand on {timezone.localtime(last_manual.at):%Y-%m-%d} "
                       "after the rule was set.")
        return result
    result.floor = floor_for(listing, rule)
    if result.floor is None:
        result.skip = NO_FLOOR
        return result
    if listing.price is None:
        result.skip = f"{listing} has no price."
        return result
    if listing.price <= result.floor:
        result.stop = f"Stopped: at the floor ({money_text(result.floor)} {listing.currency})."
        return result
    if last_change is not None and last_change.reason == PriceChangeReason.DROP:
        result.due_at = last_change.at + timedelta(days=rule.every_days)
    else:
        since = listing.listed_at or listing.created_at
        if last_change is not None:
            since = max(since, last_change.at)
        result.due_at = since + timedelta(days=rule.after_days)
    result.new_price = lowered(Decimal(listing.price), rule, result.floor)
    return result


def candidates(account):
    """The account's listings on sale on Vinted, with the rule that applies to each (None: none)."""
    listings = list(Listing.objects.filter(account=account, status=ListingStatus.PUBLISHED)
                    .exclude(vinted_item_id="").select_related("account"))
    own = {rule.listing_id: rule for rule in PriceDropRule.objects.filter(listing__in=listings)}
    default = PriceDropRule.objects.filter(account=account, listing__isnull=True).first()
    return [(listing, own.get(listing.pk, default)) for listing in listings]


def upcoming(account, *, now, until) -> list:
    """Price drops due for the account's listings before `until` (automation.Planned rows)."""
    if automation.inactive_reason(account, AutomationFeature.PRICE_DROPS):
        return []
    planned = []
    for listing, rule in candidates(account):
        if rule is None or not rule.is_active:
            continue
        result = assess(listing, rule)
        if result.stop or result.skip or result.due_at > until:
            continue
        planned.append(automation.Planned(at=max(result.due_at, now), feature=AutomationFeature.PRICE_DROPS,
                                          what=result.what, listing=listing,
                                          details={"rule": rule.pk, "old_price": money_text(listing.price),
                                                   "new_price": money_text(result.new_price)}))
    return planned


# --- recording -------------------------------------------------------------------------------------------

def _record_once(account, listing, outcome, message, **details) -> None:
    """Record a decision not to act unless it is already the listing's latest price-drop event (the
    scheduler asks again every tick: the history says it once)."""
    latest = AutomationEvent.objects.filter(account=account, feature=AutomationFeature.PRICE_DROPS,
                                            listing=listing).order_by("-at", "-id").first()
    if latest is None or (latest.outcome, latest.message) != (outcome, message[:500]):
        automation.record(account, AutomationFeature.PRICE_DROPS, outcome, message, listing=listing, **details)


def _record_dry_run(account, listing, result) -> None:
    _record_once(account, listing, AutomationOutcome.DRY_RUN, f"{listing}: " + DRY_RUN.format(what=result.what),
                 old_price=money_text(listing.price), new_price=money_text(result.new_price))


def _stop(listing, rule, why: str) -> None:
    """The rule stops for this listing: its own rule is turned off; the account's default is shadowed by
    an inactive copy of it (the default goes on for the other listings)."""
    if rule.listing_id == listing.pk:
        PriceDropRule.objects.filter(pk=rule.pk).update(is_active=False, updated_at=timezone.now())
    else:
        copy = {name: getattr(rule, name) for name in RULE_FIELDS if name != "is_active"}
        PriceDropRule.objects.get_or_create(listing=listing, defaults={
            "account_id": listing.account_id, "is_active": False, **copy})
    automation.record(listing.account, AutomationFeature.PRICE_DROPS, AutomationOutcome.SKIPPED,
                      f"{listing}: {why}", listing=listing, rule=rule.pk)


# --- the scheduler hook and the job -----------------------------------------------------------------------

def _waiting(job, listing_id) -> bool:
    from monitoring.choices import JOB_ACTIVE_STATUSES
    from monitoring.models import JobRun

    return JobRun.objects.filter(name=job.name, args__0=listing_id, status__in=JOB_ACTIVE_STATUSES).exists()


def run_due_drops(now=None) -> int:
    """Scheduler hook: queue the price drops that are due; returns how many were queued."""
    now = now or timezone.now()
    queued = 0
    enabled = VintedAccount.objects.filter(automation__price_drops_enabled=True).usable()
    for account_id in enabled.values_list("pk", flat=True):
        try:
            queued += _queue_due_drops(account_id, now)
        except Exception as exc:  # one account's trouble (bad data, a DB error) must not stop the others
            logger.exception("Price drops of Vinted account #%s could not be planned", account_id)
            _record_account_failure(account_id, exc)
    return queued


def _record_account_failure(account_id, exc) -> None:
    """The account's history says (once) that its drops failed; a failure to say so is only logged."""
    try:
        account = VintedAccount.objects.filter(pk=account_id).first()
        if account is not None:
            _record_once(account, None, AutomationOutcome.FAILED,
                         f"Price drops failed for this account: {type(exc).__name__}: {exc}")
    except Exception:
        logger.exception("The failure of Vinted account #%s's price drops could not be recorded", account_id)


def _queue_due_drops(account_id, now) -> int:
    """run_due_drops for one account (in one transaction, the account's row locked)."""
    from .. import tasks

    queued = 0
    with transaction.atomic():
        # Two schedulers take turns per account, so a listing's job is never queued twice.
        account = VintedAccount.objects.select_for_update().get(pk=account_id)
        if automation.inactive_reason(account, AutomationFeature.PRICE_DROPS):
            return 0
        for listing, rule in candidates(account):
            if rule is None or not rule.is_active:
                continue
            result = assess(listing, rule)
            if result.stop:
                _stop(listing, rule, result.stop)
            elif result.skip:
                _record_once(account, listing, AutomationOutcome.SKIPPED, f"{listing}: {result.skip}")
            elif result.due(now) and account.dry_run:  # nothing to send: said once, no job every tick
                _record_dry_run(account, listing, result)
            elif result.due(now) and not _waiting(tasks.drop_price, listing.pk):
                tasks.drop_price.enqueue(listing.pk, now.isoformat())
                queued += 1
    return queued


def _send_price(listing, price) -> None:
    """PUT the price to Vinted through the ledger; raises what Vinted's answer means (vinted.ledger)."""
    from ..http import VintedClient

    VintedClient(listing.account).request(
        "PUT", site.UPDATE_ITEM_PATH.format(id=listing.vinted_item_id), action=site.UPDATE_PRICE_ACTION,
        kind=CallKind.WRITE, json=site.update_price_payload(Decimal(price), listing.currency), expect_json=True)


def drop_price(listing_id: int, now=None) -> dict:
    """The `vinted.drop_price` job's body: check again, update Vinted, then the listing and its history."""
    from .. import ledger

    now = max(now or timezone.now(), timezone.now())
    listing = Listing.objects.select_related("account").filter(pk=listing_id).first()
    if listing is None or listing.account is None:
        return {"listing": listing_id, "dropped": False, "note": "The listing is gone or not on Vinted."}
    account = listing.account
    rule = rule_for(listing)
    reason = automation.inactive_reason(account, AutomationFeature.PRICE_DROPS)
    if reason:
        _record_once(account, listing, AutomationOutcome.SKIPPED, f"{listing}: not lowered: {reason}")
        return {"listing": listing_id, "dropped": False, "note": reason}
    result = assess(listing, rule)
    if result.stop:
        _stop(listing, rule, result.stop)
        return {"listing": listing_id, "dropped": False, "note": result.stop}
    if not result.due(now):
        return {"listing": listing_id, "dropped": False, "note": result.skip or "Not due (already lowered)."}
    old, new = Decimal(listing.price), result.new_price
    if account.dry_run:  # turned on after the job was queued
        _record_dry_run(account, listing, result)
        return {"listing": listing_id, "dropped": False, "dry_run": True}
    try:
        _send_price(listing, new)
    except TransientError:
        raise  # 429, 5xx, the hourly write limit: the job wrapper retries later
    except ledger.VintedRefused as exc:  # the item is gone or Vinted refuses the price: asking again won't help
        _stop(listing, rule, f"Stopped: Vinted refused the new price ({exc.message}).")
        return {"listing": listing_id, "dropped": False, "error": exc.message}
    except ledger.VintedError as exc:  # a block or an expired session: the ledger paused the account
        automation.record(account, AutomationFeature.PRICE_DROPS, AutomationOutcome.FAILED,
                          f"{listing}: not lowered, the price stays {money_text(old)}: {exc.message}", listing=listing)
        return {"listing": listing_id, "dropped": False, "error": exc.message}
    if _save_drop(listing, rule, old, new, result.floor):
        return {"listing": listing_id, "dropped": True, "old_price": money_text(old), "new_price": money_text(new)}
    return {"listing": listing_id, "dropped": False, "note": PRICE_CHANGED}


def _save_drop(listing, rule, old, new, floor) -> bool:
    """Write the drop Vinted took, unless the price changed meanwhile (a hand edit during the call): that
    price is kept and sent to Vinted again, since our PUT may have overwritten it there. Dated now, at the
    write (the call may have waited), so the history keeps its order."""
    from .. import tasks

    account = listing.account
    with transaction.atomic():
        now = timezone.now()
        if not Listing.objects.filter(pk=listing.pk, price=old).update(price=new, updated_at=now):
            automation.record(account, AutomationFeature.PRICE_DROPS, AutomationOutcome.SKIPPED,
                              f"{listing}: {PRICE_CHANGED}", listing=listing, rule=rule.pk,
                              old_price=money_text(old), new_price=money_text(new))
            transaction.on_commit(lambda: tasks.push_price.enqueue(listing.pk))
            return False
        PriceChange.objects.create(listing=listing, rule=rule, reason=PriceChangeReason.DROP, old_price=old,
                                   new_price=new, at=now)
        at_floor = new <= floor
        what = f"Lower {listing} from {money_text(old)} to {money_text(new)} {listing.currency}"
        automation.record(account, AutomationFeature.PRICE_DROPS, AutomationOutcome.DONE,
                          f"{what}{': stopped, at the floor' if at_floor else ''}.", listing=listing,
                          rule=rule.pk, old_price=money_text(old), new_price=money_text(new))
    if at_floor:
        listing.price = new
        _stop(listing, rule, f"Stopped: at the floor ({money_text(floor)} {listing.currency}).")
    return True


# --- a price changed by hand -------------------------------------------------------------------------------

def record_manual_change(listing, old, new, by_user) -> PriceChange:
    """services.listings calls this inside its transaction when a person changes the price."""
    change = PriceChange.objects.create(listing=listing, reason=PriceChangeReason.MANUAL, old_price=old,
                                        new_price=new, by=by_user)
    if on_vinted(listing):
        from .. import tasks

        transaction.on_commit(lambda: tasks.push_price.enqueue(listing.pk))
    return change


def push_price(listing_id: int) -> dict:
    """The `vinted.push_price` job's body: send a price changed by hand to Vinted (dry run: nothing sent)."""
    from .. import ledger

    listing = Listing.objects.select_related("account").filter(pk=listing_id).first()
    if listing is None or not on_vinted(listing) or listing.price is None:
        return {"listing": listing_id, "sent": False}
    if listing.account.dry_run:
        return {"listing": listing_id, "sent": False, "dry_run": True}
    try:
        _send_price(listing, listing.price)
    except ledger.VintedError as exc:
        record_event("vinted", "listing.price_push_failed", "failed",
                     f"The new price of {listing} ({money_text(listing.price)}) was not sent to Vinted: {exc.message}",
                     {"listing": listing.pk}, target=listing)
        raise
    return {"listing": listing_id, "sent": True, "price": money_text(listing.price)}


# --- rules: add, edit, delete (pages and API) ----------------------------------------------------------------

def clean_rule(fields: dict) -> dict:
    """Exactly one of percent (0 < p < 100) / amount (> 0); after_days, every_days 1..MAX_DAYS; floor,
    margin >= 0. The one validator of a rule: the form and the API both end here."""
    errors = {}
    percent, amount = fields.get("percent"), fields.get("amount")
    if (percent is None) == (amount is None):
        errors["percent"] = ["Give either a percentage or an amount to lower the price by (one of the two)."]
    elif percent is not None and not Decimal(0) < Decimal(percent) < Decimal(100):
        errors["percent"] = ["A percentage between 0 and 100 (both excluded)."]
    elif amount is not None and Decimal(amount) <= 0:
        errors["amount"] = ["An amount above 0."]
    for name in ("after_days", "every_days"):
        value = fields.get(name)
        if value is None or not 1 <= int(value) <= MAX_DAYS:
            errors[name] = [f"Between 1 and {MAX_DAYS} days."]
    for name in ("floor", "margin_percent"):
        if fields.get(name) is not None and Decimal(fields[name]) < 0:
            errors[name] = ["Cannot be negative."]
    if errors:
        raise ValidationError(errors)
    return fields


def _require_account(user, account) -> None:
    if not PriceDropRule.objects.can_add(user) or not VintedAccount.objects.permits(user, account, Action.CHANGE):
        raise PermissionDenied("You may not change the price drop rules of this Vinted account.")


def create_rule(user, account, *, listing=None, **fields) -> PriceDropRule:
    _require_account(user, account)
    values = {"after_days": 7, "every_days": 7, "is_active": True, **fields}
    clean_rule(values)
    with transaction.atomic():
        if listing is not None:
            if listing.account_id != account.pk or not Listing.objects.permits(user, listing, Action.CHANGE):
                raise ValidationError({"listing": ["This listing is not published on this account."]})
            if PriceDropRule.objects.filter(listing=listing).exists():
                raise ValidationError({"listing": ["This listing has a rule already: edit that one."]})
        elif PriceDropRule.objects.filter(account=account, listing__isnull=True).exists():
            raise ValidationError({"listing": ["This account has a default rule already: edit that one."]})
        return PriceDropRule.objects.create(account=account, listing=listing,
                                            **{name: values.get(name) for name in RULE_FIELDS})


def update_rule(user, rule, **fields) -> PriceDropRule:
    if not PriceDropRule.objects.permits(user, rule, Action.CHANGE):
        raise PermissionDenied("You may not change this price drop rule.")
    values = {name: getattr(rule, name) for name in RULE_FIELDS}
    values.update({name: value for name, value in fields.items() if name in RULE_FIELDS})
    clean_rule(values)
    for name, value in values.items():
        setattr(rule, name, value)
    rule.save()  # updated_at moves: a rule turned on again is not stopped by an older edit by hand
    return rule


def delete_rule(user, rule) -> None:
    if not PriceDropRule.objects.permits(user, rule, Action.DELETE):
        raise PermissionDenied("You may not delete this price drop rule.")
    rule.delete()


def describe(rule) -> str:
    """"-10 % every 7 days after 7 days" for pages."""
    by = f"-{rule.percent.normalize():f} %" if rule.percent is not None else f"-{money_text(rule.amount)}"
    return f"{by} every {rule.every_days} day{'s' * (rule.every_days != 1)} after {rule.after_days} " \
           f"day{'s' * (rule.after_days != 1)}"
