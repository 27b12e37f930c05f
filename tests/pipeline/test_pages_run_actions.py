"""Run page actions (issue 7, items 18 and 20): delete a run with its video and files, the
storage used, the tempo and key that were composed, "run again" with a new seed, and a
reload of a failed metadata save."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.template.defaultfilters import filesizeformat
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pipeline import services
from pipeline.choices import RunStatus, UploadStatus
from pipeline.models import Run, Video
from tests.pipeline.test_pages import PERSONAS, assert_login_redirect, client_for, field_block, run_data

pytestmark = pytest.mark.django_db


def facts(html):
    """The run page's parameter list as {label: value}."""
    section = html[html.index('id="params-title"'):]
    return dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]*)</dd>", section))


# --- delete -----------------------------------------------------------------------------------
@pytest.mark.parametrize("persona,status", [("anonymous", "login"), ("viewer", 403), ("operator", 302),
                                            ("other_operator", 403), ("admin", 302)])
def test_delete_run_role_matrix(client, personas, finished_run, persona, status,
                                django_capture_on_commit_callbacks):
    run = finished_run(personas["operator"])
    folder = Path(settings.MEDIA_ROOT) / "runs" / str(run.pk)
    assert (folder / "video.mp4").is_file()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(client, personas, persona).post(reverse("pipeline:run-delete", args=[run.pk]))
    if status == "login":
        assert_login_redirect(response)
    else:
        assert response.status_code == status
    if status == 302:
        assert response["Location"] == reverse("pipeline:run-list")
        assert not Run.objects.filter(pk=run.pk).exists() and not Video.objects.filter(run_id=run.pk).exists()
        assert not folder.exists()
        html = client.get(response["Location"]).content.decode()
        assert f"Run #{run.pk} deleted with its video and files" in html and "freed" in html
    else:
        assert Run.objects.filter(pk=run.pk).exists() and (folder / "video.mp4").is_file()


def test_delete_is_post_only(client, operator, finished_run):
    run = finished_run(operator)
    client.force_login(operator)
    assert client.get(reverse("pipeline:run-delete", args=[run.pk])).status_code == 405
    assert Run.objects.filter(pk=run.pk).exists()


def test_an_active_run_is_not_deleted_and_the_page_says_why(client, operator, make_run):
    run = make_run(operator, RunStatus.RUNNING)
    client.force_login(operator)
    response = client.post(reverse("pipeline:run-delete", args=[run.pk]), follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == run.get_absolute_url()
    assert "still running: cancel it first" in html
    assert Run.objects.filter(pk=run.pk).exists()
    assert reverse("pipeline:run-delete", args=[run.pk]) not in html  # no button while it runs


def test_an_uploading_video_is_not_deleted(client, operator, finished_run):
    run = finished_run(operator, upload_status=UploadStatus.UPLOADING)
    client.force_login(operator)
    html = client.post(reverse("pipeline:run-delete", args=[run.pk]), follow=True).content.decode()
    assert "being uploaded to YouTube" in html and Run.objects.filter(pk=run.pk).exists()


def test_delete_buttons_on_run_page_and_list_only_for_those_who_may(client, personas, finished_run, make_run):
    run = finished_run(personas["operator"])
    active = make_run(personas["operator"], RunStatus.RUNNING)
    url = reverse("pipeline:run-delete", args=[run.pk])
    for persona, shown in (("viewer", False), ("other_operator", False), ("operator", True), ("admin", True)):
        client.force_login(personas[persona])
        assert (url in client.get(run.get_absolute_url()).content.decode()) is shown, persona
        listing = client.get("/pipeline/").content.decode()
        assert (url in listing) is shown, persona
        assert reverse("pipeline:run-delete", args=[active.pk]) not in listing


def test_storage_used_is_shown_readably(client, viewer, operator, finished_run):
    finished_run(operator)
    used = services.storage_used()
    assert used["total"] > 0
    client.force_login(viewer)
    for url in ("/pipeline/", "/pipeline/videos/"):
        html = client.get(url).content.decode()
        assert f"Media on disk: <strong>{filesizeformat(used['total'])}</strong>" in html


# --- the tempo and key that were composed -----------------------------------------------------
def test_a_procedural_run_shows_the_composed_tempo_and_key(client, viewer, operator, finished_run):
    tracklist = [{"start_s": 0, "title": "Rain", "bpm": 74, "key": "Am"},
                 {"start_s": 30, "title": "Tea", "bpm": 74, "key": "F"},
                 {"start_s": 45, "title": "Dusk", "bpm": 78, "key": "Am"}]
    run = finished_run(operator, tracklist=tracklist)
    assert run.bpm is None and not run.musical_key  # left to the preset
    client.force_login(viewer)
    shown = facts(client.get(run.get_absolute_url()).content.decode())
    assert shown["Tempo"] == "74, 78 BPM" and shown["Key"] == "Am, F"
    assert "preset default" not in shown.values()


def test_before_composing_the_page_says_the_preset_chooses(client, viewer, operator, make_run):
    run = make_run(operator, bpm=66)
    client.force_login(viewer)
    shown = facts(client.get(run.get_absolute_url()).content.decode())
    assert shown["Tempo"] == "66 BPM" and shown["Key"] == "chosen by the preset"


def test_a_library_mix_shows_neither_tempo_nor_key(client, viewer, operator, finished_run, make_track):
    make_track(operator)
    run = finished_run(operator, run_params={"audio_source": "library"},
                       tracklist=[{"start_s": 0, "title": "Rain on the window"}])
    client.force_login(viewer)
    shown = facts(client.get(run.get_absolute_url()).content.decode())
    assert "Tempo" not in shown and "Key" not in shown and shown["Audio"] == "Track library mix"


# --- run again: a new seed unless asked ------------------------------------------------------
def test_run_again_gets_a_new_seed_by_default(client, operator, make_run, preset):
    source = make_run(operator, RunStatus.SUCCEEDED, seed=4242)
    client.force_login(operator)
    response = client.post(f"/pipeline/runs/new/?from={source.pk}", run_data(preset))
    assert response.status_code == 302
    assert Run.objects.exclude(pk=source.pk).get().seed != 4242


def test_run_again_keeps_the_seed_when_asked(client, operator, make_run, preset):
    source = make_run(operator, RunStatus.SUCCEEDED, seed=4242)
    client.force_login(operator)
    response = client.post(f"/pipeline/runs/new/?from={source.pk}", run_data(preset, keep_seed="on"))
    assert response.status_code == 302
    assert Run.objects.exclude(pk=source.pk).get().seed == 4242


def test_a_typed_seed_wins_over_keep_seed(client, operator, make_run, preset):
    source = make_run(operator, RunStatus.SUCCEEDED, seed=4242)
    client.force_login(operator)
    client.post(f"/pipeline/runs/new/?from={source.pk}", run_data(preset, keep_seed="on", seed="7"))
    assert Run.objects.exclude(pk=source.pk).get().seed == 7


def test_keep_seed_is_offered_only_when_running_again(client, operator):
    client.force_login(operator)
    with pytest.raises(ValueError):
        field_block(client.get("/pipeline/runs/new/").content.decode(), "keep_seed")


# --- a reload after a failed metadata save ----------------------------------------------------
@pytest.mark.parametrize("name", ["run-metadata", "run-publish", "run-thumbnail-upload", "run-cover-upload"])
def test_reloading_a_form_address_goes_back_to_the_run_page(client, operator, finished_run, name):
    run = finished_run(operator)
    client.force_login(operator)
    response = client.post(reverse("pipeline:run-metadata", args=[run.pk]), {"title": "", "tags": ""})
    assert response.status_code == 400  # the failed save; the address bar now shows the form's URL
    response = client.get(reverse(f"pipeline:{name}", args=[run.pk]))
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()


@pytest.mark.parametrize("persona", PERSONAS)
def test_form_address_reload_role_matrix(client, personas, finished_run, persona):
    run = finished_run(personas["operator"])
    response = client_for(client, personas, persona).get(reverse("pipeline:run-metadata", args=[run.pk]))
    if persona == "anonymous":
        assert_login_redirect(response)
    else:
        assert response.status_code == 302 and response["Location"] == run.get_absolute_url()


# --- the runs list reads each run's video with the run ----------------------------------------
def test_runs_list_queries_do_not_grow_with_the_rows(client, operator, finished_run):
    client.force_login(operator)
    finished_run(operator)
    client.get("/pipeline/")

    def count():
        with CaptureQueriesContext(connection) as queries:
            html = client.get("/pipeline/").content.decode()
        return len(queries), html

    one, _ = count()
    for _ in range(5):
        finished_run(operator)
    many, html = count()
    assert html.count("Rainy study session</a>") == 6  # each row links by its video's title
    assert many == one


def test_the_parameters_follow_the_run_live_tempo_key_and_delete_appear_without_a_reload(client, operator,
                                                                                      make_run):
    from pipeline.models import Video
    from tests.factories import move_run_to
    from tests.pipeline.conftest import write_media

    run = make_run(operator, RunStatus.RUNNING)
    client.force_login(operator)
    page = client.get(run.get_absolute_url()).content.decode()
    assert "chosen by the preset" in page and "Delete run and video" not in page
    poll = re.search(r'hx-get="([^"]+)"', page).group(1).replace("&amp;", "&")
    write_media(run)
    Video.objects.filter(run=run).update(tracklist=[{"start_s": 0, "title": "Night", "bpm": 77, "key": "Dm"}])
    move_run_to(run, RunStatus.SUCCEEDED)
    live = client.get(poll, headers={"HX-Request": "true"}).content.decode()
    params = live[live.index('<section id="run-params"'):]
    params = params[:params.index("</section>")]
    assert 'hx-swap-oob="true"' in params
    assert "77 BPM" in params and "Dm" in params and "Delete run and video" in params
