"""The inbox in a real browser: a buyer's message synced from the fake Vinted (the scheduler's job)
shows with the unread badge; the seller opens the conversation, replies, and watches the reply go
from "Sending" to "Sent" without reloading (htmx polling under the strict CSP); the fake received it."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.helpers import has_horizontal_scroll, overflowing_elements, sign_in, visit
from tests.fakes.vinted_inbox import add_conversation, add_message, replies
from tests.monitoring.worker import run_worker
from tests.vinted.inbox_helpers import account_on_fake
from vinted.services import inbox

pytestmark = pytest.mark.browser


def test_seller_gets_a_buyers_message_and_replies(open_page, operator, fake_vinted, screenshots_dir):
    account_on_fake(fake_vinted, operator, label="Otto's shop")
    conv_id = add_conversation(fake_vinted, buyer="marie", description="Levi's 501 W32")
    add_message(fake_vinted, conv_id, "Hello! Is it still available?")
    assert inbox.sync_due_inboxes() == 1  # the scheduler queues the account's sync
    run_worker()

    page = open_page()
    sign_in(page, operator.username)
    visit(page, "/")
    expect(page.locator("#dashboard-inbox")).to_contain_text("1")
    visit(page, "/vinted/inbox/")
    expect(page.locator("#inbox-unread-badge")).to_contain_text("1")
    row = page.locator("#conversations tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Levi's 501 W32")
    expect(row).to_contain_text("1 unread")
    page.set_viewport_size(PHONE)
    assert not has_horizontal_scroll(page), overflowing_elements(page)
    page.screenshot(path=screenshots_dir / "vinted-inbox-list-390.png", full_page=True)
    page.set_viewport_size(DESKTOP)

    page.get_by_role("link", name="marie").click()
    expect(page.locator("#conversation-thread")).to_contain_text("Hello! Is it still available?")
    expect(page.locator("#inbox-unread-badge")).to_have_count(0)  # opened: read

    page.get_by_label("Your reply").fill("Yes it is, 25 EUR with shipping.")
    page.get_by_role("button", name="Send reply").click()
    thread = page.locator("#conversation-thread")
    expect(page.locator(".messages")).to_contain_text("Reply queued")
    expect(thread).to_contain_text("Yes it is, 25 EUR with shipping.")
    expect(thread).to_contain_text("Sending")
    url = page.url

    run_worker()  # the reply job, while the page keeps polling

    expect(thread.locator("[data-mine='true']")).to_contain_text("Sent", timeout=15_000)
    expect(thread).not_to_contain_text("updates live")
    assert page.url == url  # no reload
    assert replies(fake_vinted, conv_id) == ["Yes it is, 25 EUR with shipping."]
    page.wait_for_load_state("networkidle")
    page.screenshot(path=screenshots_dir / "vinted-inbox-1440.png", full_page=True)
    page.set_viewport_size(PHONE)
    assert not has_horizontal_scroll(page), overflowing_elements(page)
    page.screenshot(path=screenshots_dir / "vinted-inbox-390.png", full_page=True)
