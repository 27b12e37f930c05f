"""A seller's photos in a real browser: drop files on the listing's photos panel, watch each file's
progress and answer (a good photo added, a text file refused with its reason, nothing lost),
reorder by dragging, make another photo the cover with its button; then the same page on a phone."""

import base64

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE
from tests.e2e.helpers import has_horizontal_scroll, overflowing_elements, sign_in, visit
from tests.factories import ListingFactory
from tests.vinted.photo_fixtures import jpeg, rotated_jpeg_with_gps

pytestmark = pytest.mark.browser

DROP_FILES = """([zone, files]) => {
  const transfer = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.data), c => c.charCodeAt(0));
    transfer.items.add(new File([bytes], f.name, { type: f.type }));
  }
  for (const type of ["dragenter", "dragover", "drop"]) {
    zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }));
  }
}"""


def _file(name, data, content_type="image/jpeg"):
    return {"name": name, "data": base64.b64encode(data).decode(), "type": content_type}


def _acknowledge_refused_upload(page):
    """The refused file's 400 (and Chromium's console line about it) is what this test expects."""
    page.watch.problems = [p for p in page.watch.problems
                           if "/api/v1/vinted/photos/" not in p and "status of 400" not in p]


def test_drop_upload_reorder_and_cover(open_page, operator):
    listing = ListingFactory(owner=operator, title="Levi's 501 jeans")
    page = open_page()
    sign_in(page, operator.username)
    visit(page, f"/vinted/listings/{listing.pk}/photos/")
    expect(page.get_by_text("No photos yet.")).to_be_visible()

    zone = page.locator("[data-drop-zone]")
    expect(page.locator("[data-drop-hint]")).to_be_visible()  # the script is on
    zone.evaluate_handle("z => z")  # the zone exists before anything is dropped
    page.evaluate(DROP_FILES, [zone.element_handle(), [
        _file("front.jpg", rotated_jpeg_with_gps()),
        _file("notes.jpg", b"this is a text file, not a photo" * 20),
        _file("back.jpg", jpeg(800, 600, (200, 30, 30))),
    ]])
    rows = page.locator("[data-upload-list] li")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Added")
    expect(rows.nth(1)).to_contain_text("not an image")
    expect(rows.nth(2)).to_contain_text("Added")
    expect(rows.nth(0).locator("progress")).to_have_attribute("value", "100")
    # The grid is reloaded without a page reload: two photos, in the order they were dropped.
    items = page.locator("[data-photo-grid] [data-photo-id]")
    expect(items).to_have_count(2)
    _acknowledge_refused_upload(page)
    first_id, second_id = (int(items.nth(i).get_attribute("data-photo-id")) for i in range(2))
    assert list(listing.photos.values_list("pk", flat=True)) == [first_id, second_id]
    # The EXIF-rotated photo was stored upright (400x200 turned to 200x400).
    expect(items.nth(0)).to_contain_text("200×400")

    # Drag the second photo before the first: the new order is saved and shown, cover first.
    items.nth(1).drag_to(items.nth(0), target_position={"x": 5, "y": 20})
    expect(page.locator("[data-photo-grid] [data-photo-id]").first).to_have_attribute("data-photo-id",
                                                                                      str(second_id))
    expect(page.locator("[data-photo-grid] [data-photo-id]").first).to_contain_text("Cover")
    assert list(listing.photos.values_list("pk", flat=True)) == [second_id, first_id]

    # The buttons work too (plain forms): make the other photo the cover again.
    page.get_by_role("button", name="Make photo 2 the cover").click()
    expect(page.get_by_text("This photo is now the cover.")).to_be_visible()
    assert list(listing.photos.values_list("pk", flat=True)) == [first_id, second_id]

    # On a phone the same page has no horizontal scrolling.
    phone = open_page(viewport=PHONE)
    sign_in(phone, operator.username)
    visit(phone, f"/vinted/listings/{listing.pk}/photos/")
    assert not has_horizontal_scroll(phone), overflowing_elements(phone)


def test_bulk_upload_and_group_by_dragging(open_page, operator, tmp_path):
    from vinted.models import DraftBatch, Listing

    page = open_page()
    sign_in(page, operator.username)
    visit(page, "/vinted/bulk/")
    with page.expect_navigation():
        page.get_by_role("button", name="New bulk upload").click()
    batch = DraftBatch.objects.get(owner=operator)
    paths = []
    for n, colour in enumerate([(200, 0, 0), (0, 200, 0), (0, 0, 200), (200, 200, 0)]):
        path = tmp_path / f"item-{n}.jpg"
        path.write_bytes(jpeg(320, 240, colour))
        paths.append(str(path))
    page.get_by_label("Add photos").set_input_files(paths)
    expect(page.locator("[data-upload-list] li", has_text="Added")).to_have_count(4)
    photos = page.locator("[data-bulk-pool] [data-photo-id]")
    expect(photos).to_have_count(4)
    ids = [int(photos.nth(i).get_attribute("data-photo-id")) for i in range(4)]

    new_item = page.locator("[data-group='0']")
    page.locator(f"[data-photo-id='{ids[2]}']").drag_to(new_item)  # item 1
    expect(page.locator("[data-group='1'] [data-photo-id]")).to_have_count(1)
    page.locator(f"[data-photo-id='{ids[0]}']").drag_to(page.locator("[data-group='1']"))  # joins item 1
    page.locator(f"[data-photo-id='{ids[1]}']").drag_to(new_item)  # item 2
    expect(page.locator(f"#group-{ids[0]}")).to_have_value("1")
    expect(page.locator(f"#group-{ids[1]}")).to_have_value("2")
    with page.expect_navigation():
        page.get_by_role("button", name="Make items from my groups").click()
    expect(page.get_by_text("2 items made")).to_be_visible()
    items = [list(listing.photos.values_list("pk", flat=True))
             for listing in Listing.objects.filter(batch=batch).order_by("id")]
    assert items == [[ids[0], ids[2]], [ids[1]]]  # in upload order within an item; the 4th stays ungrouped
    expect(page.locator("[data-bulk-pool] [data-photo-id]")).to_have_count(1)
