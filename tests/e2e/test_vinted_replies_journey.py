"""Reply suggestions in a real browser: a buyer asks whether the item is still available; the
conversation shows the suggestion drafted from the listing's own size and condition under the
message; the seller edits it and sends it; the fake Vinted receives the edited text."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.helpers import has_horizontal_scroll, overflowing_elements, sign_in, visit
from tests.fakes.vinted_inbox import replies
from tests.monitoring.worker import run_worker
from tests.vinted.replies_helpers import buyer_writes, live_account, published_listing
from vinted.choices import Condition

pytestmark = pytest.mark.browser


def test_seller_edits_and_sends_a_suggested_reply(open_page, operator, fake_vinted, screenshots_dir):
    account = live_account(fake_vinted, operator)
    published_listing(operator, account, size="W29", condition=Condition.VERY_GOOD)
    conv_id, conversation = buyer_writes(fake_vinted, account, "Hello! Is it still available?")
    suggestion = conversation.suggestions.get()

    page = open_page()
    sign_in(page, operator.username)
    visit(page, conversation.get_absolute_url())
    box = page.locator(f"#suggestion-{suggestion.pk}")
    expect(box).to_contain_text("Availability")
    body = box.get_by_label("Suggested reply")
    expect(body).to_have_value(suggestion.body)
    assert "W29" in suggestion.body and "very good" in suggestion.body
    page.set_viewport_size(PHONE)
    assert not has_horizontal_scroll(page), overflowing_elements(page)
    page.screenshot(path=screenshots_dir / "vinted-suggestion-390.png", full_page=True)
    page.set_viewport_size(DESKTOP)

    body.fill("write me at me@example.com")  # refused at the field, nothing sent
    box.get_by_role("button", name="Send").click()
    expect(page.locator(f"#suggestion-{suggestion.pk}")).to_contain_text("e-mail address")

    page.locator(f"#suggestion-{suggestion.pk}").get_by_label("Suggested reply").fill(
        "Yes, still available: size W29, very good condition.")
    page.locator(f"#suggestion-{suggestion.pk}").get_by_role("button", name="Send").click()
    expect(page.locator(".messages")).to_contain_text("Reply queued")
    expect(page.locator(f"#suggestion-{suggestion.pk}")).to_have_count(0)
    run_worker()
    expect(page.locator("#conversation-thread [data-mine='true']")).to_contain_text("Sent", timeout=15_000)
    assert replies(fake_vinted, conv_id) == ["Yes, still available: size W29, very good condition."]
    page.screenshot(path=screenshots_dir / "vinted-suggestion-sent-1440.png", full_page=True)
