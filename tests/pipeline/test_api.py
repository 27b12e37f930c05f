"""The pipeline API: the role matrix on every endpoint and action, validation with
field-level messages, the retry/cancel state rules, and the OpenAPI schema."""

import json
import os
from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from pipeline.choices import RunStatus
from pipeline.models import Run, Schedule, Stage, Track, Video
from tests.api_helpers import assert_error, assert_matrix_answer, field_errors
from tests.factories import ScheduleFactory
from tests.helpers import API_PERSONAS, PERSONAS
from tests.pipeline.api_fixtures import mark_uploaded, wav_bytes

API = "/api/v1/pipeline"
PRESET = "study"
RUN_BODY = {"preset": PRESET, "duration_s": 30}
SCHEDULE_BODY = {"name": "Evening mix", "cron": "0 18 * * *", "timezone": "Europe/Paris", "preset": PRESET,
                 "duration_s": 600}


@pytest.fixture
def world(personas, operator, channel, make_run, finished_run, make_track):
    """One of everything, owned by `operator`; the YouTube channel is connected."""
    return SimpleNamespace(
        queued=make_run(operator),
        failed=make_run(operator, RunStatus.FAILED),
        video=finished_run(operator).video,
        schedule=ScheduleFactory(created_by=operator, name="Daily", preset=PRESET),
        track=make_track(operator),
    )


def _snapshot():
    """What a refused request must leave exactly as it was."""
    return (
        list(Run.objects.order_by("pk").values_list("pk", "status", "cancel_requested")),
        list(Stage.objects.order_by("pk").values_list("pk", "status")),
        list(Video.objects.order_by("pk").values_list("pk", "title", "upload_status")),
        list(Schedule.objects.order_by("pk").values_list("pk", "enabled", "name")),
        list(Track.objects.order_by("pk").values_list("pk", "title")),
    )


def _track_upload():
    return {"file": SimpleUploadedFile("night.wav", wav_bytes(), content_type="audio/wav"), "title": "Night"}


# (name, method, url, body, expected status for anonymous, viewer, operator, other_operator, admin)
MATRIX = [
    ("runs-list", "get", "/runs/", None, (401, 200, 200, 200, 200)),
    ("runs-retrieve", "get", "/runs/{queued}/", None, (401, 200, 200, 200, 200)),
    ("runs-create", "post", "/runs/", lambda: RUN_BODY, (401, 403, 201, 201, 201)),
    ("runs-retry", "post", "/runs/{failed}/retry/", None, (401, 403, 200, 403, 200)),
    ("runs-cancel", "post", "/runs/{queued}/cancel/", None, (401, 403, 200, 403, 200)),
    ("videos-list", "get", "/videos/", None, (401, 200, 200, 200, 200)),
    ("videos-retrieve", "get", "/videos/{video}/", None, (401, 200, 200, 200, 200)),
    ("videos-edit", "patch", "/videos/{video}/", lambda: {"title": "Edited title"}, (401, 403, 200, 403, 200)),
    ("videos-publish", "post", "/videos/{video}/publish/", lambda: {"privacy": "unlisted"},
     (401, 403, 202, 403, 202)),
    ("schedules-list", "get", "/schedules/", None, (401, 200, 200, 200, 200)),
    ("schedules-retrieve", "get", "/schedules/{schedule}/", None, (401, 200, 200, 200, 200)),
    ("schedules-create", "post", "/schedules/", lambda: SCHEDULE_BODY, (401, 403, 201, 201, 201)),
    ("schedules-edit", "patch", "/schedules/{schedule}/", lambda: {"enabled": False}, (401, 403, 200, 403, 200)),
    ("schedules-replace", "put", "/schedules/{schedule}/", lambda: SCHEDULE_BODY, (401, 403, 200, 403, 200)),
    ("schedules-delete", "delete", "/schedules/{schedule}/", None, (401, 403, 204, 403, 204)),
    ("tracks-list", "get", "/tracks/", None, (401, 200, 200, 200, 200)),
    ("tracks-retrieve", "get", "/tracks/{track}/", None, (401, 200, 200, 200, 200)),
    ("tracks-upload", "post", "/tracks/", _track_upload, (401, 403, 201, 201, 201)),
    ("tracks-delete", "delete", "/tracks/{track}/", None, (401, 403, 204, 403, 204)),
]


@pytest.mark.parametrize("name,method,url,body,expected", MATRIX, ids=[case[0] for case in MATRIX])
@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_role_matrix(api_for, api_with, world, persona, name, method, url, body, expected):
    client = api_for(persona, using=api_with)
    url = API + url.format(queued=world.queued.pk, failed=world.failed.pk, video=world.video.pk,
                           schedule=world.schedule.pk, track=world.track.pk)
    before = _snapshot()
    data = body() if body else None
    fmt = "multipart" if name == "tracks-upload" else "json"
    response = getattr(client, method)(url, data, format=fmt) if method != "get" else client.get(url)
    want = expected[PERSONAS.index(persona)]
    assert_matrix_answer(response, want, (persona, name))
    if want >= 400:
        assert _snapshot() == before, "a refused request changed data"
    elif method != "get":
        assert _snapshot() != before, "an accepted write changed nothing"


# --- reads ----------------------------------------------------------------------------------------
def test_run_detail_has_stages_in_pipeline_order(api_as, viewer, operator, make_run):
    run = make_run(operator, RunStatus.FAILED)
    body = api_as(viewer).get(f"{API}/runs/{run.pk}/").json()
    assert [stage["name"] for stage in body["stages"]] == [
        "compose", "artwork", "metadata", "render", "thumbnail", "publish"]
    artwork = body["stages"][1]
    assert artwork["status"] == "failed" and artwork["attempts"] == 3
    assert artwork["error"] == "No space left on device"
    assert "disk full" in artwork["log_tail"]
    assert {"started_at", "finished_at", "duration_s", "progress"} <= set(artwork)
    assert body["status"] == "failed" and body["error"] == "Artwork failed: No space left on device"
    assert body["created_by"] == "otto" and body["can_retry"] is True and body["can_cancel"] is False
    assert body["video"] == run.video.pk


def test_unknown_run_is_404_envelope(api_as, operator):
    assert_error(api_as(operator).get(f"{API}/runs/999999/"), 404, "NOT_FOUND")
    assert_error(api_as(operator).post(f"{API}/runs/999999/cancel/"), 404, "NOT_FOUND")


def test_run_list_filters(api_as, operator, other_operator, make_run):
    failed = make_run(operator, RunStatus.FAILED)
    queued = make_run(other_operator, preset="sleep")
    old = make_run(operator, RunStatus.SUCCEEDED, created_at=timezone.now() - timedelta(days=10))
    client = api_as(operator)

    def ids(query):
        response = client.get(f"{API}/runs/{query}")
        assert response.status_code == 200, response.content
        return [run["id"] for run in response.json()["results"]]

    assert ids("") == [queued.pk, failed.pk, old.pk]
    assert ids("?status=failed") == [failed.pk]
    assert ids("?preset=sleep") == [queued.pk]
    day = (timezone.localdate() - timedelta(days=5)).isoformat()
    assert ids(f"?created_before={day}") == [old.pk]
    assert ids(f"?created_after={day}") == [queued.pk, failed.pk]
    assert_error(client.get(f"{API}/runs/?status=exploded"), 400, "VALIDATION_ERROR")


def test_video_shows_metadata_files_and_youtube_state(api_as, viewer, operator, finished_run):
    video = mark_uploaded(finished_run(operator, duration_s=61.5).video)
    body = api_as(viewer).get(f"{API}/videos/{video.pk}/").json()
    assert body["title"] == "Rainy study session" and body["tags"] == ["lofi", "study"]
    assert body["duration_s"] == 61.5 and body["size_bytes"] == 10240 and body["run"] == video.run_id
    assert body["upload_status"] == "uploaded" and body["youtube_url"] == "https://youtu.be/abc123"
    assert set(body["media"]) == {"audio", "cover", "video", "thumbnail"}
    for kind, url in body["media"].items():  # the API's seekable downloads (tests/pipeline/test_api_media.py)
        assert url == f"http://testserver/api/v1/pipeline/videos/{video.pk}/media/{kind}/"
    filtered = api_as(viewer).get(f"{API}/videos/?upload_status=uploaded").json()["results"]
    assert [item["id"] for item in filtered] == [video.pk]


def test_channel_secrets_never_in_api_responses(api_as, admin_user, operator, channel, finished_run):
    finished_run(operator)
    client = api_as(admin_user)
    for url in ("/runs/", "/videos/", "/schedules/", "/tracks/"):
        text = client.get(API + url).content.decode()
        assert channel.client_secret not in text and channel.refresh_token not in text


# --- creating runs --------------------------------------------------------------------------------
def test_create_run_returns_queued_run_with_stages(api_as, operator):
    response = api_as(operator).post(f"{API}/runs/", {**RUN_BODY, "seed": 42, "bpm": 80, "musical_key": "F#m",
                                                      "motion": True}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    run = Run.objects.get()
    assert body["id"] == run.pk and response["Location"].endswith(f"/api/v1/pipeline/runs/{run.pk}/")
    assert body["status"] == "queued" and body["seed"] == 42 and body["bpm"] == 80 and body["musical_key"] == "F#m"
    assert body["motion"] is True and body["created_by"] == "otto"
    assert [stage["status"] for stage in body["stages"]] == ["pending"] * 6


def test_create_run_queues_a_job(api_as, operator, django_capture_on_commit_callbacks):
    from monitoring.models import JobRun

    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(operator).post(f"{API}/runs/", RUN_BODY, format="json")
    assert response.status_code == 201
    job = JobRun.objects.get(name="pipeline.execute_stage")
    assert job.args == [response.json()["id"]] and job.status == "queued"


def test_create_run_multipart_with_intro(api_as, operator, clip_bytes):
    intro = SimpleUploadedFile("intro.mp4", clip_bytes, content_type="video/mp4")
    response = api_as(operator).post(f"{API}/runs/", {**RUN_BODY, "intro": intro}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["intro"] == "intro.mp4"
    assert Run.objects.get().intro.name.endswith("intro.mp4")


@pytest.mark.parametrize("body,field,fragment", [
    ({}, "preset", "required"),
    ({"preset": PRESET}, "duration_s", "required"),
    ({**RUN_BODY, "duration_s": "long"}, "duration_s", "valid integer"),
    ({**RUN_BODY, "duration_s": 10}, "duration_s", "greater than or equal to 30"),
    ({**RUN_BODY, "duration_s": 3 * 3600 + 1}, "duration_s", "less than or equal to 10800"),
    ({**RUN_BODY, "bpm": "fast"}, "bpm", "valid integer"),
    ({**RUN_BODY, "bpm": 200}, "bpm", "less than or equal to 110"),
    ({**RUN_BODY, "seed": -1}, "seed", "greater than or equal to 0"),
    ({**RUN_BODY, "motion": "sometimes"}, "motion", "valid boolean"),
    ({**RUN_BODY, "preset": "death-metal"}, "preset", "Unknown preset"),
    ({**RUN_BODY, "preset": "x" * 33}, "preset", "no more than 32 characters"),
    ({**RUN_BODY, "musical_key": "H#"}, "musical_key", "not a key"),
    ({**RUN_BODY, "musical_key": "C major"}, "musical_key", "no more than 4 characters"),
    ({**RUN_BODY, "privacy": "secret"}, "privacy", "not a valid choice"),
    ({**RUN_BODY, "publish_target": "youtube"}, "publish_target", "No YouTube channel is connected"),
    ({**RUN_BODY, "audio_source": "library"}, "audio_source", "track library is empty"),
    ({**RUN_BODY, "publish_at": "tomorrow-ish"}, "publish_at", "Datetime has wrong format"),
])
def test_create_run_validation(api_as, operator, body, field, fragment):
    response = api_as(operator).post(f"{API}/runs/", body, format="json")
    errors = field_errors(response)
    assert field in errors, errors
    assert any(fragment in message for message in errors[field]), errors
    assert not Run.objects.exists()


def test_publish_at_needs_private_and_future(api_as, operator, channel):
    client = api_as(operator)
    later = (timezone.now() + timedelta(days=1)).isoformat()
    errors = field_errors(client.post(f"{API}/runs/", {**RUN_BODY, "publish_target": "youtube",
                                                       "privacy": "public", "publish_at": later}, format="json"))
    assert "private" in errors["publish_at"][0]
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    errors = field_errors(client.post(f"{API}/runs/", {**RUN_BODY, "publish_target": "youtube",
                                                       "publish_at": past}, format="json"))
    assert "future" in errors["publish_at"][0]
    assert not Run.objects.exists()
    response = client.post(f"{API}/runs/", {**RUN_BODY, "publish_target": "youtube", "publish_at": later},
                           format="json")
    assert response.status_code == 201, response.content


def test_create_run_rejects_bad_clip_and_malformed_json(api_as, operator):
    client = api_as(operator)
    notes = SimpleUploadedFile("intro.txt", b"hello", content_type="text/plain")
    errors = field_errors(client.post(f"{API}/runs/", {**RUN_BODY, "intro": notes}, format="multipart"))
    assert "video clip" in errors["intro"][0]
    response = client.post(f"{API}/runs/", "{not json", content_type="application/json")
    assert_error(response, 400, "PARSE_ERROR")
    assert not Run.objects.exists()


# --- retry / cancel state rules -------------------------------------------------------------------
def test_cancel_queued_run_then_retry_it(api_as, operator, make_run):
    run = make_run(operator)
    client = api_as(operator)
    body = client.post(f"{API}/runs/{run.pk}/cancel/").json()
    assert body["status"] == "cancelled" and body["can_retry"] is True
    assert {stage["status"] for stage in body["stages"]} == {"cancelled"}
    body = client.post(f"{API}/runs/{run.pk}/retry/").json()
    assert body["status"] == "queued" and body["error"] == ""
    assert {stage["status"] for stage in body["stages"]} == {"pending"}


def test_cancel_running_run_requests_stop(api_as, operator, make_run):
    run = make_run(operator, RunStatus.RUNNING)
    body = api_as(operator).post(f"{API}/runs/{run.pk}/cancel/").json()
    assert body["status"] == "running" and body["cancel_requested"] is True and body["can_cancel"] is False


def test_retry_failed_run_resumes_from_failed_stage(api_as, admin_user, operator, make_run):
    run = make_run(operator, RunStatus.FAILED)
    body = api_as(admin_user).post(f"{API}/runs/{run.pk}/retry/").json()
    stages = {stage["name"]: stage for stage in body["stages"]}
    assert body["status"] == "queued"
    assert stages["compose"]["status"] == "succeeded"  # kept: the retry resumes after it
    assert stages["artwork"]["status"] == "pending" and stages["artwork"]["attempts"] == 0


@pytest.mark.parametrize("status,action,fragment", [
    (RunStatus.QUEUED, "retry", "Only failed or cancelled runs can be retried"),
    (RunStatus.RUNNING, "retry", "Only failed or cancelled runs can be retried"),
    (RunStatus.SUCCEEDED, "retry", "Only failed or cancelled runs can be retried"),
    (RunStatus.SUCCEEDED, "cancel", "nothing to cancel"),
    (RunStatus.FAILED, "cancel", "nothing to cancel"),
    (RunStatus.CANCELLED, "cancel", "nothing to cancel"),
])
def test_retry_and_cancel_refused_in_wrong_state(api_as, operator, make_run, status, action, fragment):
    run = make_run(operator, status)
    response = api_as(operator).post(f"{API}/runs/{run.pk}/{action}/")
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert fragment in body["error"]["message"]
    run_after = Run.objects.get(pk=run.pk)
    assert (run_after.status, run_after.cancel_requested) == (status, False)


# --- videos: metadata and publish -----------------------------------------------------------------
def test_edit_metadata_keeps_fields_left_out(api_as, operator, finished_run):
    video = finished_run(operator).video
    response = api_as(operator).patch(f"{API}/videos/{video.pk}/", {"tags": ["rain", " ", "night"]}, format="json")
    assert response.status_code == 200, response.content
    video.refresh_from_db()
    assert (video.title, video.tags, video.metadata_edited) == ("Rainy study session", ["rain", "night"], True)


@pytest.mark.parametrize("body,field", [
    ({"title": "x" * 101}, "title"),
    ({"title": "Beats <script>"}, "title"),
    ({"title": "y" * 1001}, "title"),
    ({"description": "é" * 2501}, "description"),  # 5002 bytes in UTF-8
    ({"tags": [f"lofi beats {i}" for i in range(60)]}, "tags"),  # over 500 characters in total
    ({"tags": "lofi, study"}, "tags"),
    ({"title": ["a", "list"]}, "title"),
    ({"tags": [{"a": 1}]}, "tags"),
])
def test_edit_metadata_validation(api_as, operator, finished_run, body, field):
    video = finished_run(operator).video
    errors = field_errors(api_as(operator).patch(f"{API}/videos/{video.pk}/", body, format="json"))
    assert field in errors, errors
    video.refresh_from_db()
    assert video.title == "Rainy study session" and not video.metadata_edited


def test_edit_metadata_after_upload_is_refused(api_as, operator, finished_run):
    video = mark_uploaded(finished_run(operator).video)
    body = assert_error(api_as(operator).patch(f"{API}/videos/{video.pk}/", {"title": "New"}, format="json"),
                        400, "VALIDATION_ERROR")
    assert "already on YouTube" in body["error"]["message"]


def test_publish_requeues_only_the_publish_stage(api_as, operator, channel, finished_run):
    video = finished_run(operator).video
    later = (timezone.now() + timedelta(days=2)).isoformat()
    response = api_as(operator).post(f"{API}/videos/{video.pk}/publish/", {"publish_at": later}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["publish_target"] == "youtube" and body["privacy"] == "private"
    stages = {stage["name"]: stage["status"] for stage in body["stages"]}
    assert stages.pop("publish") == "pending" and set(stages.values()) == {"succeeded"}


def test_publish_validation(api_as, operator, request, make_run, finished_run):
    video = finished_run(operator).video
    client = api_as(operator)
    errors = field_errors(client.post(f"{API}/videos/{video.pk}/publish/", {}, format="json"))
    assert "No YouTube channel is connected" in errors["publish_target"][0]
    request.getfixturevalue("channel")  # connect it now
    later = (timezone.now() + timedelta(days=1)).isoformat()
    errors = field_errors(client.post(f"{API}/videos/{video.pk}/publish/", {"privacy": "public", "publish_at": later},
                                      format="json"))
    assert "private" in errors["publish_at"][0]
    errors = field_errors(client.post(f"{API}/videos/{video.pk}/publish/", {"privacy": "everyone"}, format="json"))
    assert "privacy" in errors
    unrendered = make_run(operator, RunStatus.SUCCEEDED).video
    body = assert_error(client.post(f"{API}/videos/{unrendered.pk}/publish/", {}, format="json"), 400,
                        "VALIDATION_ERROR")
    assert "not been rendered" in body["error"]["message"]
    mark_uploaded(video)
    body = assert_error(client.post(f"{API}/videos/{video.pk}/publish/", {}, format="json"), 400, "VALIDATION_ERROR")
    assert "already on YouTube" in body["error"]["message"]
    assert Run.objects.get(pk=video.run_id).status == "succeeded"


# --- schedules and tracks -------------------------------------------------------------------------
def test_schedule_create_computes_next_run(api_as, operator):
    response = api_as(operator).post(f"{API}/schedules/", {**SCHEDULE_BODY, "next_run_at": "2000-01-01T00:00:00Z"},
                                     format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    schedule = Schedule.objects.get()
    assert body["created_by"] == "otto" and schedule.created_by.username == "otto"
    next_run = datetime.fromisoformat(body["next_run_at"])
    assert next_run > timezone.now()  # read-only: the posted value was ignored
    local = next_run.astimezone(ZoneInfo("Europe/Paris"))
    assert (local.hour, local.minute) == (18, 0)
    response = api_as(operator).patch(f"{API}/schedules/{schedule.pk}/", {"enabled": False}, format="json")
    assert response.json()["next_run_at"] is None


@pytest.mark.parametrize("body,field", [
    ({**SCHEDULE_BODY, "cron": "every evening"}, "cron"),
    ({**SCHEDULE_BODY, "cron": "0 18 * * * *"}, "cron"),
    ({**SCHEDULE_BODY, "timezone": "Mars/Olympus"}, "timezone"),
    ({**SCHEDULE_BODY, "preset": "polka"}, "preset"),
    ({**SCHEDULE_BODY, "duration_s": 5}, "duration_s"),
    ({**SCHEDULE_BODY, "name": "n" * 101}, "name"),
    ({k: v for k, v in SCHEDULE_BODY.items() if k != "cron"}, "cron"),
])
def test_schedule_validation(api_as, operator, body, field):
    errors = field_errors(api_as(operator).post(f"{API}/schedules/", body, format="json"))
    assert field in errors, errors
    assert not Schedule.objects.exists()


def test_track_upload_and_delete(api_as, operator):
    client = api_as(operator)
    response = client.post(f"{API}/tracks/", _track_upload(), format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    track = Track.objects.get()
    assert body["title"] == "Night" and body["uploaded_by"] == "otto" and body["duration_s"] == pytest.approx(1, 0.1)
    path = track.file.path
    assert os.path.exists(path)
    assert client.delete(f"{API}/tracks/{track.pk}/").status_code == 204
    assert not Track.objects.exists() and not os.path.exists(path)


@pytest.mark.parametrize("upload,fragment", [
    (None, "No file was submitted"),
    (("notes.txt", b"hello"), "Upload an audio file"),
    (("broken.mp3", b"ID3 this is not audio at all" * 10), "not a playable audio file"),
])
def test_track_upload_validation(api_as, operator, upload, fragment):
    data = {"title": "x"}
    if upload:
        data["file"] = SimpleUploadedFile(upload[0], upload[1])
    errors = field_errors(api_as(operator).post(f"{API}/tracks/", data, format="multipart"))
    assert any(fragment in message for message in errors["file"]), errors
    assert not Track.objects.exists()


# --- schema ---------------------------------------------------------------------------------------
def test_schema_lists_pipeline_endpoints(api_as, viewer):
    response = api_as(viewer).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    for path, methods in {
        "/api/v1/pipeline/runs/": {"get", "post"},
        "/api/v1/pipeline/runs/{id}/": {"get"},
        "/api/v1/pipeline/runs/{id}/retry/": {"post"},
        "/api/v1/pipeline/runs/{id}/cancel/": {"post"},
        "/api/v1/pipeline/videos/": {"get"},
        "/api/v1/pipeline/videos/{id}/": {"get", "patch"},
        "/api/v1/pipeline/videos/{id}/publish/": {"post"},
        "/api/v1/pipeline/schedules/": {"get", "post"},
        "/api/v1/pipeline/schedules/{id}/": {"get", "put", "patch", "delete"},
        "/api/v1/pipeline/tracks/": {"get", "post"},
        "/api/v1/pipeline/tracks/{id}/": {"get", "delete"},
    }.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
    run_filters = {param["name"] for param in paths["/api/v1/pipeline/runs/"]["get"]["parameters"]}
    assert {"status", "preset", "created_after", "created_before"} <= run_filters
    assert "multipart/form-data" in paths["/api/v1/pipeline/tracks/"]["post"]["requestBody"]["content"]
