"""The run page's artwork actions (issue 7, item 17): "Regenerate thumbnail" and uploads of
one's own thumbnail and cover art, with errors at the field (400) and nothing changed."""

import io

import pytest
from django.urls import reverse
from PIL import Image

from pipeline.choices import RunStatus, StageName, StageStatus
from pipeline.models import Run
from tests.pipeline.conftest import write_media
from tests.pipeline.test_artwork import image_upload, thumbnail_bytes
from tests.pipeline.test_pages import assert_login_redirect, client_for, errors_in, field_block

pytestmark = pytest.mark.django_db

ROLE_MATRIX = [("anonymous", "login"), ("viewer", 403), ("operator", 302), ("other_operator", 403), ("admin", 302)]


@pytest.mark.parametrize("persona,status", ROLE_MATRIX)
def test_regenerate_thumbnail_role_matrix(client, personas, finished_run, persona, status):
    run = finished_run(personas["operator"])
    before = thumbnail_bytes(run.video)
    response = client_for(client, personas, persona).post(reverse("pipeline:run-thumbnail-regenerate",
                                                                  args=[run.pk]))
    if status == "login":
        assert_login_redirect(response)
    else:
        assert response.status_code == status
    run.video.refresh_from_db()
    if status == 302:
        assert response["Location"] == run.get_absolute_url()
        with Image.open(io.BytesIO(thumbnail_bytes(run.video))) as img:
            assert img.size == (1280, 720)  # drawn again from the cover and the title
        assert "Thumbnail redrawn" in client.get(response["Location"]).content.decode()
    else:
        assert thumbnail_bytes(run.video) == before


@pytest.mark.parametrize("persona,status", ROLE_MATRIX)
def test_upload_thumbnail_role_matrix(client, personas, finished_run, persona, status):
    run = finished_run(personas["operator"])
    before = thumbnail_bytes(run.video)
    response = client_for(client, personas, persona).post(
        reverse("pipeline:run-thumbnail-upload", args=[run.pk]),
        {"thumbnail": image_upload(size=(1920, 1080), fmt="JPEG", name="mine.jpg")})
    if status == "login":
        assert_login_redirect(response)
    else:
        assert response.status_code == status
    run.video.refresh_from_db()
    if status == 302:
        with Image.open(io.BytesIO(thumbnail_bytes(run.video))) as img:
            assert img.size == (1280, 720) and img.getpixel((640, 360))[0] > 150  # the uploaded red
    else:
        assert thumbnail_bytes(run.video) == before


@pytest.mark.parametrize("persona,status", ROLE_MATRIX)
def test_upload_cover_role_matrix(client, personas, finished_run, persona, status):
    run = finished_run(personas["operator"])
    response = client_for(client, personas, persona).post(reverse("pipeline:run-cover-upload", args=[run.pk]),
                                                          {"cover": image_upload()})
    if status == "login":
        assert_login_redirect(response)
    else:
        assert response.status_code == status
    run.refresh_from_db()
    if status == 302:
        # rendered again with the new cover
        assert run.status == RunStatus.QUEUED
        assert run.stages.get(name=StageName.RENDER).status == StageStatus.PENDING
        assert "renders the video and the thumbnail again" in client.get(response["Location"]).content.decode()
    else:
        assert run.status == RunStatus.SUCCEEDED


def test_a_file_that_is_not_an_image_is_refused_at_the_field(client, operator, finished_run):
    run = finished_run(operator)
    before = thumbnail_bytes(run.video)
    client.force_login(operator)
    fake = image_upload(name="evil.png")
    fake.file = io.BytesIO(b"#!/bin/sh\necho not a picture\n" * 50)
    response = client.post(reverse("pipeline:run-thumbnail-upload", args=[run.pk]), {"thumbnail": fake})
    assert response.status_code == 400
    html = response.content.decode()
    assert errors_in(field_block(html, "thumbnail")) == ["This is not a readable JPEG, PNG or WebP image."]
    assert 'open' in html[html.index('class="artwork"'):][:40]  # the section stays open on the error
    run.video.refresh_from_db()
    assert thumbnail_bytes(run.video) == before


def test_a_too_small_cover_is_refused_at_the_field(client, operator, finished_run):
    run = finished_run(operator)
    client.force_login(operator)
    response = client.post(reverse("pipeline:run-cover-upload", args=[run.pk]),
                           {"cover": image_upload(size=(320, 180))})
    assert response.status_code == 400
    errors = errors_in(field_block(response.content.decode(), "cover"))
    assert errors and "320x180" in errors[0]
    assert Run.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED


def test_no_file_is_refused_at_the_field(client, operator, finished_run):
    run = finished_run(operator)
    client.force_login(operator)
    response = client.post(reverse("pipeline:run-cover-upload", args=[run.pk]), {})
    assert response.status_code == 400
    assert errors_in(field_block(response.content.decode(), "cover"))


def test_artwork_actions_are_offered_only_when_they_can_work(client, personas, finished_run, make_run):
    done = finished_run(personas["operator"])
    active = make_run(personas["operator"], RunStatus.RUNNING)
    on_youtube = finished_run(personas["operator"], youtube_id="abc123", upload_status="uploaded")
    regenerate = reverse("pipeline:run-thumbnail-regenerate", args=[done.pk])
    for persona, shown in (("viewer", False), ("other_operator", False), ("operator", True), ("admin", True)):
        client.force_login(personas[persona])
        html = client.get(done.get_absolute_url()).content.decode()
        assert (regenerate in html) is shown, persona
        assert (reverse("pipeline:run-cover-upload", args=[done.pk]) in html) is shown
    client.force_login(personas["operator"])
    assert "Change the artwork" not in client.get(active.get_absolute_url()).content.decode()
    assert "Change the artwork" not in client.get(on_youtube.get_absolute_url()).content.decode()


def test_regenerate_on_a_running_run_says_why_not(client, operator, make_run):
    run = make_run(operator, RunStatus.RUNNING)
    write_media(run)
    client.force_login(operator)
    html = client.post(reverse("pipeline:run-thumbnail-regenerate", args=[run.pk]), follow=True).content.decode()
    assert "still running" in html
