"""The pipeline's HTML pages: the role matrix, forms that keep input and show errors at
their fields, the live (htmx) run partial, and the seekable media view."""

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from pipeline import services
from pipeline.choices import RunStatus, UploadStatus
from pipeline.models import QuotaUsage, Run, Schedule, Track, Video, YouTubeChannel
from tests.factories import ScheduleFactory
from tests.helpers import PERSONAS, assert_answer, assert_login_redirect, client_for
from tests.pipeline.conftest import VIDEO_BYTES

pytestmark = pytest.mark.django_db

FIELD_START = re.compile(r'class="field[ "]')


def field_block(html: str, name: str) -> str:
    """The rendered block (label, control, help, errors) of the form field `name`."""
    at = html.index(f'name="{name}"')
    starts = [m.start() for m in FIELD_START.finditer(html, 0, at)]
    following = FIELD_START.search(html, at)
    return html[starts[-1] if starts else 0:following.start() if following else len(html)]


def errors_in(block: str) -> list[str]:
    return re.findall(r'<p class="field-error"[^>]*>(.*?)</p>', block, re.S)


# --- role matrix: pages -----------------------------------------------------------------------
@pytest.fixture
def world(personas, make_run, finished_run, make_track, preset):
    """One of everything, owned by `operator`."""
    operator = personas["operator"]
    done = finished_run(operator)
    schedule = ScheduleFactory(created_by=operator, name="Evening", preset=preset, duration_s=600)
    return {"run": done, "active": make_run(operator, RunStatus.RUNNING), "failed": make_run(operator, "failed"),
            "schedule": schedule, "track": make_track(operator)}


READ_PAGES = [
    "/pipeline/",
    "/pipeline/videos/",
    "/pipeline/schedules/",
    "/pipeline/tracks/",
    "/pipeline/youtube/",
    "/pipeline/runs/{run}/",
    "/pipeline/runs/{run}/progress/",
    "/pipeline/media/{run}/video/",
    "/pipeline/media/{run}/thumbnail/",
    "/pipeline/tracks/{track}/audio/",
]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("url", READ_PAGES)
def test_everyone_with_a_role_reads_every_page(client, personas, world, url, persona):
    url = url.format(run=world["run"].pk, track=world["track"].pk)
    response = client_for(client, personas, persona).get(url)
    if persona == "anonymous":
        assert_login_redirect(response)
    else:
        assert response.status_code == 200, (url, persona)


@pytest.mark.parametrize("persona,expected", [("anonymous", "login"), ("viewer", 403), ("operator", 200),
                                              ("other_operator", 200), ("admin", 200)])
@pytest.mark.parametrize("url", ["/pipeline/runs/new/", "/pipeline/schedules/new/"])
def test_create_pages_need_an_acting_role(client, personas, url, persona, expected):
    response = client_for(client, personas, persona).get(url)
    assert_answer(response, expected)


@pytest.mark.parametrize("persona,expected", [("anonymous", "login"), ("viewer", 403), ("operator", 200),
                                              ("other_operator", 403), ("admin", 200)])
def test_schedule_edit_page_is_for_its_owner_and_admins(client, personas, world, persona, expected):
    response = client_for(client, personas, persona).get(f"/pipeline/schedules/{world['schedule'].pk}/edit/")
    assert_answer(response, expected)


def test_unknown_objects_are_404(client, admin_user):
    client.force_login(admin_user)
    for url in ["/pipeline/runs/999/", "/pipeline/runs/999/progress/", "/pipeline/media/999/video/",
                "/pipeline/schedules/999/edit/", "/pipeline/tracks/999/audio/"]:
        assert client.get(url).status_code == 404, url
    assert client.post("/pipeline/runs/999/cancel/").status_code == 404


def test_actions_are_post_only(client, operator, world):
    client.force_login(operator)
    run = world["active"]
    for url in [f"/pipeline/runs/{run.pk}/cancel/", f"/pipeline/runs/{run.pk}/retry/",
                f"/pipeline/schedules/{world['schedule'].pk}/delete/", f"/pipeline/tracks/{world['track'].pk}/delete/"]:
        assert client.get(url).status_code == 405, url
    assert Run.objects.get(pk=run.pk).status == RunStatus.RUNNING


def test_actions_need_a_csrf_token(personas, world):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(personas["operator"])
    response = strict.post(f"/pipeline/runs/{world['active'].pk}/cancel/")
    assert response.status_code == 403
    assert not Run.objects.get(pk=world["active"].pk).cancel_requested


# --- role matrix: actions on operator's objects -----------------------------------------------
ACTORS = [("anonymous", "login"), ("viewer", 403), ("other_operator", 403), ("operator", 302), ("admin", 302)]


@pytest.mark.parametrize("persona,expected", ACTORS)
def test_cancel_run(client, personas, world, persona, expected):
    run = world["active"]
    response = client_for(client, personas, persona).post(f"/pipeline/runs/{run.pk}/cancel/", follow=False)
    run.refresh_from_db()
    assert_answer(response, expected)
    assert run.cancel_requested is (expected == 302)
    if expected == 302:
        assert response["Location"] == run.get_absolute_url()
        page = client.get(response["Location"])
        assert "cancel requested" in page.content.decode()


@pytest.mark.parametrize("persona,expected", ACTORS)
def test_retry_run(client, personas, world, persona, expected):
    run = world["failed"]
    response = client_for(client, personas, persona).post(f"/pipeline/runs/{run.pk}/retry/")
    run.refresh_from_db()
    assert_answer(response, expected)
    assert run.status == (RunStatus.QUEUED if expected == 302 else RunStatus.FAILED)


def test_retry_of_a_running_run_is_refused_with_a_message(client, operator, world):
    client.force_login(operator)
    response = client.post(f"/pipeline/runs/{world['active'].pk}/retry/", follow=True)
    assert "Only failed or cancelled runs can be retried" in response.content.decode()
    assert Run.objects.get(pk=world["active"].pk).status == RunStatus.RUNNING


@pytest.mark.parametrize("persona,expected", ACTORS)
def test_edit_metadata(client, personas, world, persona, expected):
    run = world["run"]
    data = {"title": "Midnight rain", "description": "New words", "tags": "lofi, rain , ,night"}
    response = client_for(client, personas, persona).post(f"/pipeline/runs/{run.pk}/metadata/", data)
    video = Video.objects.get(run=run)
    assert_answer(response, expected)
    if expected == 302:
        assert (video.title, video.tags, video.metadata_edited) == ("Midnight rain", ["lofi", "rain", "night"], True)
    else:
        assert video.title == "Rainy study session"


@pytest.mark.parametrize("persona,expected", ACTORS)
def test_publish_to_youtube(client, personas, world, channel, persona, expected):
    run = world["run"]
    response = client_for(client, personas, persona).post(f"/pipeline/runs/{run.pk}/publish/",
                                                          {"privacy": "unlisted"})
    run.refresh_from_db()
    assert_answer(response, expected)
    if expected == 302:
        assert (run.status, run.publish_target, run.privacy) == (RunStatus.QUEUED, "youtube", "unlisted")
    else:
        assert (run.status, run.publish_target) == (RunStatus.SUCCEEDED, "library")


@pytest.mark.parametrize("persona,expected", ACTORS)
def test_toggle_schedule(client, personas, world, persona, expected):
    schedule = world["schedule"]
    response = client_for(client, personas, persona).post(f"/pipeline/schedules/{schedule.pk}/toggle/")
    schedule.refresh_from_db()
    assert_answer(response, expected)
    assert schedule.enabled is (expected != 302)
    assert (schedule.next_run_at is None) is (expected == 302)


@pytest.mark.parametrize("persona,expected", ACTORS)
def test_delete_schedule(client, personas, world, persona, expected):
    schedule = world["schedule"]
    response = client_for(client, personas, persona).post(f"/pipeline/schedules/{schedule.pk}/delete/")
    assert_answer(response, expected)
    assert Schedule.objects.filter(pk=schedule.pk).exists() is (expected != 302)


@pytest.mark.parametrize("persona,expected", ACTORS)
def test_edit_schedule(client, personas, world, persona, expected, preset):
    schedule = world["schedule"]
    data = {"name": "Morning", "cron": "30 7 * * 1-5", "timezone": "Europe/Paris", "preset": preset,
            "duration": "1800", "custom_duration": "", "audio_source": "procedural", "publish_target": "library",
            "privacy": "private", "enabled": "on"}
    response = client_for(client, personas, persona).post(f"/pipeline/schedules/{schedule.pk}/edit/", data)
    schedule.refresh_from_db()
    assert_answer(response, expected)
    assert (schedule.name == "Morning") is (expected == 302)


@pytest.mark.parametrize("persona,expected", ACTORS)
def test_delete_track(client, personas, world, persona, expected):
    track = world["track"]
    path = track.file.path
    response = client_for(client, personas, persona).post(f"/pipeline/tracks/{track.pk}/delete/")
    assert_answer(response, expected)
    assert Track.objects.filter(pk=track.pk).exists() is (expected != 302)
    import os

    assert os.path.exists(path) is (expected != 302)


@pytest.mark.parametrize("persona,expected", [("viewer", 403), ("operator", 403), ("admin", 302)])
def test_only_admins_connect_and_disconnect_the_channel(client, personas, persona, expected, fake_youtube):
    client = client_for(client, personas, persona)
    data = {"client_id": fake_youtube.client_id, "client_secret": fake_youtube.client_secret,
            "refresh_token": fake_youtube.refresh_token}
    assert client.post("/pipeline/youtube/", data).status_code == expected
    assert YouTubeChannel.objects.exists() is (expected == 302)
    if expected != 302:
        services.connect_channel(personas["admin"], **data)
    assert client.post("/pipeline/youtube/disconnect/").status_code == expected
    assert YouTubeChannel.objects.exists() is (expected != 302)


def test_viewer_cannot_start_runs_or_upload_tracks(client, viewer, preset):
    client.force_login(viewer)
    response = client.post("/pipeline/runs/new/", {"preset": preset, "duration": "60",
                                                    "audio_source": "procedural", "publish_target": "library",
                                                    "privacy": "private"})
    assert response.status_code == 403
    upload = SimpleUploadedFile("a.wav", b"RIFF....", content_type="audio/wav")
    assert client.post("/pipeline/tracks/", {"file": upload}).status_code == 403
    assert not Run.objects.exists() and not Track.objects.exists()


def test_viewer_sees_no_action_buttons(client, viewer, world, channel):
    client.force_login(viewer)
    html = client.get(world["failed"].get_absolute_url()).content.decode()
    assert "/retry/" not in html
    html = client.get(world["active"].get_absolute_url()).content.decode()
    assert "/cancel/" not in html
    html = client.get(world["run"].get_absolute_url()).content.decode()
    assert "Publish to YouTube" not in html and 'action="/pipeline/runs/' not in html
    assert "New run" not in client.get("/pipeline/").content.decode()


def test_owner_sees_action_buttons_other_operator_does_not(client, operator, other_operator, world, channel):
    client.force_login(operator)
    html = client.get(world["active"].get_absolute_url()).content.decode()
    assert f'action="/pipeline/runs/{world["active"].pk}/cancel/"' in html and "data-confirm=" in html
    assert f'action="/pipeline/runs/{world["failed"].pk}/retry/"' in client.get(
        world["failed"].get_absolute_url()).content.decode()
    html = client.get(world["run"].get_absolute_url()).content.decode()
    assert "Publish to YouTube" in html and 'name="title"' in html
    client.force_login(other_operator)
    html = client.get(world["run"].get_absolute_url()).content.decode()
    assert "Publish to YouTube" not in html and 'name="title"' not in html
    assert "Rainy study session" in html  # but the metadata is readable


# --- the new-run form -----------------------------------------------------------------------
def run_data(preset, **overrides):
    return {"preset": preset, "duration": "1800", "custom_duration": "", "bpm": "", "musical_key": "",
            "seed": "", "audio_source": "procedural", "publish_target": "library", "privacy": "private",
            "publish_at": "", **overrides}


def test_operator_starts_a_run(client, operator, preset):
    client.force_login(operator)
    response = client.post("/pipeline/runs/new/", run_data(preset, custom_duration="1:30", bpm="72",
                                                            musical_key="F#m", seed="1234", motion="on"))
    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()
    assert (run.duration_s, run.bpm, run.musical_key, run.seed, run.motion, run.created_by) == (
        90, 72, "F#m", 1234, True, operator)
    page = client.get(response["Location"]).content.decode()
    assert "Library only: nothing will be uploaded to YouTube." in page
    assert run.stages.count() == 6


def test_new_run_form_lists_presets_with_labels(client, operator):
    from pipeline.engines.presets import PRESETS

    client.force_login(operator)
    html = client.get("/pipeline/runs/new/").content.decode()
    for name, preset in PRESETS.items():
        assert f'value="{name}"' in html and preset.label in html


@pytest.mark.parametrize("field,value,message", [
    ("custom_duration", "10", "out of range"),
    ("custom_duration", "4:00:00", "out of range"),
    ("custom_duration", "4h", "out of range"),
    ("custom_duration", "soon", "h:mm:ss"),
    ("bpm", "200", "less than or equal to 110"),
])
def test_bad_run_input_is_shown_at_its_field_and_kept(client, operator, preset, field, value, message):
    client.force_login(operator)
    response = client.post("/pipeline/runs/new/", run_data(preset, seed="777", **{field: value}))
    assert response.status_code == 400
    html = response.content.decode()
    block = field_block(html, field)
    assert any(message in error for error in errors_in(block)), errors_in(block)
    assert f'value="{value}"' in block  # what the user typed is still there
    assert 'value="777"' in field_block(html, "seed")  # and so is everything else
    assert not Run.objects.exists()


def test_listed_duration_error_is_shown_at_the_list(client, operator, preset):
    client.force_login(operator)
    response = client.post("/pipeline/runs/new/", run_data(preset, duration="5"))
    assert response.status_code == 400
    assert errors_in(field_block(response.content.decode(), "duration"))


def test_youtube_target_without_a_channel_is_refused(client, operator, preset):
    client.force_login(operator)
    page = client.get("/pipeline/runs/new/").content.decode()
    assert 'value="youtube"' not in page  # not offered
    assert "nothing will be uploaded" in page
    response = client.post("/pipeline/runs/new/", run_data(preset, publish_target="youtube"))
    assert response.status_code == 400
    errors = errors_in(field_block(response.content.decode(), "publish_target"))
    assert errors and "No YouTube channel is connected" in errors[0]
    assert not Run.objects.exists()


def test_youtube_target_offered_when_a_channel_is_connected(client, operator, channel, preset):
    client.force_login(operator)
    assert 'value="youtube"' in client.get("/pipeline/runs/new/").content.decode()
    later = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/pipeline/runs/new/", run_data(preset, publish_target="youtube", publish_at=later))
    assert response.status_code == 302
    run = Run.objects.get()
    assert (run.publish_target, run.privacy) == ("youtube", "private") and run.publish_at


def test_publish_at_with_public_privacy_is_refused(client, operator, channel, preset):
    client.force_login(operator)
    later = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/pipeline/runs/new/", run_data(preset, publish_target="youtube", privacy="public",
                                                            publish_at=later))
    assert response.status_code == 400
    block = field_block(response.content.decode(), "publish_at")
    assert any("Private" in error for error in errors_in(block))
    assert f'value="{later}"' in block
    assert not Run.objects.exists()


def test_bad_intro_clip_is_refused(client, operator, preset, settings):
    client.force_login(operator)
    clip = SimpleUploadedFile("intro.txt", b"not a video", content_type="text/plain")
    response = client.post("/pipeline/runs/new/", {**run_data(preset), "intro": clip})
    assert response.status_code == 400
    assert any("mp4, mov, webm or mkv" in e for e in errors_in(field_block(response.content.decode(), "intro")))
    settings.PIPELINE_CLIP_MAX_MB = 0
    clip = SimpleUploadedFile("intro.mp4", b"x" * 2048, content_type="video/mp4")
    response = client.post("/pipeline/runs/new/", {**run_data(preset), "intro": clip})
    assert any("limit is 0 MB" in e for e in errors_in(field_block(response.content.decode(), "intro")))


def test_service_errors_land_on_their_field(client, operator, preset):
    """services.start_run refuses a library mix with no tracks: the message shows at the audio choice."""
    client.force_login(operator)
    response = client.post("/pipeline/runs/new/", run_data(preset, audio_source="library"))
    assert response.status_code == 400
    errors = errors_in(field_block(response.content.decode(), "audio_source"))
    assert errors and "track library is empty" in errors[0]


def test_run_again_prefills_the_form(client, operator, make_run):
    run = make_run(operator, RunStatus.SUCCEEDED, duration_s=95, seed=4242, bpm=70)
    client.force_login(operator)
    html = client.get(f"/pipeline/runs/new/?from={run.pk}").content.decode()
    assert 'value="1:35"' in field_block(html, "custom_duration")
    assert 'value="70"' in field_block(html, "bpm")
    # A new seed by default (issue 7, item 20); the same one only when asked for (test_pages_run_actions).
    assert 'value="4242"' not in field_block(html, "seed")
    assert "Keep seed 4242" in field_block(html, "keep_seed")


# --- run list ---------------------------------------------------------------------------------
def test_run_list_empty_state_says_what_to_do(client, operator, viewer):
    client.force_login(operator)
    html = client.get("/pipeline/").content.decode()
    assert "Start your first run" in html and reverse("pipeline:run-create") in html
    client.force_login(viewer)
    assert "Start your first run" not in client.get("/pipeline/").content.decode()


def test_run_list_columns_filters_sorting_and_pages(client, viewer, operator, make_run):
    runs = [make_run(operator, duration_s=30 + i) for i in range(27)]
    failed = make_run(operator, RunStatus.FAILED, duration_s=3725)
    client.force_login(viewer)
    html = client.get("/pipeline/").content.decode()
    assert html.count('data-label="Run"') == 25
    assert "Page 1 of 2" in html
    assert "1:02:05" in html  # durations as h:mm:ss
    assert '<span class="badge badge-failed">Failed</span>' in html
    assert "otto" in html  # started by
    page2 = client.get("/pipeline/?page=2").content.decode()
    assert page2.count('data-label="Run"') == 3

    only_failed = client.get("/pipeline/?status=failed").content.decode()
    assert only_failed.count('data-label="Run"') == 1 and f"#{failed.pk}<" in only_failed

    Run.objects.filter(pk=runs[0].pk).update(created_at=timezone.now() - timedelta(days=10))
    old = client.get(f"/pipeline/?created_before={(timezone.localdate() - timedelta(days=5)).isoformat()}")
    assert old.content.decode().count('data-label="Run"') == 1

    by_duration = client.get("/pipeline/?ordering=duration").content.decode()
    ids = [int(x) for x in re.findall(r'data-label="Run"><a href="/pipeline/runs/(\d+)/"', by_duration)]
    assert ids[0] == runs[0].pk
    # the header now offers the reverse order, keeps the filters and drops the page
    html = client.get("/pipeline/?ordering=duration&status=queued&page=1").content.decode()
    link = re.search(r'<th scope="col" aria-sort="ascending"><a href="\?([^"]*)">Duration</a>', html).group(1)
    assert sorted(link.split("&amp;")) == ["ordering=-duration", "status=queued"]
    assert re.search(r'<th scope="col" aria-sort="none"><a href="[^"]*">Preset</a>', html)


# --- run detail, live partial -----------------------------------------------------------------
def test_run_detail_shows_parameters_timeline_and_players(client, viewer, operator, finished_run):
    run = finished_run(operator)
    client.force_login(viewer)
    html = client.get(run.get_absolute_url()).content.decode()
    for stage in ("Compose", "Artwork", "Metadata", "Render", "Thumbnail", "Publish"):
        assert stage in html
    assert html.count("<progress") >= 7  # overall + one per stage
    assert "<details" in html and "<pre>" in html
    assert f'<audio controls preload="metadata" src="/pipeline/media/{run.pk}/audio/"' in html
    assert (f'<video controls preload="metadata" playsinline src="/pipeline/media/{run.pk}/video/" '
            f'poster="/pipeline/media/{run.pk}/thumbnail/"') in html
    assert f'src="/pipeline/media/{run.pk}/cover/"' in html
    assert "Library only — nothing was uploaded to YouTube" in html
    assert 'hx-trigger' not in html  # finished: no polling
    assert "Seed" in html and str(run.seed) in html


def test_failed_run_shows_the_error(client, operator, make_run):
    run = make_run(operator, RunStatus.FAILED, error="Artwork failed: No space left on device")
    client.force_login(operator)
    html = client.get(run.get_absolute_url()).content.decode()
    assert 'class="alert alert-error"' in html and "No space left on device" in html


@pytest.mark.parametrize("status,expected", [
    (UploadStatus.LOCKED_PRIVATE, "Uploaded but locked private"),
    (UploadStatus.LIMIT_EXCEEDED, "Upload limit exceeded"),
    (UploadStatus.UPLOADED, "Open on YouTube"),
])
def test_upload_outcomes_are_shown_as_such(client, operator, finished_run, status, expected):
    youtube = {"youtube_id": "abc123", "youtube_url": "https://www.youtube.com/watch?v=abc123"}
    run = finished_run(operator, upload_status=status, **(youtube if status != UploadStatus.LIMIT_EXCEEDED else {}))
    client.force_login(operator)
    html = client.get(run.get_absolute_url()).content.decode()
    assert expected in html
    assert "nothing was uploaded to YouTube" not in html
    if status != UploadStatus.LIMIT_EXCEEDED:
        assert 'href="https://www.youtube.com/watch?v=abc123"' in html


def test_active_run_page_polls_its_partial(client, operator, make_run):
    run = make_run(operator, RunStatus.RUNNING)
    client.force_login(operator)
    html = client.get(run.get_absolute_url()).content.decode()
    assert f'hx-get="/pipeline/runs/{run.pk}/progress/?' in html
    assert 'hx-trigger="every 2s"' in html
    assert "Cancel run" in html


def test_partial_is_a_fragment_that_polls_while_active_and_stops_when_finished(client, operator, make_run):
    from tests.pipeline.conftest import move_run_to

    run = make_run(operator, RunStatus.RUNNING)
    client.force_login(operator)
    url = f"/pipeline/runs/{run.pk}/progress/"
    response = client.get(url, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "<nav" not in html and "<footer" not in html
    assert html.lstrip().startswith('<section id="run-live"')
    assert 'hx-trigger="every 2s"' in html and "Artwork" in html
    assert "<progress" in html

    move_run_to(run, RunStatus.SUCCEEDED)
    html = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert 'id="run-live"' in html
    assert "hx-trigger" not in html and "hx-get" not in html  # polling stops here
    assert "Succeeded" in html


def test_a_poll_after_sign_out_sends_the_browser_to_sign_in(client, operator, make_run):
    run = make_run(operator, RunStatus.RUNNING)
    response = client.get(f"/pipeline/runs/{run.pk}/progress/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("accounts:login"))
    assert f"next=/pipeline/runs/{run.pk}/" in response["HX-Redirect"].replace("%2F", "/")
    assert response.content == b""


def test_partial_resends_a_section_only_when_it_changed(client, operator, make_run):
    from tests.pipeline.conftest import write_media

    run = make_run(operator, RunStatus.RUNNING)
    client.force_login(operator)
    first = client.get(run.get_absolute_url()).content.decode()
    poll = re.search(r'hx-get="([^"]+)"', first).group(1).replace("&amp;", "&")
    unchanged = client.get(poll, headers={"HX-Request": "true"}).content.decode()
    assert "hx-swap-oob" not in unchanged
    write_media(run)  # audio, cover, video, thumbnail and metadata appeared
    changed = client.get(poll, headers={"HX-Request": "true"}).content.decode()
    assert '<section id="run-audio"' in changed and 'id="run-visuals"' in changed
    assert changed.count('hx-swap-oob="true"') >= 2
    assert f"/pipeline/media/{run.pk}/audio/" in changed


def test_metadata_errors_show_at_the_field_and_keep_input(client, operator, finished_run):
    run = finished_run(operator)
    client.force_login(operator)
    data = {"title": "Rain <night>", "description": "Kept words", "tags": "lofi, rain"}
    response = client.post(f"/pipeline/runs/{run.pk}/metadata/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert errors_in(field_block(html, "title"))
    assert "Kept words" in field_block(html, "description")
    assert 'value="lofi, rain"' in field_block(html, "tags")
    assert Video.objects.get(run=run).title == "Rainy study session"


def test_publish_errors_show_at_the_field(client, operator, finished_run, channel):
    run = finished_run(operator)
    client.force_login(operator)
    later = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(f"/pipeline/runs/{run.pk}/publish/", {"privacy": "public", "publish_at": later})
    assert response.status_code == 400
    assert errors_in(field_block(response.content.decode(), "publish_at"))
    assert Run.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED


def test_no_publish_button_without_a_channel(client, operator, finished_run):
    run = finished_run(operator)
    client.force_login(operator)
    html = client.get(run.get_absolute_url()).content.decode()
    assert "Publish to YouTube" not in html and "No YouTube channel is connected" in html


# --- media ------------------------------------------------------------------------------------
def media_url(run, kind="video"):
    return f"/pipeline/media/{run.pk}/{kind}/"


def test_media_range_request_returns_the_right_bytes(client, operator, finished_run):
    run = finished_run(operator)
    client.force_login(operator)
    size = len(VIDEO_BYTES)

    response = client.get(media_url(run), headers={"Range": "bytes=100-299"})
    assert response.status_code == 206
    assert response.getvalue() == VIDEO_BYTES[100:300]
    assert response["Content-Range"] == f"bytes 100-299/{size}"
    assert response["Content-Length"] == "200"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "video/mp4"

    open_ended = client.get(media_url(run), headers={"Range": f"bytes={size - 10}-"})
    assert open_ended.status_code == 206 and open_ended.getvalue() == VIDEO_BYTES[-10:]
    suffix = client.get(media_url(run), headers={"Range": "bytes=-5"})
    assert suffix.status_code == 206 and suffix.getvalue() == VIDEO_BYTES[-5:]
    assert suffix["Content-Range"] == f"bytes {size - 5}-{size - 1}/{size}"
    past_end = client.get(media_url(run), headers={"Range": f"bytes=10-{size + 500}"})
    assert past_end.status_code == 206 and past_end.getvalue() == VIDEO_BYTES[10:]


def test_media_without_range_sends_everything(client, operator, finished_run):
    run = finished_run(operator)
    client.force_login(operator)
    response = client.get(media_url(run))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == VIDEO_BYTES
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(len(VIDEO_BYTES))
    # a malformed or multi-range header is ignored (RFC 9110), not an error
    for header in ("bytes=abc", "bytes=0-1,5-6", "items=0-1"):
        response = client.get(media_url(run), headers={"Range": header})
        assert response.status_code == 200, header


def test_unsatisfiable_range_is_416(client, operator, finished_run):
    run = finished_run(operator)
    client.force_login(operator)
    response = client.get(media_url(run), headers={"Range": f"bytes={len(VIDEO_BYTES)}-"})
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(VIDEO_BYTES)}"


def test_if_range_with_a_stale_validator_sends_everything(client, operator, finished_run):
    run = finished_run(operator)
    client.force_login(operator)
    response = client.get(media_url(run), headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert response.status_code == 200
    etag = response["ETag"]
    response = client.get(media_url(run), headers={"Range": "bytes=0-9", "If-Range": etag})
    assert response.status_code == 206 and response.getvalue() == VIDEO_BYTES[:10]


@pytest.mark.parametrize("persona", ["viewer", "other_operator", "admin"])
def test_everyone_with_a_role_views_others_media(client, personas, finished_run, persona):
    run = finished_run(personas["operator"])
    client.force_login(personas[persona])
    response = client.get(media_url(run), headers={"Range": "bytes=0-15"})
    assert response.status_code == 206 and response.getvalue() == VIDEO_BYTES[:16]
    assert client.get(media_url(run, "thumbnail"))["Content-Type"] == "image/jpeg"


def test_anonymous_cannot_fetch_media(client, operator, finished_run):
    run = finished_run(operator)
    assert_login_redirect(client.get(media_url(run), headers={"Range": "bytes=0-15"}))


def test_media_that_is_not_there_is_404(client, operator, make_run, finished_run, settings):
    client.force_login(operator)
    queued = make_run(operator)
    assert client.get(media_url(queued)).status_code == 404  # not rendered yet
    run = finished_run(operator)
    assert client.get(media_url(run, "intro")).status_code == 404  # not a media kind
    assert client.get(media_url(run, "secrets")).status_code == 404
    Video.objects.filter(run=run).update(video="../../etc/passwd")
    assert client.get(media_url(run)).status_code == 404  # never outside MEDIA_ROOT
    assert client.get(f"{settings.MEDIA_URL}runs/{run.pk}/video.mp4").status_code == 404  # not served publicly


# --- videos -----------------------------------------------------------------------------------
def test_video_library_cards(client, viewer, operator, finished_run, make_run):
    run = finished_run(operator, title="Night drive", upload_status=UploadStatus.LOCKED_PRIVATE,
                       youtube_id="zz9", youtube_url="https://www.youtube.com/watch?v=zz9")
    make_run(operator)  # no video yet: not in the library
    client.force_login(viewer)
    html = client.get("/pipeline/videos/").content.decode()
    assert "Night drive" in html and f"/pipeline/media/{run.pk}/thumbnail/" in html
    assert "1:00" in html and "Uploaded but locked private" in html
    assert html.count('class="card video-card"') == 1


def test_video_library_paginates_and_has_an_empty_state(client, operator, finished_run):
    client.force_login(operator)
    assert "No videos yet" in client.get("/pipeline/videos/").content.decode()
    for _ in range(25):
        finished_run(operator)
    html = client.get("/pipeline/videos/").content.decode()
    assert html.count('class="card video-card"') == 24 and "Page 1 of 2" in html


# --- schedules --------------------------------------------------------------------------------
def schedule_data(preset, **overrides):
    return {"name": "Evening mix", "cron": "0 18 * * *", "timezone": "Asia/Tokyo", "preset": preset,
            "duration": "3600", "custom_duration": "", "audio_source": "procedural", "publish_target": "library",
            "privacy": "private", "enabled": "on", **overrides}


def test_create_schedule_and_see_next_run_in_its_time_zone(client, operator, preset):
    client.force_login(operator)
    response = client.post("/pipeline/schedules/new/", schedule_data(preset))
    assert response.status_code == 302
    schedule = Schedule.objects.get()
    assert (schedule.created_by, schedule.duration_s, schedule.timezone) == (operator, 3600, "Asia/Tokyo")
    html = client.get("/pipeline/schedules/").content.decode()
    assert "18:00" in html and "Asia/Tokyo" in html
    assert "Evening mix" in html and "1:00:00" in html


def test_bad_cron_is_shown_at_the_field_and_kept(client, operator, preset):
    client.force_login(operator)
    response = client.post("/pipeline/schedules/new/", schedule_data(preset, cron="every day at six"))
    assert response.status_code == 400
    html = response.content.decode()
    block = field_block(html, "cron")
    assert any("cron" in error for error in errors_in(block))
    assert 'value="every day at six"' in block
    assert 'value="Evening mix"' in field_block(html, "name")
    assert not Schedule.objects.exists()


def test_unknown_time_zone_is_shown_at_the_field(client, operator, preset):
    client.force_login(operator)
    response = client.post("/pipeline/schedules/new/", schedule_data(preset, timezone="Mars/Olympus"))
    assert response.status_code == 400
    block = field_block(response.content.decode(), "timezone")
    assert any("Unknown time zone" in error for error in errors_in(block)) and 'value="Mars/Olympus"' in block


def test_schedule_duration_out_of_range_is_refused(client, operator, preset):
    client.force_login(operator)
    response = client.post("/pipeline/schedules/new/", schedule_data(preset, custom_duration="5h"))
    assert response.status_code == 400
    assert errors_in(field_block(response.content.decode(), "custom_duration"))


def test_schedule_forms_start_from_sensible_values(client, operator, world, settings):
    client.force_login(operator)
    html = client.get("/pipeline/schedules/new/").content.decode()
    assert f'value="{settings.TIME_ZONE}"' in field_block(html, "timezone")
    assert '<option value="Europe/Paris">' in html  # suggestions
    html = client.get(f"/pipeline/schedules/{world['schedule'].pk}/edit/").content.decode()
    assert 'value="Evening"' in field_block(html, "name")
    assert 'value="0 18 * * *"' in field_block(html, "cron")
    assert '<option value="600" selected>' in field_block(html, "duration")


def test_schedule_list_empty_state(client, operator):
    client.force_login(operator)
    html = client.get("/pipeline/schedules/").content.decode()
    assert "No schedules yet" in html and "Create a schedule" in html


# --- tracks -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name,content", [("notes.txt", b"just some text\n"), ("notes.mp3", b"just some text\n")])
def test_a_text_file_is_refused_as_a_track(client, operator, name, content):
    client.force_login(operator)
    upload = SimpleUploadedFile(name, content, content_type="audio/mpeg")
    response = client.post("/pipeline/tracks/", {"file": upload, "title": "My text"})
    assert response.status_code == 400
    html = response.content.decode()
    assert errors_in(field_block(html, "file"))
    assert 'value="My text"' in field_block(html, "title")
    assert not Track.objects.exists()


def test_operator_uploads_a_real_track(client, operator):
    import io
    import math
    import struct
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"".join(struct.pack("<h", int(2000 * math.sin(i / 5))) for i in range(8000)))
    client.force_login(operator)
    upload = SimpleUploadedFile("rain.wav", buffer.getvalue(), content_type="audio/wav")
    response = client.post("/pipeline/tracks/", {"file": upload, "title": ""}, follow=True)
    track = Track.objects.get()
    assert (track.title, track.uploaded_by) == ("rain", operator) and 0.9 < track.duration_s < 1.1
    html = response.content.decode()
    assert "Track “rain” added" in html and f"/pipeline/tracks/{track.pk}/audio/" in html


def test_track_list_shows_delete_only_where_allowed(client, personas, make_track):
    track = make_track(personas["operator"])
    client.force_login(personas["other_operator"])
    html = client.get("/pipeline/tracks/").content.decode()
    assert "Rain on the window" in html and "otto" in html and f"/tracks/{track.pk}/delete/" not in html
    assert 'accept="audio/*"' in html
    client.force_login(personas["admin"])
    assert f"/tracks/{track.pk}/delete/" in client.get("/pipeline/tracks/").content.decode()
    client.force_login(personas["viewer"])
    html = client.get("/pipeline/tracks/").content.decode()
    assert 'type="file"' not in html


# --- YouTube channel page ---------------------------------------------------------------------
def test_channel_secrets_are_write_only(client, admin_user, fake_youtube):
    client.force_login(admin_user)
    data = {"client_id": fake_youtube.client_id, "client_secret": fake_youtube.client_secret,
            "refresh_token": fake_youtube.refresh_token}
    response = client.post("/pipeline/youtube/", data, follow=True)
    html = response.content.decode()
    assert "YouTube channel connected" in html and fake_youtube.channel_title in html
    assert fake_youtube.client_secret not in html and fake_youtube.refresh_token not in html
    # a failed submission keeps the client id but never echoes the secrets back
    response = client.post("/pipeline/youtube/", {**data, "client_id": ""})
    html = response.content.decode()
    assert response.status_code == 400
    assert errors_in(field_block(html, "client_id"))
    assert fake_youtube.client_secret not in html and fake_youtube.refresh_token not in html


@pytest.mark.parametrize("field,value,fragment", [
    ("client_secret", "x", "does not know this client id and secret"),
    ("refresh_token", "y", "refused this refresh token"),
])
def test_credentials_that_do_not_work_are_refused_and_nothing_is_saved(client, admin_user, fake_youtube,
                                                                        field, value, fragment):
    client.force_login(admin_user)
    data = {"client_id": fake_youtube.client_id, "client_secret": fake_youtube.client_secret,
            "refresh_token": fake_youtube.refresh_token, field: value}
    response = client.post("/pipeline/youtube/", data)
    assert response.status_code == 400
    assert any(fragment in error for error in errors_in(field_block(response.content.decode(), field)))
    assert not YouTubeChannel.objects.exists()


def test_youtube_that_does_not_answer_is_a_clear_message(client, admin_user, settings):
    settings.YOUTUBE_TOKEN_URL = "http://127.0.0.1:9/token"  # nothing listens on the discard port
    client.force_login(admin_user)
    response = client.post("/pipeline/youtube/", {"client_id": "bogus", "client_secret": "x", "refresh_token": "y"})
    assert response.status_code == 400
    assert "Could not reach YouTube" in response.content.decode()
    assert not YouTubeChannel.objects.exists()


def test_channel_page_shows_connection_and_quota(client, viewer, channel):
    from pipeline import stages, youtube

    QuotaUsage.objects.create(day=stages.quota_day(), bucket=youtube.QUOTA_BUCKET_UPLOADS, units=3,
                              operation="videos.insert")
    QuotaUsage.objects.create(day=stages.quota_day(), bucket=youtube.QUOTA_BUCKET_DEFAULT, units=150,
                              operation="thumbnails.set")
    client.force_login(viewer)
    html = client.get("/pipeline/youtube/").content.decode()
    assert "Connected" in html and "Lo-fi test channel" in html
    assert "3 of 100 used" in html and "150 of 10000 used" in html
    assert 'name="client_secret"' not in html  # viewers get no form
    assert "client-123" not in html  # nor the client id


def test_channel_page_without_a_channel(client, operator):
    client.force_login(operator)
    html = client.get("/pipeline/youtube/").content.decode()
    assert "Not connected" in html and "nothing is uploaded to YouTube" in html


def test_nav_has_pipeline(client, viewer):
    client.force_login(viewer)
    html = client.get("/pipeline/").content.decode()
    assert '<a href="/pipeline/" aria-current="page">Pipeline</a>' in html


@pytest.mark.parametrize("header,expected", [
    ("bytes=0-0", (0, 0)),
    ("bytes=0-", (0, 99)),
    ("bytes=90-200", (90, 99)),
    ("bytes=-10", (90, 99)),
    ("bytes=-500", (0, 99)),
    ("bytes=5-2", None),  # invalid: ignored, the whole file is sent
    ("bytes=1-2,4-5", None),  # several ranges: we send the whole file (allowed by RFC 9110)
    ("bytes=", None),
    ("pages=1-2", None),
    ("bytes=100-", "416"),
    ("bytes=-0", "416"),
])
def test_parse_range(header, expected):
    from lofisite.media import RangeNotSatisfiable, parse_range

    if expected == "416":
        with pytest.raises(RangeNotSatisfiable):
            parse_range(header, 100)
    else:
        assert parse_range(header, 100) == expected
