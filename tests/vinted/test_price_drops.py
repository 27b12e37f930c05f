"""Scheduled price drops against the fake Vinted, through the real job worker: a drop lowers the price on
the fake and records the history; drops repeat every N days and stop at the floor, after an edit by hand
and when the item sells; a block pauses automation and keeps the price; the ledger counts every drop;
the scheduler asking twice (or restarting) never drops twice; a dry run sends nothing; no floor, no drop."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from monitoring.models import JobRun
from tests.fakes import vinted_items
from tests.monitoring.worker import run_worker
from tests.vinted.price_drop_helpers import default_rule, live_account, on_sale
from vinted.choices import AccountStatus, AutomationFeature, ListingStatus
from vinted.models import AutomationEvent, Listing, PriceChange, PriceDropRule, VintedCall
from vinted.services import automation, listings
from vinted.services import price_drops as services

pytestmark = pytest.mark.django_db
PUT = r"^/api/v2/item_upload/items/\d+$"


@pytest.fixture
def shop(operator, fake_vinted):
    account = live_account(operator, fake_vinted)
    listing = on_sale(account, fake_vinted, price="20.00", min_price=Decimal("15.00"))
    rule = default_rule(account)
    return account, listing, rule


def drops(listing):
    return list(PriceChange.objects.filter(listing=listing, reason="drop").order_by("at", "id")
                .values_list("old_price", "new_price"))


def events(account, outcome=None):
    rows = AutomationEvent.objects.filter(account=account, feature=AutomationFeature.PRICE_DROPS)
    if outcome:
        rows = rows.filter(outcome=outcome)
    return list(rows.order_by("at", "id").values_list("message", flat=True))


def tick(now=None) -> int:
    """One scheduler tick, then the worker runs what it queued."""
    queued = services.run_due_drops(now=now)
    run_worker()
    return queued


def test_a_due_drop_lowers_the_price_on_vinted_and_records_it(shop, fake_vinted):
    account, listing, rule = shop
    assert tick() == 1
    assert vinted_items.item_price(fake_vinted, listing.vinted_item_id) == "18.00"
    request = fake_vinted.requests_to(PUT, "PUT")[0]
    assert request.json() == {"item": {"price": "18.00", "currency": "EUR"}}
    listing.refresh_from_db()
    assert listing.price == Decimal("18.00")
    change = PriceChange.objects.get(listing=listing)
    assert (change.reason, change.old_price, change.new_price, change.rule, change.by) == (
        "drop", Decimal("20.00"), Decimal("18.00"), rule, None)
    assert events(account, "done") == [f"Lower {listing} from 20.00 to 18.00 EUR."]
    call = VintedCall.objects.get(account=account)
    assert (call.kind, call.action, call.outcome) == ("write", "price-update", "ok")
    assert call.what == f"PUT /api/v2/item_upload/items/{listing.vinted_item_id}"
    assert JobRun.objects.get(name="vinted.drop_price").status == "succeeded"


def test_drops_repeat_every_n_days_and_stop_at_the_floor(shop, fake_vinted):
    account, listing, rule = shop
    now = timezone.now()
    assert tick(now) == 1
    assert tick(now + timedelta(days=6)) == 0  # every 7 days
    assert tick(now + timedelta(days=7, minutes=1)) == 1
    assert tick(now + timedelta(days=14, minutes=2)) == 1  # 16.20 - 10 % = 14.58 < the floor 15
    assert drops(listing) == [(Decimal("20.00"), Decimal("18.00")), (Decimal("18.00"), Decimal("16.20")),
                              (Decimal("16.20"), Decimal("15.00"))]
    assert vinted_items.item_price(fake_vinted, listing.vinted_item_id) == "15.00"
    assert tick(now + timedelta(days=60)) == 0
    assert len(drops(listing)) == 3
    stopped = PriceDropRule.objects.get(listing=listing)  # the default stops for this listing only
    assert not stopped.is_active and PriceDropRule.objects.get(pk=rule.pk).is_active
    assert any("Stopped: at the floor (15.00 EUR)" in message for message in events(account, "skipped"))


def test_the_scheduler_asking_twice_or_restarting_never_drops_twice(shop, fake_vinted):
    account, listing, _ = shop
    now = timezone.now()
    assert services.run_due_drops(now=now) == 1
    assert services.run_due_drops(now=now) == 0  # one job is waiting already
    run_worker()
    assert services.run_due_drops(now=now + timedelta(hours=5)) == 0  # same day: nothing more is due
    # A job queued twice (two schedulers) checks again: the second finds nothing due.
    assert services.drop_price(listing.pk, now)["dropped"] is False
    assert len(drops(listing)) == 1 and len(fake_vinted.requests_to(PUT, "PUT")) == 1


def test_an_edit_by_hand_stops_the_rule_and_sends_the_new_price(shop, fake_vinted, operator,
                                                                django_capture_on_commit_callbacks):
    account, listing, rule = shop
    tick()
    with django_capture_on_commit_callbacks(execute=True):
        listings.update_listing(operator, Listing.objects.get(pk=listing.pk), price=Decimal("19.00"))
    manual = PriceChange.objects.get(listing=listing, reason="manual")
    assert (manual.old_price, manual.new_price, manual.by) == (Decimal("18.00"), Decimal("19.00"), operator)
    run_worker()  # vinted.push_price
    assert vinted_items.item_price(fake_vinted, listing.vinted_item_id) == "19.00"
    assert tick(timezone.now() + timedelta(days=30)) == 0
    assert Listing.objects.get(pk=listing.pk).price == Decimal("19.00") and len(drops(listing)) == 1
    assert not PriceDropRule.objects.get(listing=listing).is_active
    assert any("edited by hand" in message for message in events(account, "skipped"))


def test_an_own_rule_is_turned_off_by_an_edit_by_hand_and_may_be_turned_on_again(
        operator, fake_vinted, django_capture_on_commit_callbacks):
    account = live_account(operator, fake_vinted)
    listing = on_sale(account, fake_vinted, price="20.00", min_price=Decimal("10.00"))
    rule = services.create_rule(operator, account, listing=listing, percent=Decimal("10"))
    tick()
    with django_capture_on_commit_callbacks(execute=True):
        listings.update_listing(operator, Listing.objects.get(pk=listing.pk), price=Decimal("19.00"))
    run_worker()
    tick(timezone.now() + timedelta(days=8))
    rule.refresh_from_db()
    assert not rule.is_active
    services.update_rule(operator, rule, is_active=True)  # on again: it starts from the edit
    assert tick(timezone.now() + timedelta(days=8)) == 1
    assert drops(listing)[-1] == (Decimal("19.00"), Decimal("17.10"))


def test_a_sold_listing_is_never_lowered(shop, fake_vinted, operator):
    account, listing, _ = shop
    listings.mark_sold(operator, listing, sale_price=Decimal("20"))
    assert tick() == 0
    assert services.drop_price(listing.pk)["dropped"] is False
    assert fake_vinted.requests_to(PUT) == [] and drops(listing) == []


def test_a_block_pauses_automation_and_keeps_the_price(shop, fake_vinted):
    account, listing, _ = shop
    fake_vinted.fail_next("datadome", paths=r"/item_upload/items/")
    assert tick() == 1
    listing.refresh_from_db()
    account.refresh_from_db()
    assert listing.price == Decimal("20.00") and vinted_items.item_price(fake_vinted, listing.vinted_item_id) == "20.00"
    assert drops(listing) == []
    assert account.status == AccountStatus.COOLING_DOWN
    assert automation.settings_for(account).paused
    assert VintedCall.objects.get(account=account, action="price-update").outcome == "blocked"
    assert any("the price stays 20.00" in message for message in events(account, "failed"))
    assert services.run_due_drops() == 0  # paused: nothing more is queued


def test_every_drop_counts_against_the_hourly_write_limit(settings, operator, fake_vinted):
    settings.VINTED_WRITES_PER_HOUR = 1
    account = live_account(operator, fake_vinted)
    first = on_sale(account, fake_vinted, min_price=Decimal("1"))
    second = on_sale(account, fake_vinted, min_price=Decimal("1"))
    default_rule(account)
    assert tick() == 2
    assert len(drops(first)) + len(drops(second)) == 1  # the second waits for the limit
    runs = sorted(JobRun.objects.filter(name="vinted.drop_price").values_list("status", flat=True))
    assert runs == ["retrying", "succeeded"]
    calls = sorted(VintedCall.objects.filter(account=account).values_list("outcome", flat=True))
    assert calls == ["ok", "refused"]
    assert services.run_due_drops() == 0  # the waiting job is not queued again


def test_a_dry_run_account_sends_nothing(operator, fake_vinted):
    account = live_account(operator, fake_vinted, dry_run=True)
    listing = on_sale(account, fake_vinted, min_price=Decimal("15"))
    default_rule(account)
    assert tick() == 0  # nothing to send: no job
    assert tick() == 0
    assert services.drop_price(listing.pk)["dry_run"] is True  # a job queued before dry run was turned on
    assert fake_vinted.requests_to(PUT) == [] and not VintedCall.objects.exists()
    assert Listing.objects.get(pk=listing.pk).price == Decimal("20.00") and drops(listing) == []
    assert events(account, "dry_run") == [f"{listing}: Dry run: nothing was sent to Vinted. "
                                          f"Lower {listing} from 20.00 to 18.00 EUR."]  # said once


def test_without_a_floor_nothing_is_lowered_and_it_says_why_once(operator, fake_vinted):
    account = live_account(operator, fake_vinted)
    listing = on_sale(account, fake_vinted)
    default_rule(account)
    assert tick() == 0
    assert tick() == 0
    assert events(account) == [f"{listing}: {services.NO_FLOOR}"]
    assert fake_vinted.requests_to(PUT) == []


def test_switched_off_or_paused_accounts_plan_and_drop_nothing(operator, fake_vinted):
    account = live_account(operator, fake_vinted, enabled=False)
    listing = on_sale(account, fake_vinted, min_price=Decimal("10"))
    default_rule(account)
    assert tick() == 0
    assert services.upcoming(account, now=timezone.now(), until=timezone.now() + timedelta(days=1)) == []
    settings = automation.settings_for(account)
    settings.price_drops_enabled = True
    settings.save()
    automation.pause(account, by_user=operator)
    assert tick() == 0
    # A job queued before the pause checks again and does nothing.
    assert services.drop_price(listing.pk)["dropped"] is False
    assert fake_vinted.requests_to(PUT) == []


def test_not_yet_due_before_after_days(operator, fake_vinted):
    account = live_account(operator, fake_vinted)
    on_sale(account, fake_vinted, days_ago=3, min_price=Decimal("10"))
    default_rule(account)
    assert tick() == 0
    assert tick(timezone.now() + timedelta(days=4, minutes=1)) == 1


def test_the_floor_is_the_highest_of_minimum_price_and_cost_plus_margin(operator):
    account = live_account(operator)
    listing = on_sale(account, min_price=Decimal("12"), purchase_cost=Decimal("10"))
    rule = default_rule(account, margin_percent=Decimal("50"))
    assert services.floor_for(listing, rule) == Decimal("15.00")
    rule.floor = Decimal("16")
    assert services.floor_for(listing, rule) == Decimal("16")
    rule.floor, rule.margin_percent = None, None
    assert services.floor_for(listing, rule) == Decimal("12")
    listing.min_price = None
    assert services.floor_for(listing, rule) is None
    rule.amount, rule.percent = Decimal("3"), None
    assert services.lowered(Decimal("19.99"), rule, Decimal("1")) == Decimal("16.99")
    rule.amount, rule.percent = None, Decimal("15")
    assert services.lowered(Decimal("19.99"), rule, Decimal("1")) == Decimal("16.99")  # 16.9915 -> 16.99


def test_upcoming_lists_the_next_drop_with_its_time_and_prices(operator):
    account = live_account(operator)
    listing = on_sale(account, days_ago=5, min_price=Decimal("15"))
    default_rule(account)
    now = timezone.now()
    assert services.upcoming(account, now=now, until=now + timedelta(days=1)) == []
    planned = services.upcoming(account, now=now, until=now + timedelta(days=3))
    assert len(planned) == 1
    assert planned[0].what == f"Lower {listing} from 20.00 to 18.00 EUR" and planned[0].listing == listing
    assert abs(planned[0].at - (listing.listed_at + timedelta(days=7))) < timedelta(seconds=1)
    assert [item.what for item in automation.upcoming(account, hours=72, now=now)] == [planned[0].what]


@pytest.mark.parametrize("fields,field", [
    ({}, "percent"),
    ({"percent": Decimal("10"), "amount": Decimal("1")}, "percent"),
    ({"percent": Decimal("0")}, "percent"),
    ({"percent": Decimal("100")}, "percent"),
    ({"amount": Decimal("0")}, "amount"),
    ({"percent": Decimal("10"), "after_days": 0}, "after_days"),
    ({"percent": Decimal("10"), "every_days": 0}, "every_days"),
    ({"percent": Decimal("10"), "after_days": 3651}, "after_days"),
    ({"percent": Decimal("10"), "every_days": 2_000_000_000}, "every_days"),
    ({"percent": Decimal("10"), "floor": Decimal("-1")}, "floor"),
])
def test_bad_rules_are_refused_at_their_field(operator, fields, field):
    account = live_account(operator)
    with pytest.raises(ValidationError) as refused:
        services.create_rule(operator, account, **fields)
    assert field in refused.value.message_dict
    assert not PriceDropRule.objects.exists()


def test_one_default_per_account_and_one_rule_per_listing(operator, other_operator):
    account = live_account(operator)
    listing = on_sale(account)
    services.create_rule(operator, account, percent=Decimal("10"))
    services.create_rule(operator, account, listing=listing, amount=Decimal("2"))
    for extra in ({}, {"listing": listing}):
        with pytest.raises(ValidationError) as refused:
            services.create_rule(operator, account, percent=Decimal("5"), **extra)
        assert "listing" in refused.value.message_dict
    elsewhere = on_sale(live_account(other_operator, label="Other"))
    with pytest.raises(ValidationError):
        services.create_rule(operator, account, listing=elsewhere, percent=Decimal("5"))
    assert PriceDropRule.objects.count() == 2


def test_every_price_change_by_hand_is_recorded_and_min_price_is_checked(operator):
    listing = listings.create_listing(operator, title="Jacket", price=Decimal("30"))
    listings.update_listing(operator, listing, price=Decimal("25"), measurements="  chest 52 cm  ")
    listings.update_listing(operator, listing, price=Decimal("25"))  # no change: no row
    change = PriceChange.objects.get(listing=listing)
    assert (change.reason, change.old_price, change.new_price, change.by) == (
        "manual", Decimal("30.00"), Decimal("25"), operator)
    assert Listing.objects.get(pk=listing.pk).measurements == "chest 52 cm"
    for fields in ({"min_price": Decimal("26")}, {"price": Decimal("10"), "min_price": Decimal("12")},
                   {"min_price": Decimal("-1")}):
        with pytest.raises(ValidationError) as refused:
            listings.update_listing(operator, Listing.objects.get(pk=listing.pk), **fields)
        assert "min_price" in refused.value.message_dict
    listings.update_listing(operator, Listing.objects.get(pk=listing.pk), min_price=Decimal("20"))
    assert Listing.objects.get(pk=listing.pk).min_price == Decimal("20")


def test_a_published_listing_keeps_its_content_locked_but_its_price_and_facts_may_change(operator):
    account = live_account(operator, dry_run=True)
    listing = on_sale(account)
    with pytest.raises(ValidationError):
        listings.update_listing(operator, listing, title="New title")
    saved = listings.update_listing(operator, listing, price=Decimal("22"), min_price=Decimal("15"),
                                    measurements="length 70 cm")
    assert (saved.status, saved.price, saved.min_price) == (ListingStatus.PUBLISHED, Decimal("22"), Decimal("15"))


def test_one_account_in_error_does_not_stop_the_drops_of_the_others(operator, other_operator, fake_vinted):
    broken = live_account(operator, fake_vinted)
    on_sale(broken, fake_vinted, min_price=Decimal("10"))
    # Stored before the validator had a limit: timedelta(days=...) overflows.
    default_rule(broken, after_days=2_000_000_000)
    account = live_account(other_operator, fake_vinted, label="Other")
    listing = on_sale(account, fake_vinted, min_price=Decimal("10"))
    default_rule(account)
    assert tick() == 1
    assert drops(listing) == [(Decimal("20.00"), Decimal("18.00"))]
    failed = events(broken, "failed")
    assert len(failed) == 1 and "Price drops failed for this account" in failed[0]


def test_a_rule_floor_below_the_minimum_price_never_goes_under_the_minimum_price(operator, fake_vinted):
    account = live_account(operator, fake_vinted)
    listing = on_sale(account, fake_vinted, price="20.00", min_price=Decimal("15.00"))
    rule = default_rule(account, percent=Decimal("50"), floor=Decimal("5"))
    assert services.floor_for(listing, rule) == Decimal("15.00")
    assert tick() == 1
    assert drops(listing) == [(Decimal("20.00"), Decimal("15.00"))]


def test_a_price_edited_by_hand_while_the_drop_was_sent_is_kept(shop, fake_vinted, operator):
    account, listing, rule = shop
    listing = Listing.objects.select_related("account").get(pk=listing.pk)  # what the job read: 20.00
    Listing.objects.filter(pk=listing.pk).update(price=Decimal("19.00"))  # the hand edit, meanwhile
    before = timezone.now()
    assert services._save_drop(listing, rule, Decimal("20.00"), Decimal("18.00"), Decimal("15.00")) is False
    assert Listing.objects.get(pk=listing.pk).price == Decimal("19.00") and drops(listing) == []
    assert any("the price changed meanwhile" in message for message in events(account, "skipped"))
    # A drop that is written is dated when it is written, not when the job started.
    assert services._save_drop(Listing.objects.get(pk=listing.pk), rule, Decimal("19.00"), Decimal("17.10"),
                               Decimal("15.00")) is True
    assert PriceChange.objects.get(listing=listing, reason="drop").at >= before


def test_an_edit_by_hand_before_the_first_drop_stops_the_rule(shop, fake_vinted, operator,
                                                             django_capture_on_commit_callbacks):
    account, listing, rule = shop
    with django_capture_on_commit_callbacks(execute=True):
        listings.update_listing(operator, Listing.objects.get(pk=listing.pk), price=Decimal("19.00"))
    run_worker()  # vinted.push_price
    assert tick(timezone.now() + timedelta(days=30)) == 0
    assert drops(listing) == [] and Listing.objects.get(pk=listing.pk).price == Decimal("19.00")
    assert not PriceDropRule.objects.get(listing=listing).is_active
    assert any("edited by hand" in message for message in events(account, "skipped"))
