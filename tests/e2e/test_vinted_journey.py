"""The Vinted desk's main journey in a real browser: an operator starts a listing, drops two photos on
it (drag-and-drop, a progress line per file), has the AI draft it (the local fake OpenAI server),
is told by the validator what Vinted would refuse (an e-mail address in the description), fixes that
field, marks the listing ready and finds it on the board under "Ready". A viewer then reads the same
listing and finds no button that changes it.

Live-server tests run on a flushed database, so the shipped catalogue is loaded again first
(the `vinted_catalogue` fixture).
"""

import base64

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE
from tests.e2e.helpers import has_horizontal_scroll, overflowing_elements, sign_in, visit
from tests.factories import image_bytes
from tests.vinted.drafting_helpers import good_answer
from vinted.choices import ListingStatus
from vinted.models import Listing

pytestmark = pytest.mark.browser

DROP_FILES = """(zone, files) => {
  const transfer = new DataTransfer();
  for (const [name, type, b64] of files) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], name, {type}));
  }
  for (const type of ["dragenter", "dragover", "drop"]) {
    zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: transfer}));
  }
}"""


def drop_photos(page, files):
    zone = page.locator("[data-drop-zone]").first
    payload = [[name, "image/jpeg", base64.b64encode(data).decode()] for name, data in files]
    zone.evaluate(DROP_FILES, payload)


def test_operator_drops_photos_drafts_fixes_and_marks_ready(open_page, operator, viewer, vinted_catalogue, fake_openai,
                                                           live_server, screenshots_dir):
    page = open_page()
    sign_in(page, operator.username)
    visit(page, "/vinted/")
    page.get_by_role("link", name="New listing").first.click()
    page.get_by_label("Title").fill("Jeans")
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_role("heading", name="Photos")).to_be_visible()
    page.evaluate("window.notReloaded = true")
    listing = Listing.objects.get(owner=operator)
    assert listing.status == ListingStatus.DRAFT

    # Two photos dropped on the drop zone: a progress line each, then both in the grid.
    drop_photos(page, [("front.jpg", image_bytes(1200, 900, (40, 80, 160))),
                       ("back.jpg", image_bytes(1200, 900, (40, 80, 170)))])
    expect(page.locator("[data-upload-list] li")).to_have_count(2)
    expect(page.locator(".photo-grid .photo-item")).to_have_count(2, timeout=20_000)
    expect(page.locator(".photo-grid .photo-item").first).to_contain_text("Cover")
    assert listing.photos.count() == 2

    # The AI drafts every field; its description carries an e-mail address, which Vinted forbids.
    fake_openai.reply_next(good_answer(description="Classic Levi's jeans, mid-blue. Questions: seller@example.com"))
    # The draft panel follows the photos without a reload: "Draft with AI" appears.
    expect(page.get_by_role("button", name="Draft with AI")).to_be_visible()
    assert page.evaluate("window.notReloaded === true")
    page.get_by_role("button", name="Draft with AI").click()
    # The title the seller typed is theirs: the draft keeps it and fills the rest.
    expect(page.locator("body")).to_contain_text("Kept your own Title")
    listing.refresh_from_db()
    assert listing.title == "Jeans"
    assert listing.category.vinted_id == 1187

    page.get_by_role("button", name="Mark ready").click()
    expect(page.locator("body")).to_contain_text("e-mail address")
    listing.refresh_from_db()
    assert listing.status == ListingStatus.DRAFT
    page.screenshot(path=screenshots_dir / "vinted-listing-flagged-1440.png", full_page=True)

    # Fix the flagged field on the edit form, then mark ready.
    page.get_by_role("link", name="Edit").first.click()
    page.get_by_label("Description").fill("Classic straight-leg Levi's jeans in a mid-blue wash, barely worn.")
    page.get_by_role("button", name="Save").first.click()
    page.get_by_role("button", name="Mark ready").click()
    listing.refresh_from_db()
    assert listing.status == ListingStatus.READY
    expect(page.locator("body")).not_to_contain_text("e-mail address")

    # On the board, under "Ready".
    visit(page, "/vinted/?status=ready")
    row = page.locator("tbody tr", has_text="Jeans")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Ready")
    page.screenshot(path=screenshots_dir / "vinted-board-1440.png", full_page=True)

    # A viewer reads it, at phone width, and finds nothing to change.
    phone = open_page(viewport=PHONE)
    sign_in(phone, viewer.username)
    visit(phone, f"/vinted/listings/{listing.pk}/")
    expect(phone.get_by_role("heading", name="Photos")).to_be_visible()
    for name in ("Mark ready", "Archive", "Delete", "Draft with AI", "Upload"):
        expect(phone.get_by_role("button", name=name)).to_have_count(0)
    assert not has_horizontal_scroll(phone), overflowing_elements(phone)
    phone.screenshot(path=screenshots_dir / "vinted-listing-viewer-390.png", full_page=True)
