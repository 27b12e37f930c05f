"""The audit log in a browser: an admin finds it from the Monitoring page, filters it by kind, and it fits
390 and 1440 px under the strict CSP (conftest's page watch); screenshots to
test-artifacts/screenshots/audit-<width>.png."""

import pytest
from django.contrib.admin.models import CHANGE, LogEntry

from accounts.services import update_user
from monitoring import breakers
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.helpers import has_horizontal_scroll, overflowing_elements, sign_in, visit

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1440px"])
def test_an_admin_reads_and_filters_the_audit_log(request, open_page, admin_user, viewer,
                                                   screenshots_dir, viewport):
    # The live server's database is not wrapped in a transaction: the events are written at once.
    update_user(admin_user, viewer, role="operator")
    breakers.reset("vinted", by_user=admin_user)
    LogEntry.objects.log_actions(admin_user.pk, [viewer], CHANGE, single_object=True,
                                 change_message='[{"changed": {"fields": ["Email address"]}}]')
    page = open_page(viewport=viewport)
    sign_in(page, admin_user.username)
    visit(page, "/monitoring/")
    with page.expect_navigation():
        page.get_by_role("link", name="Audit log").click()
    table = page.get_by_role("table")
    assert table.get_by_text(f"{viewer.username}: role viewer → operator").is_visible()
    assert table.get_by_text("vinted reset by").is_visible()
    assert table.get_by_text("Changed Email address.").is_visible()
    page.screenshot(path=screenshots_dir / f"audit-{viewport['width']}.png", full_page=True)
    assert not has_horizontal_scroll(page), overflowing_elements(page)

    page.get_by_label("Kind").select_option("breakers/breaker.reset")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    assert page.get_by_role("table").get_by_role("row").count() == 2  # the header and the one reset
    assert page.get_by_text("vinted reset by").is_visible()
    # tests/e2e's hook that fails a test on a console error or a CSP violation does not reach this folder.
    problems = [problem for watch in request.node.page_watches for problem in watch.problems]
    assert not problems, problems
