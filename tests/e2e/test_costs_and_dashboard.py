"""The AI costs page and the home dashboard's pictures in a browser at 390 and 1440 px: every chart
picture loads under the strict CSP (no console error or blocked resource: conftest's page watch),
nothing is wider than the screen, an admin changes a budget, and screenshots go to
test-artifacts/screenshots/costs-<width>.png and dashboard-<width>.png."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from monitoring.models import Event
from pipeline.choices import RunStatus, StageName
from pipeline.models import Stage
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.helpers import has_horizontal_scroll, overflowing_elements, sign_in, visit
from tests.factories import AIUsageFactory, RunFactory

pytestmark = pytest.mark.browser


def fill_costs(*people):
    now = timezone.now()
    for days_ago in range(0, 12, 2):
        for index, person in enumerate(people):
            AIUsageFactory(user=person, cost_usd=Decimal("0.35") * (index + 1) + Decimal(days_ago) / 10,
                           created_at=now - timedelta(days=days_ago, minutes=5),
                           model="gpt-4o-mini" if days_ago % 4 else "gpt-image-1",
                           request_type="vinted.draft" if index else "pipeline.artwork",
                           prompt_tokens=1200, completion_tokens=300)


def fill_runs(owner):
    now = timezone.now()
    for days_ago, status in [(0, RunStatus.SUCCEEDED), (0, RunStatus.FAILED), (1, RunStatus.SUCCEEDED),
                             (3, RunStatus.CANCELLED), (3, RunStatus.SUCCEEDED), (5, RunStatus.SUCCEEDED)]:
        run = RunFactory(created_by=owner, status=status, duration_s=120)
        type(run).objects.filter(pk=run.pk).update(created_at=now - timedelta(days=days_ago))
        if status == RunStatus.SUCCEEDED:
            finished = now - timedelta(days=days_ago)
            Stage.objects.filter(run=run, name=StageName.RENDER).update(
                started_at=finished - timedelta(seconds=30 + 10 * days_ago), finished_at=finished)


def loaded(page, name):
    image = page.get_by_role("img", name=name)
    image.wait_for()
    image.scroll_into_view_if_needed()
    assert image.evaluate("img => img.complete && img.naturalWidth > 0"), name


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1440px"])
def test_costs_page_fits_the_screen_and_an_admin_changes_a_budget(open_page, admin_user, operator,
                                                                   screenshots_dir, viewport):
    fill_costs(admin_user, operator)
    page = open_page(viewport=viewport)
    sign_in(page, admin_user.username)
    visit(page, "/monitoring/costs/")
    loaded(page, "Bar chart of the AI spend per day")
    assert page.get_by_role("heading", name="By person").is_visible()
    page.screenshot(path=screenshots_dir / f"costs-{viewport['width']}.png", full_page=True)
    assert not has_horizontal_scroll(page), overflowing_elements(page)

    page.get_by_role("link", name="Last 7 days").click()
    page.wait_for_url("**/monitoring/costs/?range=7d")
    form = page.get_by_role("form", name=f"Budget of {operator.username}")
    form.get_by_label("Monthly budget (USD)").fill("15.5")
    form.get_by_role("button", name="Save").click()
    page.get_by_text(f"{operator.username}'s monthly AI budget is now $15.50.").wait_for()
    assert page.url.endswith("?range=7d")
    operator.refresh_from_db()
    assert operator.ai_monthly_budget_usd == Decimal("15.50")
    assert Event.objects.filter(kind="budget.changed", user=admin_user).count() == 1


def test_an_operator_sees_only_their_own_costs(open_page, admin_user, operator):
    fill_costs(admin_user, operator)
    page = open_page()
    sign_in(page, operator.username)
    visit(page, "/monitoring/costs/")
    loaded(page, "Bar chart of the AI spend per day")
    assert page.get_by_text("Your AI calls.").is_visible()
    assert page.get_by_role("heading", name="By person").count() == 0
    assert page.get_by_role("button", name="Save").count() == 0
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename.startswith("ai-costs-")
    text = open(download.value.path()).read()
    assert operator.username in text and admin_user.username not in text


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1440px"])
def test_dashboard_pictures_load_and_fit_the_screen(open_page, admin_user, operator, screenshots_dir, viewport):
    fill_costs(admin_user, operator)
    fill_runs(operator)
    page = open_page(viewport=viewport)
    sign_in(page, admin_user.username)
    visit(page, "/")
    for name in ("Stacked bar chart of the runs started per day", "Line chart of the render speed per day",
                 "Bar chart of the AI spend per day"):
        loaded(page, name)
    assert page.get_by_test_id("health-status").is_visible()
    page.screenshot(path=screenshots_dir / f"dashboard-{viewport['width']}.png", full_page=True)
    assert not has_horizontal_scroll(page), overflowing_elements(page)
