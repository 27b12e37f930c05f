"""The pipeline journeys in a real browser, with the real django-tasks-db worker beside the live server.

An operator starts a 30-second run from the "New run" form and watches it on the run page:
the stage timeline (an htmx partial polled every 2 s) turns each stage green one after the
other without the page ever reloading, then the video plays, the audio and thumbnail are
there, and the page says that nothing went to YouTube. A viewer reads but finds no button
that changes anything. An operator cancels a long run in the middle of its compose stage.

The worker is `tests.monitoring.worker.run_worker` (the real `db_worker` loop) in a
background thread, the way `manage.py db_worker` runs beside the web server. In the first
journey the test lets it take one task at a time, so that every stage's change is seen on
its own by the browser; in the cancel journey it runs freely.

Database access from that thread: with SQLite the test database is in memory and the live
server's threads share the test's connection (pytest-django passes it to them); the worker
thread is given the same connection, or it would see an empty database. With PostgreSQL
every thread opens its own connection to the (committed, transactional) test database, and
the worker thread closes its connection when it ends so that the database can be flushed.
"""

import re
import threading
import time

import pytest
from django.db import connections
from playwright.sync_api import expect

from pipeline import services
from pipeline.choices import STAGE_ORDER, PublishTarget, RunStatus, StageName, StageStatus
from pipeline.models import Run
from tests.e2e.conftest import PHONE
from tests.e2e.helpers import has_horizontal_scroll, overflowing_elements, sign_in, visit
from tests.monitoring.worker import make_due, run_worker

pytestmark = pytest.mark.browser

STAGE_LABELS = [name.label for name in STAGE_ORDER]  # Compose, Artwork, Metadata, Render, Thumbnail, Publish
ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)
TERMINAL = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


class BackgroundWorker:
    """The real task worker in a thread. `start(run)`: work until that run has finished.

    paced=True: the worker waits for `step()` before each task (one task = one stage), so
    the test decides when the next stage may start; paced=False: it works as fast as it can.
    """

    def __init__(self):
        default = connections["default"]
        self._shared = default if default.vendor == "sqlite" and default.is_in_memory_db() else None
        self._steps = threading.Semaphore(0)
        self._stop = threading.Event()
        self._thread = None
        self.errors = []
        self.tasks = 0

    def start(self, run, *, paced=False):
        assert self._thread is None, "one background worker per test"
        if self._shared is not None:
            self._shared.inc_thread_sharing()
        self._thread = threading.Thread(target=self._work, args=(run.pk, paced), name="pytest-db-worker",
                                        daemon=True)
        self._thread.start()

    def step(self):
        self._steps.release()

    def _work(self, run_id, paced):
        if self._shared is not None:
            connections["default"] = self._shared
        try:
            while not self._stop.is_set():
                if paced:
                    if not self._steps.acquire(timeout=0.1) or self._stop.is_set():
                        continue
                make_due()  # a stage that asked for a retry later is retried now
                run_worker(max_tasks=1 if paced else None)
                self.tasks += 1
                if Run.objects.filter(pk=run_id, status__in=TERMINAL).exists():
                    return
                if not paced:
                    time.sleep(0.05)
        except BaseException as exc:  # reported by the test (stop())
            self.errors.append(exc)
        finally:
            if self._shared is None:
                connections.close_all()

    @property
    def finished(self):
        return self._thread is not None and not self._thread.is_alive()

    def join(self, timeout):
        self._thread.join(timeout)
        assert self.finished, f"the worker thread still runs after {timeout} s"
        assert not self.errors, f"the worker thread crashed: {self.errors!r}"

    def stop(self):
        if self._thread is None:
            return
        # A test that failed half-way leaves a run going: ask its stage to stop at its next checkpoint.
        Run.objects.filter(status__in=ACTIVE).update(cancel_requested=True)
        self._stop.set()
        self._steps.release()
        self._thread.join(60)
        if self._shared is not None:
            self._shared.dec_thread_sharing()
        assert not self._thread.is_alive(), "the background worker did not stop"


@pytest.fixture
def background_worker(live_server):
    """Asks for the live server so that it stops before the server and the database go away."""
    worker = BackgroundWorker()
    yield worker
    worker.stop()
    assert not worker.errors, f"the worker thread crashed: {worker.errors!r}"


# --- page helpers ------------------------------------------------------------------------------------
def main_nav(page):
    return page.get_by_role("navigation", name="Main")


def run_status(page):
    return page.locator("#run-live .run-summary > .badge").first


def stage_badge(page, label):
    stage = page.get_by_role("list", name="Stages").locator("li.stage").filter(
        has=page.locator(".stage-name", has_text=re.compile(rf"^{label}$")))
    return stage.locator(".stage-head .badge")


def watch_navigations(page):
    """Mark the document and count main-frame navigations from now on; `check()` asserts none happened.

    htmx swaps are XHRs and do not count; a reload, a redirect or a form submit would."""
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    page.evaluate("window.__sameDocument = 'yes'")

    def check():
        assert navigations == [], f"the page navigated: {navigations}"
        assert page.evaluate("window.__sameDocument") == "yes", "the document was replaced"
        entries = page.evaluate("performance.getEntriesByType('navigation').map(e => e.type)")
        assert entries == ["navigate"], f"navigation timing shows {entries}"

    return check


# --- 1. operator: new run -> live timeline -> playable video ----------------------------------------
def test_operator_starts_a_30_second_run_and_watches_it_finish_live(
        open_page, operator, live_server, background_worker, screenshots_dir):
    page = open_page()
    sign_in(page, operator.username)

    main_nav(page).get_by_role("link", name="Pipeline").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pipeline runs")
    page.get_by_role("link", name="New run").click()
    expect(page).to_have_url(f"{live_server.url}/pipeline/runs/new/")
    expect(page.get_by_role("heading", level=1)).to_have_text("New run")
    # No channel is connected: the form says so and offers only the library.
    expect(page.get_by_role("note")).to_contain_text("nothing will be uploaded")
    expect(page.get_by_role("radio", name="Library only (no upload)")).to_be_checked()
    expect(page.get_by_role("radio", name="Upload to YouTube")).to_have_count(0)
    page.get_by_label("Preset (mood)").select_option(label="Rainy night")
    page.get_by_label("Duration", exact=True).select_option(label="30 seconds")
    page.get_by_role("button", name="Start run").click()

    expect(page).to_have_url(re.compile(rf"^{live_server.url}/pipeline/runs/\d+/$"))
    run = Run.objects.get()
    assert page.url.endswith(f"/pipeline/runs/{run.pk}/")
    assert (run.preset, run.duration_s, run.publish_target, run.created_by) == (
        "rainy-night", 30, PublishTarget.LIBRARY, operator)
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Run #{run.pk}")
    expect(page.get_by_role("status")).to_contain_text("Library only: nothing will be uploaded to YouTube.")
    expect(run_status(page)).to_have_text("Queued")
    for label in STAGE_LABELS:
        expect(stage_badge(page, label)).to_have_text("Pending")
    expect(page.locator("#run-publish")).to_contain_text("Library only — nothing will be uploaded to YouTube.")
    expect(page.locator("#run-visuals")).to_contain_text("The video appears here when the render stage has finished")
    expect(page.locator("#run-visuals video")).to_have_count(0)
    no_reload = watch_navigations(page)

    # The worker takes one task at a time; the page shows each stage finish while the later ones wait.
    background_worker.start(run, paced=True)
    for index, label in enumerate(STAGE_LABELS):
        background_worker.step()
        done = "Skipped" if label == StageName.PUBLISH.label else "Succeeded"  # library only: no upload
        expect(stage_badge(page, label)).to_have_text(done, timeout=90_000)
        expect(run_status(page)).to_have_text("Running")
        for earlier in STAGE_LABELS[:index]:
            expect(stage_badge(page, earlier)).to_have_text(re.compile("^(Succeeded|Skipped)$"))
        for later in STAGE_LABELS[index + 1:]:
            expect(stage_badge(page, later)).to_have_text("Pending")
        if label == StageName.COMPOSE.label:
            # The audio player arrives with the compose stage (an out-of-band swap), before any video.
            expect(page.locator("#run-audio audio")).to_have_count(1)
            expect(page.locator("#run-visuals video")).to_have_count(0)
    background_worker.step()  # the last task sees every stage done and finishes the run
    expect(run_status(page)).to_have_text("Succeeded", timeout=30_000)
    background_worker.join(timeout=10)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert background_worker.tasks == len(STAGE_LABELS) + 1
    live = page.locator("#run-live")
    expect(live).not_to_have_attribute("hx-trigger", re.compile("."))  # polling stopped by itself
    expect(live).to_contain_text("100%")
    expect(live.locator(".run-actions button")).to_have_count(0)  # neither cancel nor retry
    no_reload()

    # The video is playable, about 30 s long; the audio and the 1280x720 thumbnail are there.
    video = page.locator("#run-visuals video")
    expect(video).to_be_visible()
    expect(video).to_have_attribute("src", f"/pipeline/media/{run.pk}/video/")
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.querySelector('#run-visuals video').readyState >= 3", timeout=20_000)
    page.wait_for_function("() => document.querySelector('#run-visuals video').currentTime > 0.2", timeout=20_000)
    video.evaluate("v => v.pause()")
    assert abs(video.evaluate("v => v.duration") - 30) < 0.5
    assert video.evaluate("v => [v.videoWidth > 0, v.error]") == [True, None]
    audio = page.locator("#run-audio audio")
    expect(audio).to_be_visible()
    expect(audio).to_have_attribute("src", f"/pipeline/media/{run.pk}/audio/")
    page.wait_for_function("() => document.querySelector('#run-audio audio').readyState >= 1", timeout=10_000)
    assert abs(audio.evaluate("a => a.duration") - 30) < 0.5
    thumbnail = page.get_by_role("img", name=f"Thumbnail of Run #{run.pk}")
    thumbnail.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle(),
                           timeout=10_000)
    assert thumbnail.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [1280, 720]
    publish = page.locator("#run-publish")
    expect(publish).to_contain_text("Library only — nothing was uploaded to YouTube.")
    expect(publish.get_by_role("button", name="Publish to YouTube")).to_have_count(0)
    # The generated metadata arrived with the metadata stage and stays editable before any publish.
    expect(page.locator("#run-metadata").get_by_label("Title")).to_have_value(run.video.title)
    no_reload()

    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=screenshots_dir / "pipeline-run-1440.png", full_page=True)
    page.set_viewport_size(PHONE)
    assert not has_horizontal_scroll(page), overflowing_elements(page)
    page.screenshot(path=screenshots_dir / "pipeline-run-390.png", full_page=True)


# --- 2. viewer: reads, changes nothing ------------------------------------------------------------
def test_viewer_sees_runs_but_no_new_cancel_or_retry_and_gets_403_for_new_run(
        open_page, operator, viewer, live_server):
    queued = services.start_run(operator, preset="study", duration_s=30)  # no worker: it stays queued
    failed = services.start_run(operator, preset="sleep", duration_s=60)
    Run.objects.filter(pk=failed.pk).update(status=RunStatus.FAILED, error="Render failed: ffmpeg exited 1")
    page = open_page()
    sign_in(page, viewer.username)

    main_nav(page).get_by_role("link", name="Pipeline").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pipeline runs")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text=f"#{queued.pk}")).to_contain_text("Queued")
    expect(rows.filter(has_text=f"#{failed.pk}")).to_contain_text("Failed")
    expect(page.get_by_role("link", name="New run")).to_have_count(0)

    # The run's link is its readable name (no video title yet): "Study session mix, 0:30".
    rows.filter(has_text=f"#{queued.pk}").get_by_role("link", name="Study session mix, 0:30").click()
    expect(page).to_have_url(f"{live_server.url}/pipeline/runs/{queued.pk}/")
    expect(run_status(page)).to_have_text("Queued")
    expect(page.get_by_role("list", name="Stages").locator("li.stage")).to_have_count(len(STAGE_LABELS))
    expect(page.get_by_role("button", name=re.compile("Cancel"))).to_have_count(0)
    expect(page.get_by_role("link", name="Run again with these settings")).to_have_count(0)
    expect(page.locator("#run-metadata form, #run-publish form")).to_have_count(0)

    visit(page, f"/pipeline/runs/{failed.pk}/")
    expect(run_status(page)).to_have_text("Failed")
    expect(page.get_by_role("alert")).to_contain_text("Render failed: ffmpeg exited 1")
    expect(page.get_by_role("button", name=re.compile("Retry"))).to_have_count(0)
    expect(page.get_by_role("main").get_by_role("button")).to_have_count(0)  # nothing to change here

    visit(page, "/pipeline/runs/new/", status=403)
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    assert Run.objects.count() == 2


# --- 3. operator: cancel during compose ---------------------------------------------------------------
def test_operator_cancels_a_run_during_compose_and_sees_it_cancelled_live(
        open_page, operator, live_server, background_worker, screenshots_dir):
    run = services.start_run(operator, preset="jazz-cafe", duration_s=10 * 60)  # compose alone takes > 10 s
    page = open_page()
    sign_in(page, operator.username)
    visit(page, run.get_absolute_url())
    expect(run_status(page)).to_have_text("Queued")

    background_worker.start(run)
    expect(stage_badge(page, "Compose")).to_have_text("Running", timeout=30_000)
    expect(run_status(page)).to_have_text("Running")
    cancel = page.get_by_role("button", name="Cancel run")
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    with page.expect_navigation():
        cancel.click()  # a plain form POST, then back to the run page
    assert dialogs == [f"Cancel Run #{run.pk}? The running stage stops at its next checkpoint."]
    expect(page).to_have_url(f"{live_server.url}/pipeline/runs/{run.pk}/")
    no_reload = watch_navigations(page)

    # Cancelled on the page, by the poller, a few seconds later (stage checkpoint <= 1 s, poll every 2 s); no reload.
    expect(run_status(page)).to_have_text("Cancelled", timeout=10_000)
    no_reload()
    expect(stage_badge(page, "Compose")).to_have_text("Cancelled")
    for label in STAGE_LABELS[1:]:
        expect(stage_badge(page, label)).to_have_text("Cancelled")
    expect(page.get_by_role("alert")).to_contain_text(f"Cancelled by {operator.username} (Operator).")
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
    expect(page.get_by_role("button", name="Retry from the stage that stopped")).to_be_visible()
    expect(page.locator("#run-live")).not_to_have_attribute("hx-trigger", re.compile("."))
    expect(page.locator("#run-visuals video")).to_have_count(0)
    background_worker.join(timeout=15)
    run.refresh_from_db()
    compose = run.stages.get(name=StageName.COMPOSE)
    assert (run.status, compose.status) == (RunStatus.CANCELLED, StageStatus.CANCELLED)
    assert compose.progress < 1, "cancelled in the middle of compose"
    assert not run.video.audio, "no half-written mix is kept"
    page.screenshot(path=screenshots_dir / "pipeline-run-cancelled-1440.png", full_page=True)
