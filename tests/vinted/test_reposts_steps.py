"""The steps of one repost (vinted.services.repost_steps) without a browser: the start (relist, ready,
prepare queued; re-checks: sold meanwhile, dry run, paused), the automatic publish of a prepared new
listing (internal token, key repost-<id>), a failed publication leaves the old listing live and untouched,
and deleting the old item on the fake Vinted through the real worker (done; a refusal leaves both live,
failed, and a retry only deletes). Chromium's part is tests/e2e/test_vinted_repost_journey.py."""

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.models import JobRun
from tests.fakes import vinted_items
from tests.monitoring.worker import run_worker
from tests.vinted.test_reposts import live_listing, repost_account
from vinted.choices import AccountStatus, CallKind, ListingStatus, PublicationStatus, RepostStatus
from vinted.models import AutomationEvent, Listing, Publication, Repost, VintedCall
from vinted.services import automation, publishing, repost_steps, reposts

pytestmark = pytest.mark.django_db


def due_repost(account, listing, **fields):
    return Repost.objects.create(account=account, listing=listing,
                                 scheduled_for=fields.pop("scheduled_for", timezone.now() - timedelta(minutes=1)),
                                 **fields)


def finish_prepare(publication):
    """What run_prepare leaves after Vinted's form held exactly the listing (Chromium's part is e2e)."""
    listing = publication.listing
    snapshot = {"values": publishing.listing_values(listing),
                "photo_hashes": [publishing.photo_hash(p) for p in publishing.ready_photos(listing)]}
    Publication.objects.filter(pk=publication.pk).update(
        status=PublicationStatus.PREPARED, snapshot=snapshot, snapshot_hash=publishing.snapshot_hash(snapshot),
        listing_fingerprint=publishing.listing_fingerprint(listing), prepared_at=timezone.now())
    Listing.objects.filter(pk=listing.pk).update(status=ListingStatus.PREPARED)


def outcomes(listing):
    return list(AutomationEvent.objects.filter(listing=listing).order_by("at", "id").values_list("outcome", flat=True))


def untouched(listing):
    before = (listing.status, listing.vinted_item_id, listing.price)
    listing.refresh_from_db()
    return (listing.status, listing.vinted_item_id, listing.price) == before and listing.status == "published"


# --- start ----------------------------------------------------------------------------------------------------

def test_start_relists_marks_ready_and_queues_the_prepare(operator):
    account = repost_account(operator, repost_after_days=14)
    old = live_listing(account, days_ago=20, now=timezone.now(), photos=2)
    repost = due_repost(account, old)
    repost_steps.advance(repost.pk)
    repost.refresh_from_db()
    new = repost.new_listing
    assert repost.status == RepostStatus.RELISTING and new.relisted_from == old
    assert new.status == ListingStatus.PREPARING and new.photos.count() == 2
    publication = publishing.current_publication(new)
    assert publication.status == PublicationStatus.PREPARING and publication.account == account
    assert publication.prepare_job.name == "vinted.prepare_publication"
    assert untouched(old) and not VintedCall.objects.exists()
    assert outcomes(old) == ["done"]
    # While Chromium prepares, the hook leaves it to the prepare job.
    assert reposts.run_due_reposts() == 0


def test_a_listing_sold_meanwhile_is_not_reposted(operator):
    account = repost_account(operator)
    old = live_listing(account, now=timezone.now())
    repost = due_repost(account, old)
    Listing.objects.filter(pk=old.pk).update(status=ListingStatus.SOLD, sold_at=timezone.now())
    repost_steps.advance(repost.pk)
    repost.refresh_from_db()
    assert repost.status == RepostStatus.CANCELLED and "no longer live and unsold" in repost.error
    assert Listing.objects.filter(relisted_from=old).count() == 0 and outcomes(old) == ["skipped"]


def test_a_dry_run_account_sends_nothing(operator):
    account = repost_account(operator, dry_run=True)
    old = live_listing(account, now=timezone.now())
    repost = due_repost(account, old)
    repost_steps.advance(repost.pk)
    repost.refresh_from_db()
    assert repost.status == RepostStatus.CANCELLED and repost.error.startswith("Dry run: nothing was sent")
    assert outcomes(old) == ["dry_run"]
    assert not Listing.objects.filter(relisted_from=old).exists() and not JobRun.objects.exists()
    assert not VintedCall.objects.exists()


def test_a_pause_after_the_job_was_queued_stops_it(operator):
    account = repost_account(operator)
    old = live_listing(account, now=timezone.now())
    repost = due_repost(account, old)
    automation.pause(account, by_user=operator)
    repost_steps.advance(repost.pk)
    repost.refresh_from_db()
    assert repost.status == RepostStatus.SCHEDULED and not Listing.objects.filter(relisted_from=old).exists()
    assert AutomationEvent.objects.filter(listing=old, outcome="paused", message__contains="waits").exists()


def test_a_new_listing_that_is_not_ready_fails_and_leaves_the_old_live(operator):
    account = repost_account(operator)
    old = live_listing(account, now=timezone.now(), photos=0)  # no photo: the validator refuses the copy
    repost = due_repost(account, old)
    repost_steps.advance(repost.pk)
    repost.refresh_from_db()
    assert repost.status == RepostStatus.FAILED and "not ready to publish" in repost.error
    assert "still live on Vinted, untouched" in repost.error
    assert untouched(old) and outcomes(old) == ["done", "failed"]


# --- publish -------------------------------------------------------------------------------------------------

def test_a_prepared_new_listing_is_published_without_a_person(operator):
    account = repost_account(operator)
    old = live_listing(account, now=timezone.now(), photos=1)
    repost = due_repost(account, old)
    repost_steps.advance(repost.pk)
    repost.refresh_from_db()
    publication = publishing.current_publication(repost.new_listing)
    finish_prepare(publication)
    assert reposts.run_due_reposts() == 1  # the hook sees the finished prepare and moves the repost on
    run_worker(max_tasks=2)  # the prepare job (its publication moved on: nothing to do), then the repost's
    publication.refresh_from_db()
    assert publication.status == PublicationStatus.PUBLISHING
    assert publication.idempotency_key == f"repost-{repost.pk}" and publication.confirmed_by == operator
    assert publication.publish_job.name == "vinted.publish_publication"
    repost.refresh_from_db()
    assert repost.status == RepostStatus.RELISTING and untouched(old)


def test_a_failed_publication_leaves_the_old_listing_live_and_the_repost_failed(operator, fake_vinted):
    account = repost_account(operator, fake=fake_vinted)
    item = vinted_items.add_item(fake_vinted, title="Old")
    old = live_listing(account, now=timezone.now(), item_id=item)
    repost = due_repost(account, old)
    repost_steps.advance(repost.pk)
    repost.refresh_from_db()
    publication = publishing.current_publication(repost.new_listing)
    Publication.objects.filter(pk=publication.pk).update(status=PublicationStatus.FAILED,
                                                         error="Vinted refused a photo (500).")
    repost_steps.advance(repost.pk)
    repost.refresh_from_db()
    assert repost.status == RepostStatus.FAILED
    assert "Vinted refused a photo" in repost.error and "untouched" in repost.error
    assert untouched(old) and item in vinted_items.items(fake_vinted) and vinted_items.deleted_items(fake_vinted) == []
    assert not reposts.can_retry(repost)


# --- delete the old ------------------------------------------------------------------------------------------

def published_copy(old):
    new = live_listing(old.account, now=timezone.now(), days_ago=0, relisted_from=old)
    return new


def test_once_the_new_listing_is_live_the_old_item_is_deleted_on_vinted(operator, fake_vinted):
    account = repost_account(operator, fake=fake_vinted)
    item = vinted_items.add_item(fake_vinted, title="Old")
    old = live_listing(account, now=timezone.now(), item_id=item)
    new = published_copy(old)
    repost = due_repost(account, old, status=RepostStatus.RELISTING, new_listing=new)
    assert reposts.run_due_reposts() == 1
    run_worker()
    repost.refresh_from_db()
    assert repost.status == RepostStatus.DONE and repost.finished_at
    assert vinted_items.deleted_items(fake_vinted) == [item]
    old.refresh_from_db()
    assert old.status == ListingStatus.ARCHIVED
    write, = VintedCall.objects.filter(kind=CallKind.WRITE)
    assert write.action == "delete" and write.outcome == "ok"
    assert outcomes(old) == ["done", "done"]
    assert reposts.run_due_reposts() == 0


def test_a_failed_delete_leaves_both_live_and_a_retry_only_deletes(operator, other_operator, fake_vinted):
    account = repost_account(operator, fake=fake_vinted)
    item = vinted_items.add_item(fake_vinted, title="Old")
    old = live_listing(account, now=timezone.now(), item_id=item)
    new = published_copy(old)
    repost = due_repost(account, old, status=RepostStatus.DELETING, new_listing=new)
    fake_vinted.fail_next("expired", paths=r"/delete$")
    repost_steps_result = reposts.run_due_reposts()
    assert repost_steps_result == 1
    run_worker()
    repost.refresh_from_db()
    assert repost.status == RepostStatus.FAILED
    assert "Both listings are live" in repost.error and "Retry to delete the old one only" in repost.error
    assert item in vinted_items.items(fake_vinted) and untouched(old)
    assert reposts.can_retry(repost)
    with pytest.raises(reposts.ValidationError, match="account is session expired|needs"):
        reposts.retry(repost, by_user=operator)  # the account needs a new session first
    account.refresh_from_db()
    account.status, account.status_message = AccountStatus.ACTIVE, ""
    account.cookies = account.cookies  # the session imported again
    account.save()
    with pytest.raises(reposts.PermissionDenied):
        reposts.retry(repost, by_user=other_operator)
    submits_before = len(fake_vinted.requests_to(r"^/items/new$", "POST"))
    reposts.retry(repost, by_user=operator)
    run_worker()
    repost.refresh_from_db()
    assert repost.status == RepostStatus.DONE
    assert vinted_items.deleted_items(fake_vinted) == [item]
    assert len(fake_vinted.requests_to(r"^/items/new$", "POST")) == submits_before == 0  # nothing published again
    assert Listing.objects.filter(relisted_from=old).count() == 1
