"""The Vinted desk's whole journey in a real browser, against the fake Vinted site and the real worker:
a seller adds an account and imports its session by pasting the Cookie header; an admin turns dry run
off; the seller prepares a listing, looks at the screenshot and the values, confirms, and sees
"published" with the fake's item id; a buyer writes about that item, the inbox sync brings the message
in (linked to the listing), and the seller replies. The steps in more detail (each state's layout,
refusals) are in test_vinted_publish_journey.py and test_vinted_inbox_journey.py."""

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import sign_in, visit
from tests.factories import ListingFactory, PhotoFactory
from tests.fakes.vinted_inbox import DEFAULT_SELLER_ID, add_conversation, add_message, replies
from tests.monitoring.worker import run_worker
from vinted.choices import AccountStatus, ListingStatus
from vinted.models import Conversation, VintedAccount
from vinted.services import inbox

pytestmark = pytest.mark.browser


def test_import_prepare_confirm_publish_then_answer_the_buyer(open_page, operator, admin_user, vinted_catalogue,
                                                              fake_vinted, settings, screenshots_dir):
    settings.VINTED_BROWSER_TIMEOUT_SECONDS = 30
    listing = ListingFactory(owner=operator, complete=True, title="Levi's 501 straight jeans W30",
                             status=ListingStatus.READY)
    PhotoFactory(listing=listing)

    # 1. The seller adds the account and pastes the session of a signed-in Vinted tab.
    seller = open_page()
    sign_in(seller, operator.username)
    visit(seller, "/vinted/accounts/")
    seller.get_by_role("link", name="Add your first account").click()
    seller.get_by_label("Label").fill("Otto on vinted.fr")
    seller.get_by_label("Vinted site").select_option("vinted.fr")
    with seller.expect_navigation():
        seller.get_by_role("button", name="Add the account").click()
    cookies = fake_vinted.add_session(user_id=DEFAULT_SELLER_ID, login="otto-vintage")
    seller.get_by_label("Cookies").fill("; ".join(f"{name}={value}" for name, value in cookies.items()))
    with seller.expect_navigation():
        seller.get_by_role("button", name="Import and check").click()
    expect(seller.locator(".messages")).to_contain_text("otto-vintage")
    account = VintedAccount.objects.get(owner=operator)
    assert account.status == AccountStatus.ACTIVE and account.dry_run
    assert cookies["access_token_web"] not in seller.content()  # never shown back

    # 2. An admin turns dry run off for this account.
    admin = open_page()
    sign_in(admin, admin_user.username)
    visit(admin, account.get_absolute_url())
    admin.once("dialog", lambda dialog: dialog.accept())
    with admin.expect_navigation():
        admin.get_by_role("button", name="Turn dry run off").click()
    account.refresh_from_db()
    assert not account.dry_run

    # 3. Prepare, look at the screenshot and the values, confirm, published.
    visit(seller, listing.get_absolute_url())
    panel = seller.locator("#listing-publishing")
    panel.get_by_label("Vinted account").select_option(label="Otto on vinted.fr (vinted.fr)")
    with seller.expect_navigation():
        panel.get_by_role("button", name="Prepare on Vinted").click()
    state = seller.locator("#publication-state")
    run_worker()
    expect(state.locator("[data-status]")).to_have_text("Prepared, waiting for confirmation", timeout=30_000)
    screenshot = seller.get_by_role("img", name="Vinted's new-item form as prepare filled it in")
    expect(screenshot).to_be_visible()
    seller.wait_for_load_state("networkidle")
    assert screenshot.evaluate("img => img.naturalWidth") > 300
    expect(seller.locator("[data-values]")).to_contain_text("Levi's (id 53)")
    with seller.expect_navigation():
        seller.get_by_role("button", name="Confirm and publish").click()
    run_worker()
    expect(state.locator("[data-status]")).to_have_text("Published", timeout=30_000)
    (item_id,) = list(fake_vinted.state["items"])
    expect(state.locator("[data-item-id]")).to_have_text(item_id)
    seller.screenshot(path=screenshots_dir / "vinted-whole-journey-published-1440.png", full_page=True)

    # 4. A buyer writes about the item; the scheduled sync brings it in; the seller replies.
    conversation_id = add_conversation(fake_vinted, buyer="marie", item_id=int(item_id), description=listing.title)
    add_message(fake_vinted, conversation_id, "Hello! Would you take 20 EUR?")
    assert inbox.sync_due_inboxes() == 1
    run_worker()
    assert Conversation.objects.get().listing == listing
    visit(seller, "/vinted/inbox/")
    expect(seller.locator("#inbox-unread-badge")).to_contain_text("1")
    seller.get_by_role("link", name="marie").click()
    expect(seller.locator("#conversation-thread")).to_contain_text("Would you take 20 EUR?")
    seller.get_by_label("Your reply").fill("22 EUR and it is yours.")
    seller.get_by_role("button", name="Send reply").click()
    run_worker()
    expect(seller.locator("#conversation-thread [data-mine='true']")).to_contain_text("Sent", timeout=15_000)
    assert replies(fake_vinted, conversation_id) == ["22 EUR and it is yours."]
    seller.screenshot(path=screenshots_dir / "vinted-whole-journey-reply-1440.png", full_page=True)
