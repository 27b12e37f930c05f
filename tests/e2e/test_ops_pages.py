"""An admin opens the System, Jobs, Breakers and Events pages in Chromium at 390 and 1440 px: no console error
or blocked resource (conftest's page watch), every chart picture loads (an SVG under the strict CSP), nothing is
wider than the screen; screenshots go to test-artifacts/screenshots/ops-<page>-<width>.png."""

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring import breakers, system
from monitoring.events import record_event
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.helpers import has_horizontal_scroll, overflowing_elements, sign_in, visit
from tests.monitoring import sample_jobs

pytestmark = pytest.mark.browser


def fill_operations():
    now = timezone.now()
    for minutes_ago in (30, 20, 10, 0):
        system.take_sample(now - timedelta(minutes=minutes_ago))
    sample_jobs.plain.call(1)
    with pytest.raises(ValueError):
        sample_jobs.broken.call()
    breakers.trip("youtube", "quota exceeded: HTTP 403 quotaExceeded from the YouTube Data API", 3600)
    for i in range(3):
        record_event("scheduler", "hook.failed", "failed", f"pipeline.services.schedules.fire_due_schedules failed {i}",
                     {"hook": "pipeline.services.schedules.fire_due_schedules", "error": "OperationalError"})


def charts_loaded(page) -> list[int]:
    return page.evaluate("() => [...document.querySelectorAll('figure.chart img')].map(img => img.naturalWidth)")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1440px"])
def test_admin_opens_the_operations_pages(open_page, admin_user, screenshots_dir, viewport):
    fill_operations()
    page = open_page(viewport=viewport)
    sign_in(page, admin_user.username)
    width = viewport["width"]
    for name, path, heading, charts in [("system", "/monitoring/system/", "System", 4),
                                        ("jobs", "/monitoring/jobs/", "Jobs", 1),
                                        ("breakers", "/monitoring/breakers/", "Circuit breakers", 0),
                                        ("events", "/monitoring/events/", "Events", 0)]:
        visit(page, path)
        assert page.get_by_role("heading", level=1).inner_text().strip() == heading
        if charts:
            page.locator("figure.chart img").last.wait_for()
            page.wait_for_function(
                "() => [...document.querySelectorAll('figure.chart img')].every(img => img.complete)")
            assert len(charts_loaded(page)) == charts and all(w > 0 for w in charts_loaded(page)), name
        page.screenshot(path=screenshots_dir / f"ops-{name}-{width}.png", full_page=True)
        assert not has_horizontal_scroll(page), (name, overflowing_elements(page))
    # The Events page lists what happened; the Breakers page the tripped breaker.
    visit(page, "/monitoring/breakers/")
    assert page.get_by_text("quota exceeded").first.is_visible()
    visit(page, "/monitoring/events/?source=scheduler")
    assert page.get_by_text("3 events, newest first").is_visible()
