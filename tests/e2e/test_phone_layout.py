"""Operations pages at phone width: every table stacks, nothing is wider than the screen.

The monitoring page is filled with the widest content it shows (long job names, errors
and event messages, payload details opened, the admin's reset buttons); at 390 px no
element may stick out of the viewport, not even inside a scrolling table wrapper. The
same pages are screenshotted at 390 and 1440 px in test-artifacts/screenshots/.
"""

from decimal import Decimal

import pytest
from django.utils import timezone

from monitoring.models import Event, JobRun, JobStat
from pipeline import services
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.helpers import has_horizontal_scroll, sign_in, visit
from tests.factories import AIUsageFactory

pytestmark = pytest.mark.browser

LONG_ERROR = ("ConnectionError: HTTPSConnectionPool(host='oauth2.googleapis.com', port=443): Max retries exceeded "
              "with url: /token (Caused by NameResolutionError: failed to resolve 'oauth2.googleapis.com')")


# Elements whose box reaches past the right edge of the viewport, leaving out what is visually
# hidden for screen readers (clipped to nothing, like the header row of a stacked table).
TOO_WIDE = """() => {
  const width = document.documentElement.clientWidth;
  const clipped = (el) => {
    for (let node = el; node; node = node.parentElement) {
      if (getComputedStyle(node).clipPath !== "none") return true;
    }
    return false;
  };
  return [...document.querySelectorAll("body *")]
    .filter(el => el.getBoundingClientRect().right > width + 0.5 && !clipped(el))
    .slice(0, 8)
    .map(el => el.tagName.toLowerCase() + (el.className ? "." + String(el.className).split(" ").join(".") : "")
               + (el.dataset.label ? `[${el.dataset.label}]` : "")
               + " right=" + Math.round(el.getBoundingClientRect().right));
}"""


def fill_operations_data(admin_user, operator):
    now = timezone.now()
    run = services.start_run(operator, preset="study", duration_s=4500)
    JobRun.objects.create(name="pipeline.execute_stage", label=f"Compose stage of run #{run.pk}",
                          job_path="pipeline.tasks.execute_stage", args=[run.pk], status="running", attempt=2,
                          max_attempts=8, started_at=now, heartbeat_at=now, progress=0.5025,
                          progress_message="Mixing 12 tracks with crossfades", worker_pid=123456,
                          worker_host="worker-host-with-a-rather-long-name.internal.example")
    JobStat.objects.create(name="pipeline.execute_stage", runs=1234, failures=56, consecutive_failures=3,
                           total_duration_seconds=98765.4, last_status="failed", last_error=LONG_ERROR,
                           last_run_at=now, last_failure_at=now)
    AIUsageFactory(user=operator, request_type="pipeline.metadata.description", prompt_tokens=123456,
                   completion_tokens=65432, cost_usd=Decimal("12.345678"))
    for i in range(3):
        Event.objects.create(source="pipeline", kind="run.failed", status="failed", user=operator,
                             message=f"Run #{run.pk} failed: {LONG_ERROR} ({i})",
                             payload={"run": run.pk, "elapsed_s": 4500, "error": LONG_ERROR,
                                      "worker": "worker-host-with-a-rather-long-name.internal.example"})
    return run


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1440px"])
def test_monitoring_and_runs_fit_the_screen(open_page, admin_user, operator, screenshots_dir, viewport):
    fill_operations_data(admin_user, operator)
    page = open_page(viewport=viewport)
    sign_in(page, admin_user.username)
    problems = []
    for name, path in (("monitoring", "/monitoring/"), ("runs", "/pipeline/")):
        visit(page, path)
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        page.screenshot(path=screenshots_dir / f"{name}-tables-{viewport['width']}.png", full_page=True)
        if has_horizontal_scroll(page):
            problems.append(f"{name} scrolls sideways at {viewport['width']} px")
        wide = page.evaluate(TOO_WIDE)
        if wide:
            problems.append(f"{name} at {viewport['width']} px has elements wider than the screen: {wide}")
    assert not problems, "\n".join(problems)
