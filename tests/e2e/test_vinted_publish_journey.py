"""Publishing in a real browser: the publication pages at 1440 and 390 px in each state a seller meets
(prepared with its screenshot and confirm button, failed with the read-back difference), photographed
and checked for sideways scrolling on a phone; and the whole journey against the fake Vinted: a
session imported, prepare from the listing page, the live progress while the worker runs the job, the
screenshot, confirm, and "published" with the fake's item id. (The buyer's message and the reply that
follow are the inbox's journey, tests/e2e/test_vinted_inbox_journey.py.)"""

import json
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE
from tests.e2e.helpers import has_horizontal_scroll, overflowing_elements, sign_in, visit
from tests.factories import ListingFactory, PhotoFactory
from tests.monitoring.worker import run_worker
from tests.vinted.publishing_page_helpers import make_account, make_publication
from vinted.choices import AccountStatus, ListingStatus, PublicationStatus
from vinted.models import VintedAccount
from vinted.services.accounts import import_session

pytestmark = pytest.mark.browser


def _photograph(page, screenshots_dir, name):
    page.wait_for_load_state("networkidle")
    page.screenshot(path=screenshots_dir / f"{name}-1440.png", full_page=True)
    page.set_viewport_size(PHONE)
    assert not has_horizontal_scroll(page), overflowing_elements(page)
    page.screenshot(path=screenshots_dir / f"{name}-390.png", full_page=True)


def test_publication_pages_in_each_state(open_page, operator, vinted_catalogue, screenshots_dir):
    listing = ListingFactory(owner=operator, complete=True, title="Levi's 501 straight jeans W30",
                             status=ListingStatus.READY)
    PhotoFactory(listing=listing)
    account = make_account(operator)
    prepared = make_publication(listing, account, PublicationStatus.PREPARED)
    page = open_page()
    sign_in(page, operator.username)

    visit(page, listing.get_absolute_url())
    panel = page.locator("#listing-publishing")
    expect(panel).to_contain_text("Prepared, waiting for confirmation")
    _photograph(page, screenshots_dir, "vinted-listing-publishing-panel")

    page = open_page()
    sign_in(page, operator.username)
    visit(page, f"/vinted/publications/{prepared.pk}/")
    expect(page.get_by_role("button", name="Confirm and publish")).to_be_visible()
    screenshot = page.get_by_role("img", name="Vinted's new-item form as prepare filled it in")
    expect(screenshot).to_be_visible()
    assert screenshot.evaluate("img => img.naturalWidth") > 0, "the screenshot did not load"
    expect(page.locator("[data-values]")).to_contain_text("Levi's")
    _photograph(page, screenshots_dir, "vinted-publication-prepared")

    other = ListingFactory(owner=operator, complete=True, title="Nike hoodie", status=ListingStatus.READY)
    PhotoFactory(listing=other)
    failed = make_publication(other, account, PublicationStatus.FAILED,
                              error="Vinted's form did not keep what was filled: brand_id.",
                              difference={"brand_id": {"expected": "53", "found": ""}})
    page = open_page()
    sign_in(page, operator.username)
    visit(page, f"/vinted/publications/{failed.pk}/")
    expect(page.locator("[data-difference]")).to_contain_text("No brand")
    expect(page.get_by_role("button", name="Prepare again")).to_be_visible()
    _photograph(page, screenshots_dir, "vinted-publication-failed")


def test_seller_prepares_confirms_and_sees_it_published(open_page, operator, vinted_catalogue, fake_vinted,
                                                        settings, screenshots_dir):
    settings.VINTED_BROWSER_TIMEOUT_SECONDS = 30
    # The session, imported as the seller pastes it (the import page is the accounts part's journey);
    # an admin has turned dry run off for this account.
    account = VintedAccount.objects.create(owner=operator, label="Otto on vinted.fr", domain="vinted.fr")
    account = import_session(account, json.dumps(fake_vinted.add_session()), user_agent="Mozilla/5.0 lofisite-e2e",
                             by_user=operator)
    assert account.status == AccountStatus.ACTIVE, account.status_message
    VintedAccount.objects.filter(pk=account.pk).update(dry_run=False)
    listing = ListingFactory(owner=operator, complete=True, title="Levi's 501 straight jeans W30",
                             status=ListingStatus.READY)
    PhotoFactory(listing=listing)
    page = open_page()
    sign_in(page, operator.username)
    visit(page, listing.get_absolute_url())

    panel = page.locator("#listing-publishing")
    panel.get_by_label("Vinted account").select_option(label="Otto on vinted.fr (vinted.fr)")
    with page.expect_navigation():
        panel.get_by_role("button", name="Prepare on Vinted").click()
    state = page.locator("#publication-state")
    expect(state).to_contain_text("updates live")
    expect(state.locator("[data-status]")).to_have_text("Preparing")
    url = page.url

    run_worker()  # the prepare job: Chromium fills the fake's form, reads it back, screenshots it
    expect(state.locator("[data-status]")).to_have_text("Prepared, waiting for confirmation", timeout=30_000)
    expect(state).not_to_contain_text("updates live")
    assert page.url == url  # followed live, no reload
    screenshot = page.get_by_role("img", name="Vinted's new-item form as prepare filled it in")
    expect(screenshot).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert screenshot.evaluate("img => img.naturalWidth") > 300, "the screenshot of the form did not load"
    expect(page.locator("[data-values]")).to_contain_text("Levi's (id 53)")
    assert fake_vinted.state.get("submits", 0) == 0, "prepare must not submit"

    with page.expect_navigation():
        page.get_by_role("button", name="Confirm and publish").click()
    expect(state.locator("[data-status]")).to_have_text("Publishing")
    run_worker()  # the publish job: fill from the snapshot, read back, compare, submit
    expect(state.locator("[data-status]")).to_have_text("Published", timeout=30_000)
    item_ids = list(fake_vinted.state["items"])
    assert len(item_ids) == 1, item_ids
    expect(state.locator("[data-item-id]")).to_have_text(item_ids[0])
    expect(state.get_by_role("link", name="See it on Vinted")).to_have_attribute(
        "href", re.compile(rf"/items/{item_ids[0]}-"))
    _photograph(page, screenshots_dir, "vinted-publication-published")
    listing.refresh_from_db()
    assert (listing.status, listing.vinted_item_id) == (ListingStatus.PUBLISHED, item_ids[0])
