"""A stale listing is reposted by automation against the fake Vinted, with the real workers and Chromium
(vinted.browser fills the fake's new-item form): the new item is created on the fake BEFORE the old one
is deleted (the order read from the fake's recorded requests), each write is in the ledger, and the
account's reposts page shows it done (also at phone width). A publish that fails in between (the fake's
form drops a field: nothing is submitted) leaves the old item live and the repost failed.
(The worker runs while no page is open: in-memory SQLite shares one connection.)"""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.e2e.conftest import PHONE
from tests.e2e.helpers import has_horizontal_scroll, sign_in, visit
from tests.factories import ListingFactory, PhotoFactory
from tests.fakes import vinted_items
from tests.monitoring.worker import run_worker
from vinted.choices import AccountStatus, CallKind, ListingStatus, PublicationStatus, RepostStatus
from vinted.models import AutomationSettings, Listing, Repost, VintedAccount, VintedCall
from vinted.services import publishing, reposts

pytestmark = pytest.mark.browser

WRITES = r"^/(items/new|api/v2/items/\d+/delete)$"


@pytest.fixture(autouse=True)
def _catalogue(vinted_catalogue, settings):
    settings.VINTED_BROWSER_TIMEOUT_SECONDS = 30
    settings.VINTED_WRITE_WAIT_MIN_SECONDS = 0
    settings.VINTED_WRITE_WAIT_MAX_SECONDS = 0


def stale_listing(owner, fake):
    account = VintedAccount.objects.create(owner=owner, label="main", status=AccountStatus.ACTIVE, dry_run=False,
                                           cookies=json.dumps(fake.add_session()), user_agent="Mozilla/5.0 e2e")
    AutomationSettings.objects.create(account=account, reposts_enabled=True, time_zone="Europe/Paris")
    item_id = vinted_items.add_item(fake, title="Levi's 501")
    old = ListingFactory(owner=owner, complete=True, title="Levi's 501 straight jeans W30",
                         status=ListingStatus.PUBLISHED, listed_at=timezone.now() - timedelta(days=40),
                         account=account, vinted_item_id=item_id)
    PhotoFactory(listing=old)
    return account, old, item_id


def tick(repost):
    """The scheduler hook at the repost's time (its slot is in the next busy window), then the worker."""
    reposts.run_due_reposts(max(timezone.now(), repost.scheduled_for + timedelta(seconds=1)))
    run_worker()
    repost.refresh_from_db()


def test_a_stale_listing_is_reposted_new_item_first_then_the_old_deleted(open_page, operator, fake_vinted):
    account, old, old_item = stale_listing(operator, fake_vinted)
    reposts.run_due_reposts()
    repost = Repost.objects.get(listing=old)
    assert repost.status == RepostStatus.SCHEDULED

    tick(repost)  # relist, then Chromium prepares the new listing on the fake
    assert repost.status == RepostStatus.RELISTING
    assert publishing.current_publication(repost.new_listing).status == PublicationStatus.PREPARED
    tick(repost)  # published automatically (no person confirms), then the old one deleted
    if repost.status != RepostStatus.DONE:
        tick(repost)
    assert repost.status == RepostStatus.DONE, repost.error

    new = Listing.objects.get(pk=repost.new_listing_id)
    assert new.status == ListingStatus.PUBLISHED and new.vinted_item_id and new.vinted_item_id != old_item
    writes = [request.path for request in fake_vinted.requests_to(WRITES, "POST")]
    assert writes == ["/items/new", f"/api/v2/items/{old_item}/delete"]  # the new one live before the old goes
    assert set(vinted_items.items(fake_vinted)) == {new.vinted_item_id}
    old.refresh_from_db()
    assert old.status == ListingStatus.ARCHIVED
    ledger = list(VintedCall.objects.filter(account=account, kind=CallKind.WRITE).order_by("at")
                  .values_list("action", "outcome"))
    assert ledger == [("publish", "ok"), ("delete", "ok")]
    assert publishing.current_publication(new).idempotency_key == f"repost-{repost.pk}"

    page = open_page()
    sign_in(page, operator.username)
    visit(page, reverse("vinted:repost_list", args=[account.pk]))
    row = page.locator(f'#repost-table tr[data-repost="{repost.pk}"]')
    assert row.get_attribute("data-status") == "done"
    assert "Done" in row.inner_text()
    phone = open_page(viewport=PHONE)
    sign_in(phone, operator.username)
    visit(phone, reverse("vinted:repost_list", args=[account.pk]))
    assert not has_horizontal_scroll(phone)


def test_a_publish_that_fails_in_between_leaves_the_old_item_live(operator, fake_vinted):
    account, old, old_item = stale_listing(operator, fake_vinted)
    reposts.run_due_reposts()
    repost = Repost.objects.get(listing=old)
    tick(repost)
    assert publishing.current_publication(repost.new_listing).status == PublicationStatus.PREPARED
    # The form the publish opens drops the brand as soon as it is filled: nothing is submitted.
    fake_vinted.fail_next("drop_field", field="brand_id", paths="^/items/new$")
    tick(repost)
    if repost.status == RepostStatus.RELISTING:
        tick(repost)
    assert repost.status == RepostStatus.FAILED
    assert "still live on Vinted, untouched" in repost.error
    assert old_item in vinted_items.items(fake_vinted) and vinted_items.deleted_items(fake_vinted) == []
    assert fake_vinted.requests_to(WRITES, "POST") == []
    old.refresh_from_db()
    assert (old.status, old.vinted_item_id) == (ListingStatus.PUBLISHED, old_item)
    assert not VintedCall.objects.filter(account=account, kind=CallKind.WRITE).exclude(outcome="refused").exists()
