"""A seller relists a stale listing in a real browser: the relist panel on the listing page, "also delete
it on Vinted", the new draft with its photo and the deletion shown queued; after the worker ran (against
the fake Vinted) both pages show the outcome, and the old listing is archived. The panel at phone width
has no sideways scrolling. (The worker runs while no page is open: in-memory SQLite shares one connection.)"""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.e2e.conftest import PHONE
from tests.e2e.helpers import has_horizontal_scroll, sign_in, visit
from tests.factories import ListingFactory, PhotoFactory
from tests.fakes import vinted_items
from tests.monitoring.worker import run_worker
from vinted.choices import AccountStatus, ListingStatus
from vinted.models import Listing, VintedAccount

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _catalogue(vinted_catalogue):
    pass


def test_relist_a_stale_listing_and_delete_the_old_item_on_vinted(open_page, operator, fake_vinted):
    account = VintedAccount.objects.create(owner=operator, label="main", status=AccountStatus.ACTIVE, dry_run=False,
                                           cookies=json.dumps(fake_vinted.add_session()))
    item_id = vinted_items.add_item(fake_vinted, title="Levi's 501")
    old = ListingFactory(owner=operator, complete=True, title="Levi's 501, W30", status=ListingStatus.PUBLISHED,
                         listed_at=timezone.now() - timedelta(days=40), account=account, vinted_item_id=item_id)
    PhotoFactory(listing=old)

    page = open_page()
    sign_in(page, operator.username)
    visit(page, old.get_absolute_url())
    panel = page.locator("#relist-panel")
    panel.get_by_label("Also delete it on Vinted").check()
    with page.expect_navigation():
        panel.get_by_role("button", name="Relist as a new draft").click()
    new = Listing.objects.get(relisted_from=old)
    assert page.url.endswith(new.get_absolute_url())
    assert page.get_by_text("relisted as this new draft, with its photos").is_visible()
    assert page.locator("#field-photos + dd").inner_text().startswith("1 ready")
    assert page.locator("#relist-panel .relist-job").get_attribute("data-job-status") == "queued"
    assert "A relist of Levi's 501, W30" in page.locator("#relist-panel").inner_text()

    page.goto("about:blank")
    run_worker()
    assert vinted_items.deleted_items(fake_vinted) == [item_id]

    visit(page, new.get_absolute_url())
    assert page.locator("#relist-panel .relist-job").get_attribute("data-job-status") == "succeeded"
    visit(page, old.get_absolute_url())
    assert "Archived" in page.locator("h1").inner_text()
    assert "Relisted as" in page.locator("#relist-panel").inner_text()

    phone = open_page(viewport=PHONE)
    sign_in(phone, operator.username)
    visit(phone, new.get_absolute_url())
    assert not has_horizontal_scroll(phone)
