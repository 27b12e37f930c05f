"""A person sets up notifications in a real browser: from the profile to the preferences page, a webhook
(a local receiver) with its secret, fewer kinds, a test send; after the worker ran the receiver holds a
signed request, and an admin sees it delivered in the log. Both pages at phone width have no sideways
scrolling; screenshots at 1440 and 390 px go to test-artifacts/screenshots/."""

import pytest

from monitoring.models import NotificationPreference
from tests.e2e.conftest import PHONE
from tests.e2e.helpers import has_horizontal_scroll, sign_in, visit
from tests.fakes.webhook_server import WebhookReceiver
from tests.monitoring.worker import run_worker

pytestmark = pytest.mark.browser

SECRET = "browser-secret-0123456789"


def test_set_up_a_webhook_send_a_test_and_see_it_delivered(open_page, operator, admin_user, settings,
                                                           screenshots_dir):
    settings.NOTIFICATION_WEBHOOK_ALLOW_PRIVATE = True
    with WebhookReceiver() as receiver:
        page = open_page()
        sign_in(page, operator.username)
        page.goto("/")
        page.get_by_role("link", name=operator.username).click()
        page.get_by_role("link", name="Notifications").click()
        assert page.get_by_role("heading", name="Notifications", level=1).is_visible()
        page.get_by_label("Webhook URL").fill(receiver.url("/hook"))
        page.get_by_label("Webhook secret").fill(SECRET)
        page.get_by_label("Vinted account cooling down").uncheck()
        with page.expect_navigation():
            page.get_by_role("button", name="Save preferences").click()
        assert page.get_by_text("Your notification preferences were saved.").is_visible()
        assert page.get_by_text("A webhook secret is saved.").is_visible()
        assert SECRET not in page.content()
        preference = NotificationPreference.objects.get(user=operator)
        assert "vinted/account.cooling_down" not in preference.kinds and "pipeline/run.failed" in preference.kinds

        with page.expect_navigation():
            page.get_by_role("button", name="Send a test notification").click()
        assert page.get_by_text("A test notification is on its way by e-mail and webhook.").is_visible()
        page.screenshot(path=str(screenshots_dir / "notifications-preferences-1440.png"), full_page=True)

        phone = open_page(viewport=PHONE)
        sign_in(phone, operator.username)
        visit(phone, "/monitoring/notifications/")
        assert not has_horizontal_scroll(phone)
        phone.screenshot(path=str(screenshots_dir / "notifications-preferences-390.png"), full_page=True)
        page.goto("about:blank")
        phone.goto("about:blank")

        run_worker()
        (request,) = receiver.received
        assert request.verify(SECRET) and request.json()["title"] == "Test notification"
        hook_url = receiver.url("/hook")

    admin = open_page()
    sign_in(admin, admin_user.username)
    visit(admin, "/monitoring/notifications/")
    admin.get_by_role("link", name="Delivery log").click()
    rows = admin.locator("tbody tr")
    assert rows.count() == 2
    assert hook_url in rows.filter(has_text="Webhook").inner_text()
    assert "Delivered" in rows.filter(has_text="Webhook").inner_text()
    admin.screenshot(path=str(screenshots_dir / "notifications-deliveries-1440.png"), full_page=True)

    admin_phone = open_page(viewport=PHONE)
    sign_in(admin_phone, admin_user.username)
    visit(admin_phone, "/monitoring/notifications/deliveries/")
    assert not has_horizontal_scroll(admin_phone)
    admin_phone.screenshot(path=str(screenshots_dir / "notifications-deliveries-390.png"), full_page=True)
