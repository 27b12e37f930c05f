"""Journeys through the run and schedule actions in a real browser (issue 7, items 15, 17, 18, 20).

An operator types a cron into a new schedule and watches the plain-language description and
the next fire times follow as they type (htmx, no reload), saves it, and presses "Run now".
On a finished run they change the artwork (regenerate, upload their own thumbnail) and then
delete the run after confirming. An admin connects the channel with "Connect with Google"
against the fake Google (its consent page acts as "Allow"). Each page is photographed at
1440 and 390 px and must not scroll sideways on a phone.
"""

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image
from playwright.sync_api import expect

from pipeline import services
from pipeline.choices import RunStatus
from pipeline.models import Run, Schedule, Video, YouTubeChannel
from tests.e2e.conftest import PHONE
from tests.e2e.helpers import has_horizontal_scroll, overflowing_elements, sign_in, visit
from tests.fakes.youtube_server import FakeYouTube
from tests.pipeline.conftest import move_run_to, write_media

pytestmark = pytest.mark.browser


def settle(page):
    """Let the page's images and players finish loading: on SQLite the live server's threads share
    one in-memory connection, so the next request should not race them."""
    page.wait_for_load_state("networkidle")


MEDIA_TYPES = {".jpg": "image/jpeg", ".png": "image/png", ".mp4": "video/mp4", ".m4a": "audio/mp4"}


def serve_media_from_disk(page):
    """Answer the run's media requests from the files themselves, in the test's thread.

    A run page loads its cover, thumbnail, video and audio at once; on SQLite the live
    server's threads share one in-memory connection, and those parallel requests racing
    the next form submission break it (not a product problem: each process and thread has
    its own connection outside tests). The media view itself is covered by the page tests."""

    def answer(route):
        pk, kind = route.request.url.rstrip("/").split("/")[-2:]
        field = getattr(Video.objects.get(run_id=int(pk)), kind)
        path = Path(settings.MEDIA_ROOT) / field.name
        route.fulfill(status=200, body=path.read_bytes(), content_type=MEDIA_TYPES.get(path.suffix,
                                                                                      "application/octet-stream"))

    page.route("**/pipeline/media/**", answer)


def photograph(page, screenshots_dir, name):
    settle(page)
    page.screenshot(path=screenshots_dir / f"{name}-1440.png", full_page=True)
    page.set_viewport_size(PHONE)
    assert not has_horizontal_scroll(page), overflowing_elements(page)
    page.screenshot(path=screenshots_dir / f"{name}-390.png", full_page=True)
    page.set_viewport_size({"width": 1440, "height": 900})


def test_operator_previews_a_cron_saves_the_schedule_and_runs_it_now(open_page, operator, live_server,
                                                                      screenshots_dir):
    page = open_page()
    sign_in(page, operator.username)
    visit(page, "/pipeline/schedules/new/")
    preview = page.locator("#cron-preview")
    expect(preview).to_contain_text("Type a cron expression")
    page.get_by_label("Name").fill("Tokyo mornings")
    page.get_by_label("Time zone").fill("Asia/Tokyo")
    page.get_by_label("When (cron)").press_sequentially("30 7 * * 1-5")
    expect(preview).to_contain_text("At 07:30, Monday through Friday", timeout=20_000)  # a loaded machine
    expect(preview.locator("ol.fire-times li")).to_have_count(5)
    expect(preview.locator("ol.fire-times li").first).to_contain_text("07:30")
    photograph(page, screenshots_dir, "schedule-form-preview")

    page.get_by_role("button", name="Save schedule").click()
    expect(page).to_have_url(f"{live_server.url}/pipeline/schedules/")
    row = page.locator("table tbody tr", has_text="Tokyo mornings")
    expect(row).to_contain_text("At 07:30, Monday through Friday")
    photograph(page, screenshots_dir, "schedule-list-run-now")

    row.get_by_role("button", name="Run “Tokyo mornings” now").click()
    run = Run.objects.get(schedule=Schedule.objects.get(name="Tokyo mornings"))
    expect(page).to_have_url(f"{live_server.url}{run.get_absolute_url()}")
    expect(page.locator(".messages")).to_contain_text("started from the schedule")


def _png(size=(1600, 900), colour=(220, 60, 60)):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_operator_changes_the_artwork_then_deletes_the_run(open_page, operator, live_server, screenshots_dir):
    run = move_run_to(services.start_run(operator, preset="study", duration_s=60), RunStatus.SUCCEEDED)
    write_media(run, tracklist=[{"start_s": 0, "title": "Rain", "bpm": 72, "key": "Am"}])
    page = open_page()
    serve_media_from_disk(page)
    sign_in(page, operator.username)
    visit(page, run.get_absolute_url())
    params = page.locator("#params-title").locator("..")
    expect(params).to_contain_text("72 BPM")
    expect(params).not_to_contain_text("preset default")

    settle(page)
    page.get_by_text("Change the artwork").click()
    page.get_by_role("button", name="Regenerate thumbnail").click()
    expect(page.locator("main")).to_contain_text("Thumbnail redrawn")
    settle(page)

    # A file that is not an image: the error stands at the field, the page answers 400.
    page.get_by_text("Change the artwork").click()
    page.get_by_label("Your own thumbnail").set_input_files(
        {"name": "notes.png", "mimeType": "image/png", "buffer": b"not an image at all" * 20})
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Upload thumbnail").click()
    assert navigation.value.status == 400
    expect(page.locator(".field-invalid")).to_contain_text("not a readable JPEG, PNG or WebP image")
    photograph(page, screenshots_dir, "run-artwork-error")

    page.get_by_label("Your own thumbnail").set_input_files(
        {"name": "mine.png", "mimeType": "image/png", "buffer": _png()})
    page.get_by_role("button", name="Upload thumbnail").click()
    expect(page.locator("main")).to_contain_text("Your thumbnail is saved")
    expect(page).to_have_url(f"{live_server.url}{run.get_absolute_url()}")
    settle(page)

    visit(page, "/pipeline/")
    expect(page.get_by_label("Storage used")).to_contain_text("Media on disk")
    photograph(page, screenshots_dir, "runs-storage-delete")

    visit(page, run.get_absolute_url())
    settle(page)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete run and video").click()
    expect(page).to_have_url(f"{live_server.url}/pipeline/")
    expect(page.locator("main")).to_contain_text(f"Run #{run.pk} deleted with its video and files")
    assert not Run.objects.filter(pk=run.pk).exists()


def test_admin_connects_the_channel_with_google(open_page, admin_user, live_server, screenshots_dir):
    with FakeYouTube() as google:
        google.redirect_uris.add(f"{live_server.url}/pipeline/youtube/callback/")
        originals = {name: getattr(settings, name) for name in
                     ("YOUTUBE_AUTH_URL", "YOUTUBE_TOKEN_URL", "YOUTUBE_API_BASE", "YOUTUBE_UPLOAD_BASE")}
        settings.YOUTUBE_AUTH_URL, settings.YOUTUBE_TOKEN_URL = google.auth_url, google.token_url
        settings.YOUTUBE_API_BASE, settings.YOUTUBE_UPLOAD_BASE = google.api_base, google.upload_base
        try:
            page = open_page()
            sign_in(page, admin_user.username)
            visit(page, "/pipeline/youtube/")
            photograph(page, screenshots_dir, "channel-connect-with-google")
            form = page.locator("form", has=page.get_by_role("button", name="Connect with Google"))
            form.get_by_label("OAuth client ID").fill(google.client_id)
            form.get_by_label("OAuth client secret").fill(google.client_secret)
            form.get_by_role("button", name="Connect with Google").click()
            # Google's consent page "Allows" at once and sends the browser back to the callback.
            expect(page).to_have_url(f"{live_server.url}/pipeline/youtube/")
            expect(page.locator("main")).to_contain_text(f"YouTube channel “{google.channel_title}” connected")
            assert len(google.consents) == 1 and google.consents[0]["code_challenge_method"] == "S256"
            channel = YouTubeChannel.objects.get()
            assert channel.channel_id == google.channel_id
            assert re.search(google.channel_title, page.locator("main").inner_text())
        finally:
            for name, value in originals.items():
                setattr(settings, name, value)
