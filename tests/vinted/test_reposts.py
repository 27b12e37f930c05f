"""Reposts (vinted.services.reposts): what is stale, the plan (busy windows in the account's time zone,
spread out, capped per day and by the ledger's hourly write limit), the preview writes nothing, the
scheduler hook stores rows and starts the due ones (a paused account starts nothing), cancel. The steps
of one repost are in test_reposts_steps.py; the browser part in tests/e2e/test_vinted_repost_journey.py."""

import json
import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from monitoring.models import JobRun
from tests.factories import ListingFactory, PhotoFactory
from vinted.choices import AccountStatus, CallKind, CallOutcome, ListingStatus, RepostStatus
from vinted.models import AutomationEvent, AutomationSettings, Repost, VintedAccount, VintedCall
from vinted.services import automation, relist, reposts

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
# Wednesday 2 December 2026, 13:00 in Paris.
WEDNESDAY_NOON = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def repost_account(owner, *, fake=None, enabled=True, dry_run=False, label="main", **settings_fields):
    cookies = json.dumps(fake.add_session()) if fake is not None else json.dumps({"access_token_web": "x"})
    account = VintedAccount.objects.create(owner=owner, label=label, cookies=cookies, status=AccountStatus.ACTIVE,
                                           dry_run=dry_run, user_agent="pytest")
    AutomationSettings.objects.create(account=account, reposts_enabled=enabled,
                                      time_zone=settings_fields.pop("time_zone", "Europe/Paris"), **settings_fields)
    return account


def live_listing(account, *, days_ago=40, now=WEDNESDAY_NOON, item_id=None, photos=1, **fields):
    """A listing published on Vinted `days_ago` days before `now`."""
    global _next_item
    _next_item += 1
    item_id = str(_next_item) if item_id is None else item_id
    listing = ListingFactory(owner=account.owner, complete=True, status=fields.pop("status", ListingStatus.PUBLISHED),
                             listed_at=now - timedelta(days=days_ago), account=account, vinted_item_id=item_id,
                             vinted_url=f"https://www.vinted.fr/items/{item_id}" if item_id else "", **fields)
    for position in range(photos):
        PhotoFactory(listing=listing, position=position)
    return listing


_next_item = 7000


def local(moment):
    return moment.astimezone(PARIS)


# --- what is stale --------------------------------------------------------------------------------------------

def test_only_live_unsold_listings_past_the_setting_without_an_open_repost_are_stale(operator):
    account = repost_account(operator, repost_after_days=20)
    old = live_listing(account, days_ago=25)
    live_listing(account, days_ago=10)  # too recent
    live_listing(account, days_ago=60, status=ListingStatus.SOLD, sold_at=WEDNESDAY_NOON)
    live_listing(account, days_ago=60, item_id="", status=ListingStatus.PUBLISHED)  # not on Vinted
    with_open = live_listing(account, days_ago=50)
    Repost.objects.create(account=account, listing=with_open, scheduled_for=WEDNESDAY_NOON + timedelta(hours=6))
    cancelled = live_listing(account, days_ago=55)
    Repost.objects.create(account=account, listing=cancelled, scheduled_for=WEDNESDAY_NOON,
                          status=RepostStatus.CANCELLED)
    other = repost_account(operator, label="second")
    live_listing(other, days_ago=90)
    assert [listing for listing, _ in reposts.stale_listings(account, WEDNESDAY_NOON)] == [old]
    stale_at = reposts.stale_listings(account, WEDNESDAY_NOON)[0][1]
    assert stale_at == old.listed_at + timedelta(days=20)


def test_plan_and_relist_agree_at_the_exact_staleness_boundary(operator):
    account = repost_account(operator, repost_after_days=20)
    boundary = live_listing(account, days_ago=20)  # published exactly 20 days before now: not stale yet
    older = live_listing(account, days_ago=20)
    older.listed_at -= timedelta(seconds=1)
    older.save(update_fields=["listed_at"])
    assert [listing for listing, _ in reposts.stale_listings(account, WEDNESDAY_NOON)] == [older]
    assert [relist.is_stale(listing, WEDNESDAY_NOON, 20) for listing in (boundary, older)] == [False, True]
    assert [listing for listing, _ in reposts.stale_listings(account, WEDNESDAY_NOON + timedelta(seconds=1))] == [
        older, boundary]


# --- the plan -------------------------------------------------------------------------------------------------

def test_slots_fall_in_the_busy_windows_spread_out_oldest_first_and_capped_per_day(operator, settings):
    settings.VINTED_REPOSTS_PER_DAY = 5
    account = repost_account(operator)
    listings = [live_listing(account, days_ago=100 - index) for index in range(7)]
    slots = reposts.plan(account, WEDNESDAY_NOON)
    assert [slot.listing for slot in slots] == listings  # the oldest first, into the soonest window
    wednesday = [local(slot.at) for slot in slots[:5]]
    assert all(moment.date().isoformat() == "2026-12-02" for moment in wednesday)
    assert all("18:00" <= moment.strftime("%H:%M") < "21:30" for moment in wednesday)
    gaps = {(b - a).total_seconds() for a, b in zip(wednesday, wednesday[1:], strict=False)}
    assert gaps == {42 * 60}  # 3 h 30 split in five
    thursday = [local(slot.at) for slot in slots[5:]]
    assert all(moment.date().isoformat() == "2026-12-03" and "18:00" <= moment.strftime("%H:%M") < "21:30"
               for moment in thursday)


def test_weekend_windows_in_the_accounts_time_zone(operator):
    account = repost_account(operator, time_zone="America/New_York")
    live_listing(account, days_ago=45)
    live_listing(account, days_ago=44)
    saturday_early = datetime(2026, 12, 5, 13, 0, tzinfo=UTC)  # 08:00 in New York
    slots = reposts.plan(account, saturday_early)
    new_york = [slot.at.astimezone(zoneinfo.ZoneInfo("America/New_York")) for slot in slots]
    assert [moment.strftime("%a %H:%M") for moment in new_york] == ["Sat 10:30", "Sat 11:30"]


def test_custom_windows_and_a_window_already_under_way(operator):
    account = repost_account(operator, busy_windows=[{"days": [2], "start": "12:00", "end": "14:00"},
                                                     {"days": [2], "start": "bad"}])
    live_listing(account)
    slot, = reposts.plan(account, WEDNESDAY_NOON)  # 13:00 in Paris: the hour left of the window
    assert local(slot.at).strftime("%H:%M") == "13:30"


def test_never_more_per_hour_than_the_write_limit_leaves_room_for(operator, settings):
    settings.VINTED_REPOSTS_PER_DAY = 20
    settings.VINTED_WRITES_PER_HOUR = 4  # two reposts an hour (each costs a publish and a delete)
    account = repost_account(operator)
    for index in range(12):
        live_listing(account, days_ago=60 - index)
    wednesday = [slot.at for slot in reposts.plan(account, WEDNESDAY_NOON) if local(slot.at).day == 2]
    assert 0 < len(wednesday) <= 7
    for moment in wednesday:
        assert sum(moment <= other < moment + timedelta(hours=1) for other in wednesday) <= 2


def test_the_ledgers_writes_of_the_last_hour_use_the_coming_hours_room(operator, settings):
    settings.VINTED_WRITES_PER_HOUR = 4
    account = repost_account(operator)
    live_listing(account)
    in_window = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)  # 18:00 in Paris
    for minutes in (5, 10, 15, 20):
        VintedCall.objects.create(account=account, at=in_window - timedelta(minutes=minutes), kind=CallKind.WRITE,
                                  action="reply", what="POST", outcome=CallOutcome.OK)
    slot, = reposts.plan(account, in_window)
    assert slot.at >= in_window + timedelta(hours=1)


def test_existing_reposts_count_against_the_day(operator, settings):
    settings.VINTED_REPOSTS_PER_DAY = 2
    account = repost_account(operator)
    for index in range(3):
        live_listing(account, days_ago=50 - index)
    first = reposts.schedule(account, WEDNESDAY_NOON)
    assert [local(r.scheduled_for).day for r in first] == [2, 2, 3]
    live_listing(account, days_ago=40)
    live_listing(account, days_ago=39)
    more = reposts.plan(account, WEDNESDAY_NOON, days=3)
    assert [local(slot.at).day for slot in more] == [3, 4]  # Thursday's second place, then Friday


# --- preview and upcoming -------------------------------------------------------------------------------------

def _rows():
    return (Repost.objects.count(), AutomationSettings.objects.count(), AutomationEvent.objects.count(),
            JobRun.objects.count(), VintedCall.objects.count())


def test_preview_writes_nothing_and_says_when_reposts_are_off(operator):
    account = VintedAccount.objects.create(owner=operator, label="fresh", status=AccountStatus.ACTIVE,
                                           cookies=json.dumps({"access_token_web": "x"}))
    old = live_listing(account, days_ago=45)
    soon = live_listing(account, days_ago=28)  # stale in two days: shown within the week
    before = _rows()
    shown = reposts.preview(account, WEDNESDAY_NOON, days=7)
    assert _rows() == before
    assert not shown["enabled"] and "Reposts are off" in shown["note"]
    assert [slot.listing for slot in shown["planned"]] == [old, soon]
    assert shown["planned"][1].at >= soon.listed_at + timedelta(days=30)
    assert reposts.upcoming(account, now=WEDNESDAY_NOON, until=WEDNESDAY_NOON + timedelta(days=7)) == []


def test_upcoming_lists_scheduled_reposts_and_the_next_planned(operator):
    account = repost_account(operator)
    first, second = live_listing(account, days_ago=50), live_listing(account, days_ago=45)
    Repost.objects.create(account=account, listing=first, scheduled_for=WEDNESDAY_NOON + timedelta(hours=6))
    planned = automation.upcoming(account, hours=24, now=WEDNESDAY_NOON)
    assert [(item.listing, item.feature, "repost" in item.details) for item in planned] == [
        (first, "reposts", True), (second, "reposts", False)]
    assert planned[1].at > planned[0].at


# --- the scheduler hook ---------------------------------------------------------------------------------------

def test_the_hook_stores_rows_once_and_starts_only_the_due_ones(operator):
    account = repost_account(operator)
    live_listing(account, days_ago=50)
    live_listing(account, days_ago=45)
    repost_account(operator, enabled=False, label="off")
    assert reposts.run_due_reposts(WEDNESDAY_NOON) == 0
    rows = list(Repost.objects.order_by("scheduled_for"))
    assert [row.status for row in rows] == [RepostStatus.SCHEDULED] * 2
    assert reposts.run_due_reposts(WEDNESDAY_NOON) == 0 and Repost.objects.count() == 2  # rows, not twice
    due = rows[0].scheduled_for + timedelta(seconds=1)
    assert reposts.run_due_reposts(due) == 1
    job = JobRun.objects.get(name="vinted.repost")
    assert job.args == [rows[0].pk]
    assert reposts.run_due_reposts(due) == 0  # its job is on its way: not a second one


def test_a_paused_account_starts_nothing_and_a_missed_slot_is_planned_again(operator):
    account = repost_account(operator)
    listing = live_listing(account, days_ago=50)
    reposts.run_due_reposts(WEDNESDAY_NOON)
    repost = Repost.objects.get()
    automation.pause(account, by_user=operator)
    account.refresh_from_db()
    assert reposts.run_due_reposts(repost.scheduled_for + timedelta(minutes=5)) == 0
    assert not JobRun.objects.filter(name="vinted.repost").exists()
    assert "waits" not in "".join(AutomationEvent.objects.values_list("message", flat=True))
    automation.resume(account, by_user=operator)
    later = repost.scheduled_for + timedelta(hours=2)
    assert reposts.run_due_reposts(later) == 0
    assert not Repost.objects.filter(pk=repost.pk).exists()
    assert AutomationEvent.objects.filter(outcome="skipped", listing=listing, message__contains="missed its slot")
    again = Repost.objects.get(listing=listing, status=RepostStatus.SCHEDULED)
    assert again.scheduled_for > later and local(again.scheduled_for).strftime("%H:%M") >= "18:00"


# --- cancel ---------------------------------------------------------------------------------------------------

def test_cancel_a_scheduled_repost_and_it_is_not_planned_again_soon(operator, other_operator, viewer):
    account = repost_account(operator)
    listing = live_listing(account, days_ago=50)
    repost = reposts.schedule(account, WEDNESDAY_NOON)[0]
    for user in (other_operator, viewer):
        with pytest.raises(reposts.PermissionDenied):
            reposts.cancel(repost, by_user=user)
    reposts.cancel(repost, by_user=operator)
    repost.refresh_from_db()
    assert repost.status == RepostStatus.CANCELLED and "otto" in repost.error
    assert reposts.schedule(account, WEDNESDAY_NOON) == []
    with pytest.raises(reposts.ValidationError, match="Only a scheduled repost"):
        reposts.cancel(repost, by_user=operator)
    assert AutomationEvent.objects.filter(listing=listing, outcome="skipped").exists()
    assert reposts.plan(account, timezone.now() + timedelta(days=31)) != []


def test_a_stored_window_that_ends_before_it_starts_is_skipped(operator):
    # The settings refuse it (a window ends the same day: automation.clean_busy_windows); a row written
    # otherwise is malformed, skipped like any other, and plans nothing.
    account = repost_account(operator, busy_windows=[{"days": [1, 2], "start": "23:00", "end": "01:00"}])
    live_listing(account)
    assert reposts.plan(account, datetime(2026, 12, 1, 21, 0, tzinfo=UTC)) == []
