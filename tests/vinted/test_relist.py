"""Relist (vinted.services.relist): what may be relisted, what the new draft copies, photos reused without
losing files when either side is deleted, and deleting the old item on the fake Vinted through the real
job worker (success, 404, a block, an expired session, a rate limit retried); sold and archive of a
published listing feed the inventory."""

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from monitoring.models import Event, JobRun
from tests.factories import ListingFactory, PhotoFactory
from tests.fakes import vinted_items
from tests.monitoring.worker import make_due, run_worker
from vinted import inventory
from vinted.choices import AccountStatus, ListingStatus
from vinted.models import Colour, Listing, Photo, VintedAccount, VintedCall
from vinted.services import listings, photos
from vinted.services import relist as services

pytestmark = pytest.mark.django_db


def account_for(owner, fake=None, **fields):
    cookies = json.dumps(fake.add_session()) if fake is not None else json.dumps({"access_token_web": "x"})
    # A live account (dry run off, as an admin leaves it once the account really sells).
    return VintedAccount.objects.create(owner=owner, label=fields.pop("label", "main"), cookies=cookies,
                                        status=fields.pop("status", AccountStatus.ACTIVE),
                                        dry_run=fields.pop("dry_run", False), **fields)


def published(owner, *, days_ago=45, account=None, item_id="", status=ListingStatus.PUBLISHED, **fields):
    listing = ListingFactory(owner=owner, complete=True, status=status,
                             listed_at=timezone.now() - timedelta(days=days_ago), account=account,
                             vinted_item_id=item_id, vinted_url=f"https://www.vinted.fr/items/{item_id}" if item_id
                             else "", **fields)
    return listing


def media(name) -> Path:
    return Path(settings.MEDIA_ROOT) / name


# --- what may be relisted -----------------------------------------------------------------------------------

@pytest.mark.parametrize("status,days_ago,allowed", [
    (ListingStatus.SOLD, 1, True),
    (ListingStatus.ARCHIVED, 1, True),
    (ListingStatus.PUBLISHED, 31, True),
    (ListingStatus.PUBLISHED, 29, False),
    (ListingStatus.DRAFT, 90, False),
    (ListingStatus.READY, 90, False),
    (ListingStatus.PUBLISHING, 90, False),
    (ListingStatus.FAILED, 90, False),
])
def test_only_sold_and_stale_listings_can_be_relisted(operator, status, days_ago, allowed):
    listing = ListingFactory(owner=operator, complete=True, status=status,
                             listed_at=timezone.now() - timedelta(days=days_ago))
    if allowed:
        assert services.relist(listing, by_user=operator).status == ListingStatus.DRAFT
    else:
        with pytest.raises(ValidationError) as caught:
            services.relist(listing, by_user=operator)
        assert "only a sold, archived or stale listing can be relisted" in caught.value.messages[0]
        assert Listing.objects.count() == 1


def test_stale_follows_the_setting_and_falls_back_to_created_at(operator, settings):
    settings.VINTED_STALE_DAYS = 7
    listing = published(operator, days_ago=8)
    assert services.is_stale(listing)
    settings.VINTED_STALE_DAYS = 10
    assert not services.is_stale(listing)
    never_listed = ListingFactory(owner=operator, status=ListingStatus.PUBLISHED, listed_at=None,
                                  created_at=timezone.now() - timedelta(days=11))
    assert services.is_stale(never_listed)


def test_permission_is_the_listing_rule(operator, other_operator, viewer, admin_user):
    listing = published(operator)
    for user in (other_operator, viewer):
        with pytest.raises(PermissionDenied):
            services.relist(listing, by_user=user)
    assert Listing.objects.count() == 1
    copy = services.relist(listing, by_user=admin_user)
    assert copy.owner == operator  # the seller's item, whoever relisted it


# --- the copy ---------------------------------------------------------------------------------------------

def test_the_draft_copies_content_and_inventory_but_not_the_sale_or_vinted_ids(
        operator, django_capture_on_commit_callbacks):
    red, blue = Colour.objects.get(name="Red"), Colour.objects.get(name="Blue")
    account = account_for(operator)
    old = ListingFactory(owner=operator, complete=True, colours=[red, blue], title="Levi's 501",
                         hashtags=["denim", "90s"],
                         price="30.00", currency="GBP", purchase_cost="8.50", purchase_date=timezone.localdate(),
                         source="Car boot", sku="J-501", storage_location="Box 3", edited_fields=["title"],
                         min_price="22.00", measurements="Waist 81 cm, inside leg 76 cm",
                         status=ListingStatus.SOLD, sale_price="28.00", sale_fees="2.00", sold_at=timezone.now(),
                         listed_at=timezone.now() - timedelta(days=3), vinted_item_id="123", account=account,
                         vinted_url="https://www.vinted.fr/items/123", ai_model="gpt-x")
    with django_capture_on_commit_callbacks(execute=True):
        copy = services.relist(old, by_user=operator)
    copy = Listing.objects.get(pk=copy.pk)
    assert copy.relisted_from == old and copy.status == ListingStatus.DRAFT and copy.owner == operator
    for name in ("title", "description", "category", "brand", "no_brand", "size", "condition", "price", "currency",
                 "package_size", "hashtags", "purchase_cost", "purchase_date", "source", "sku", "storage_location",
                 "min_price", "measurements", "edited_fields"):
        assert getattr(copy, name) == getattr(old, name), name
    assert set(copy.colours.all()) == {red, blue}
    assert (copy.sale_price, copy.sale_fees, copy.sold_at, copy.listed_at, copy.ready_at) == (None,) * 5
    assert (copy.vinted_item_id, copy.vinted_url, copy.account, copy.ai_model) == ("", "", None, "")
    old.refresh_from_db()
    assert old.status == ListingStatus.SOLD and old.sale_price == Decimal("28.00")  # the old one is untouched
    event = Event.objects.get(kind="listing.relisted")
    assert event.payload["new_listing"] == copy.pk and event.payload["delete_old"] is False


def test_photos_are_reused_in_order_and_survive_deleting_either_side(operator, django_capture_on_commit_callbacks):
    old = ListingFactory(owner=operator, complete=True, status=ListingStatus.ARCHIVED)
    first, second, third = (PhotoFactory(listing=old, position=p) for p in (2, 0, 1))
    Photo.objects.filter(pk=first.pk).update(sha256="c" * 64)
    copy = services.relist(old, by_user=operator)
    copies = list(Photo.objects.filter(listing=copy).order_by("position"))
    assert [p.position for p in copies] == [0, 1, 2]
    originals = [second, third, first]
    for original, reused in zip(originals, copies, strict=True):
        assert reused.original.name != original.original.name and reused.owner == operator
        assert media(reused.original.name).read_bytes() == media(original.original.name).read_bytes()
        assert media(reused.thumbnail.name).read_bytes() == media(original.thumbnail.name).read_bytes()
        assert (reused.width, reused.height, reused.status) == (original.width, original.height, "ready")
    assert copies[2].sha256 == "c" * 64

    # Deleting a reused photo leaves the old listing's file; deleting the old listing leaves the copy's.
    with django_capture_on_commit_callbacks(execute=True):
        photos.delete_photo(operator, copies[0])
    assert media(second.original.name).exists()
    names = [p.original.name for p in copies[1:]]
    old_names = [p.original.name for p in (first, third)]
    with django_capture_on_commit_callbacks(execute=True):
        listings.delete_listing(operator, old)
    assert not Listing.objects.filter(pk=old.pk).exists()
    assert not any(media(name).exists() for name in old_names)  # the old listing's own files did go
    for name in names:
        assert media(name).exists(), name


def test_a_failed_relist_leaves_no_rows_and_no_files(operator):
    old = ListingFactory(owner=operator, complete=True, status=ListingStatus.ARCHIVED)
    PhotoFactory(listing=old)
    before = set(p.name for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())
    with pytest.raises(ValidationError):
        services.relist(old, by_user=operator, delete_old=True)  # not on Vinted: refused after the copy began
    assert Listing.objects.count() == 1 and Photo.objects.count() == 1
    assert set(p.name for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()) == before


# --- delete the old item on Vinted -------------------------------------------------------------------------

def test_delete_old_needs_the_listing_on_vinted_and_the_users_account(operator, admin_user, fake_vinted):
    not_on_vinted = published(operator)
    with pytest.raises(ValidationError) as caught:
        services.relist(not_on_vinted, by_user=operator, delete_old=True)
    assert "not on Vinted" in caught.value.message_dict["delete_old"][0]
    other_account = account_for(admin_user, fake_vinted)
    on_someone_elses = published(operator, account=other_account, item_id="77")
    with pytest.raises(ValidationError) as caught:
        services.relist(on_someone_elses, by_user=operator, delete_old=True)
    assert "Vinted account" in caught.value.message_dict["delete_old"][0]
    assert Listing.objects.count() == 2 and not JobRun.objects.exists()


def test_a_dry_run_account_never_deletes_on_vinted(operator, fake_vinted, django_capture_on_commit_callbacks):
    account = account_for(operator, fake_vinted, dry_run=True)
    old = published(operator, account=account, item_id=vinted_items.add_item(fake_vinted))
    with pytest.raises(ValidationError) as caught:
        services.relist(old, by_user=operator, delete_old=True)
    assert "dry-run mode" in caught.value.message_dict["delete_old"][0]
    assert Listing.objects.count() == 1

    # Turned on after the relist was asked: the job refuses without calling Vinted.
    VintedAccount.objects.filter(pk=account.pk).update(dry_run=False)
    services.relist(old, by_user=operator, delete_old=True)
    VintedAccount.objects.filter(pk=account.pk).update(dry_run=True)
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    run = services.deletion_job(old)
    assert run.status == "failed" and "dry-run mode" in run.error
    assert fake_vinted.requests_to(r"/delete$") == [] and not VintedCall.objects.exists()
    assert Listing.objects.get(pk=old.pk).status == ListingStatus.PUBLISHED


def _relist_with_delete(operator, fake_vinted, *, status=ListingStatus.PUBLISHED, **item):
    account = account_for(operator, fake_vinted)
    item_id = vinted_items.add_item(fake_vinted, **item)
    old = published(operator, account=account, item_id=item_id, status=status)
    copy = services.relist(old, by_user=operator, delete_old=True)
    return old, copy, account, item_id


def test_delete_old_deletes_the_item_on_vinted_and_archives_the_listing(
        operator, fake_vinted, django_capture_on_commit_callbacks):
    old, copy, account, item_id = _relist_with_delete(operator, fake_vinted)
    run = services.deletion_job(old)
    assert (run.name, run.status, run.args) == ("vinted.delete_item", "queued", [old.pk])
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert vinted_items.deleted_items(fake_vinted) == [item_id] and item_id not in vinted_items.items(fake_vinted)
    request = fake_vinted.requests_to(rf"^/api/v2/items/{item_id}/delete$", "POST")[0]
    assert request.cookies["access_token_web"] == json.loads(account.cookies)["access_token_web"]
    old.refresh_from_db()
    assert old.status == ListingStatus.ARCHIVED and old.vinted_item_id == item_id  # kept for the inbox
    call = VintedCall.objects.get(account=account)
    assert (call.kind, call.action, call.outcome, call.what) == (
        "write", "delete", "ok", f"POST /api/v2/items/{item_id}/delete")
    assert Listing.objects.get(pk=copy.pk).status == ListingStatus.DRAFT
    assert Event.objects.filter(kind="listing.deleted_on_vinted", status="succeeded").exists()


def test_a_sold_listing_stays_sold_after_its_item_is_deleted(operator, fake_vinted,
                                                            django_capture_on_commit_callbacks):
    old, _, _, item_id = _relist_with_delete(operator, fake_vinted, status=ListingStatus.SOLD)
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    old.refresh_from_db()
    assert old.status == ListingStatus.SOLD and vinted_items.deleted_items(fake_vinted) == [item_id]


def test_an_item_already_gone_on_vinted_counts_as_deleted(operator, fake_vinted, django_capture_on_commit_callbacks):
    old, _, _, item_id = _relist_with_delete(operator, fake_vinted, user_id=999)  # not this session's: 404
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    assert services.deletion_job(old).status == "succeeded"
    old.refresh_from_db()
    assert old.status == ListingStatus.ARCHIVED
    assert vinted_items.deleted_items(fake_vinted) == [] and item_id in vinted_items.items(fake_vinted)


@pytest.mark.parametrize("mode,account_status", [("datadome", AccountStatus.COOLING_DOWN),
                                                 ("cloudflare", AccountStatus.COOLING_DOWN),
                                                 ("expired", AccountStatus.NEEDS_LOGIN)])
def test_a_block_or_an_expired_session_fails_the_job_and_the_draft_stays(
        operator, fake_vinted, mode, account_status, django_capture_on_commit_callbacks):
    old, copy, account, item_id = _relist_with_delete(operator, fake_vinted)
    fake_vinted.fail_next(mode, paths=r"/delete$")
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    run = services.deletion_job(old)
    assert run.status == "failed" and run.attempt == 1
    assert ("Blocked" if mode != "expired" else "SessionExpired") in run.error
    old.refresh_from_db()
    account.refresh_from_db()
    assert old.status == ListingStatus.PUBLISHED and account.status == account_status
    assert item_id in vinted_items.items(fake_vinted)
    assert Listing.objects.get(pk=copy.pk).status == ListingStatus.DRAFT
    assert Event.objects.filter(kind="listing.delete_on_vinted_failed", status="failed").exists()


def test_an_account_not_usable_fails_without_calling_vinted(operator, fake_vinted, django_capture_on_commit_callbacks):
    old, _, account, item_id = _relist_with_delete(operator, fake_vinted)
    VintedAccount.objects.filter(pk=account.pk).update(status=AccountStatus.BLOCKED, status_message="Blocked.")
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    run = services.deletion_job(old)
    assert run.status == "failed" and "AccountUnavailable" in run.error
    assert fake_vinted.requests_to(r"/delete$") == []


def test_a_rate_limit_is_retried_then_the_item_is_deleted(operator, fake_vinted, settings,
                                                          django_capture_on_commit_callbacks):
    settings.CIRCUIT_BREAKERS = {**settings.CIRCUIT_BREAKERS,
                                 "vinted": {"failure_threshold": 5, "recovery_timeout": 60, "call_timeout": 5}}
    old, _, _, item_id = _relist_with_delete(operator, fake_vinted)
    fake_vinted.fail_next("rate_limit", paths=r"/delete$", retry_after=1)
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    run = services.deletion_job(old)
    assert run.status == "retrying"
    make_due()
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    run.refresh_from_db()
    assert run.status == "succeeded" and run.attempt == 2
    assert vinted_items.deleted_items(fake_vinted) == [item_id]


# --- sold and archive of a published listing (part 1's actions) ---------------------------------------------

def test_a_published_listing_can_be_marked_sold_and_its_sale_feeds_the_profit(operator):
    listing = published(operator, days_ago=10, purchase_cost="5.00", price="25.00")
    listings.mark_sold(operator, listing, sale_price="22.00", sale_fees="3.00")
    listing.refresh_from_db()
    assert listing.status == ListingStatus.SOLD and listing.profit == Decimal("14.00")
    assert listing.days_to_sell == 10
    summary = inventory.summary(operator)
    assert summary.items_sold == 1 and summary.items_listed == 0
    eur = summary.currencies[0]
    assert (eur.revenue, eur.fees, eur.cost_of_sold, eur.profit) == (
        Decimal("22.00"), Decimal("3.00"), Decimal("5.00"), Decimal("14.00"))


def test_a_published_listing_can_be_archived(operator):
    listing = published(operator, days_ago=2)
    listings.archive_listing(operator, listing)
    listing.refresh_from_db()
    assert listing.status == ListingStatus.ARCHIVED
    assert services.can_relist(listing)
