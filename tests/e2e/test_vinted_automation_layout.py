"""The Automation page in a browser at 390 and 1440 px: nothing wider than the screen (status banner,
settings form, rules and history tables), a wrong delay is shown at its field, a good form saves, and
screenshots go to test-artifacts/screenshots/vinted-automation-<width>.png."""

import pytest

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.helpers import has_horizontal_scroll, overflowing_elements, sign_in, visit
from tests.vinted.inbox_helpers import stored_conversation
from vinted.choices import AutomationFeature, AutomationOutcome
from vinted.models import AutomationSettings, Listing, PriceDropRule
from vinted.services import automation

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1440px"])
def test_automation_page_fits_the_screen_and_saves_the_settings(open_page, operator, screenshots_dir, viewport):
    account = stored_conversation(operator).account
    listing = Listing.objects.create(owner=operator, title="Levi's 501 straight-leg jeans, W32 L34, dark indigo")
    PriceDropRule.objects.create(account=account, listing=listing, percent=10)
    for index in range(3):
        automation.record(account, AutomationFeature.REPOSTS, AutomationOutcome.SKIPPED,
                          f"Not reposted: outside the busy windows of the account's time zone ({index})",
                          listing=listing)
    page = open_page(viewport=viewport)
    sign_in(page, operator.username)
    visit(page, f"/vinted/accounts/{account.pk}/automation/")
    assert page.get_by_text("Automation is on, but every feature is off").is_visible()
    page.screenshot(path=screenshots_dir / f"vinted-automation-{viewport['width']}.png", full_page=True)
    assert not has_horizontal_scroll(page), overflowing_elements(page)

    page.get_by_label("Shortest delay (seconds)").fill("900")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_text("The shortest delay cannot be longer than the longest.").first.wait_for()
    assert not has_horizontal_scroll(page), overflowing_elements(page)

    page.get_by_label("Shortest delay (seconds)").fill("30")
    page.get_by_label("Availability").check()
    page.get_by_label("Reposts on").check()
    page.get_by_role("button", name="Save settings").click()
    page.get_by_text("Automation settings of Stored shop saved.").wait_for()
    stored = AutomationSettings.objects.get(account=account)
    assert (stored.auto_reply_delay_min_seconds, stored.auto_reply_intents, stored.reposts_enabled) == (
        30, ["availability"], True)

    page.get_by_role("button", name="Pause all automation").click()
    page.get_by_text("Automation is paused by hand").wait_for()
    assert not has_horizontal_scroll(page), overflowing_elements(page)
