"""The bulk AI draft in a real browser: an operator presses "Draft all" on a batch's page and
watches the progress and per-item results arrive without reloading (htmx polling under the
strict CSP); the page is photographed at 1440 and 390 px and must not scroll sideways on a phone."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE
from tests.e2e.helpers import has_horizontal_scroll, overflowing_elements, sign_in, visit
from tests.monitoring.worker import run_worker
from tests.vinted.drafting_helpers import GOOD_ANSWER, listing_with_photo
from vinted.models import DraftBatch

pytestmark = pytest.mark.browser


def test_operator_drafts_a_batch_and_watches_it_finish(open_page, operator, fake_openai, screenshots_dir):
    fake_openai.reply_next(GOOD_ANSWER, "not json")
    batch = DraftBatch.objects.create(owner=operator)
    listing_with_photo(operator, batch=batch)
    listing_with_photo(operator, batch=batch)
    page = open_page()
    sign_in(page, operator.username)
    visit(page, f"/vinted/batches/{batch.pk}/")
    expect(page.locator("#batch-draft")).to_contain_text("2 items, drafted in the background")

    page.get_by_role("button", name="Draft all").click()
    progress = page.locator("#batch-progress")
    expect(progress).to_contain_text("updates live")
    expect(page.get_by_role("button", name="Draft all")).to_have_count(0)
    url = page.url

    run_worker()  # the background job, while the page keeps polling

    expect(progress).to_contain_text("1 drafted · 1 failed · 2 in all", timeout=15_000)
    expect(progress).to_contain_text("Partly failed")
    expect(progress.locator("tbody tr")).to_have_count(2)
    expect(progress).to_contain_text("not usable JSON")
    expect(progress).not_to_contain_text("updates live")
    assert page.url == url  # no reload, no navigation
    page.wait_for_load_state("networkidle")
    page.screenshot(path=screenshots_dir / "vinted-batch-1440.png", full_page=True)
    page.set_viewport_size(PHONE)
    assert not has_horizontal_scroll(page), overflowing_elements(page)
    page.screenshot(path=screenshots_dir / "vinted-batch-390.png", full_page=True)
