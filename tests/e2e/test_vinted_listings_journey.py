"""A seller's journey on the listings pages in a real browser: start a draft with just a title,
try to mark it ready, read the validator's problems next to the fields, fix them in the form, mark
it ready, find it on the board as ready; and the board at phone width without sideways scrolling.

(The photos and AI-draft panels belong to their own journeys; the photo here is a stored row.)
"""


import pytest

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.helpers import has_horizontal_scroll, low_contrast, overflowing_elements, sign_in, visit
from tests.factories import ListingFactory, PhotoFactory
from vinted.models import Listing

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _catalogue(vinted_catalogue):
    pass


def test_draft_fix_what_the_validator_flags_mark_ready_see_it_on_the_board(open_page, operator):
    page = open_page()
    sign_in(page, operator.username)
    visit(page, "/vinted/")
    page.get_by_role("link", name="Create your first listing").click()
    page.get_by_label("Title").fill("Levi's 501 jeans, W30")
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    listing = Listing.objects.get()
    assert page.url.endswith(listing.get_absolute_url())
    PhotoFactory(listing=listing)  # the photos panel is its own journey

    with page.expect_navigation():
        page.get_by_role("button", name="Mark ready").click()
    assert page.get_by_text("Not ready yet").is_visible()
    description = page.locator("dt#field-description + dd")
    assert "Describe the item." in description.inner_text()
    assert "Choose a brand, or tick “no brand”." in page.locator("dt#field-brand + dd").inner_text()

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Description").fill("Classic straight leg, dark wash. Mail me at me@example.com")
    page.get_by_label("Category").select_option(label="Women › Clothing › Jeans")
    page.get_by_label("Brand", exact=True).select_option(label="Levi's")
    page.get_by_label("Size", exact=True).select_option(label="W30 (women-jeans)")
    page.get_by_label("Condition").select_option(label="Very good")
    page.get_by_label("Blue", exact=True).check()
    page.get_by_label("Price", exact=True).fill("24.00")
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Mark ready").click()
    flagged = page.locator("dt#field-description + dd").inner_text()
    assert "e-mail address" in flagged and "me@example.com" in flagged

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Description").fill("Classic straight leg, dark wash, no marks.")
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Mark ready").click()
    assert page.get_by_text("is ready to publish").is_visible()

    visit(page, "/vinted/")
    page.locator("a.status-card", has_text="Ready").click()
    page.wait_for_url("**/vinted/?status=ready")
    assert page.get_by_role("link", name="Levi's 501 jeans, W30").is_visible()
    assert Listing.objects.get().status == "ready"


@pytest.mark.parametrize("viewport,theme", [(PHONE, "light"), (PHONE, "dark"), (DESKTOP, "dark")])
def test_board_and_listing_page_fit_and_read(open_page, operator, screenshots_dir, viewport, theme):
    statuses = ["draft", "ready", "published", "sold", "failed", "archived"]
    for n, status in enumerate(statuses):
        ListingFactory(owner=operator, complete=True, status=status, sku=f"SKU-LONG-{n:04d}",
                       title=f"A rather long title for a vintage denim jacket {n}")
    page = open_page(viewport=viewport, color_scheme=theme)
    sign_in(page, operator.username)
    for path, name in (("/vinted/", "board"), (Listing.objects.get(status="draft").get_absolute_url(), "listing"),
                       ("/vinted/listings/new/", "form")):
        visit(page, path)
        page.screenshot(path=str(screenshots_dir / f"vinted-{name}-{viewport['width']}-{theme}.png"),
                        full_page=True)
        assert not has_horizontal_scroll(page), (path, overflowing_elements(page))
        assert low_contrast(page) == [], (path, low_contrast(page))
