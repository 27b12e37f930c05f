"""The pipeline API's new actions (issue 7 items 17, 18, 20): delete a run or a video with its
files (409 while it is active), storage used, regenerate or upload a thumbnail, upload cover
art, run a schedule now, and the schedule's plain-language cron and next fire times."""

import io
import json
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from pipeline import services
from pipeline.choices import RunStatus, StageName, StageStatus, UploadStatus
from pipeline.models import Run, Schedule, Stage, Video
from tests.api_helpers import assert_error, assert_matrix_answer, field_errors
from tests.helpers import API_PERSONAS, PERSONAS

# The JWT / personal-token clients of tests/accounts (fixtures).
API = "/api/v1/pipeline"


def image(size=(1280, 720), fmt="PNG", name="art.png", colour=(30, 140, 90)):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/octet-stream")


@pytest.fixture
def world(personas, operator, finished_run):
    """A finished run with files (its video too) and a schedule, both owned by `operator`."""
    run = finished_run(operator)
    return SimpleNamespace(
        run=run, video=run.video,
        schedule=services.save_schedule(operator, Schedule(name="Daily", cron="0 18 * * *", preset="study",
                                                           duration_s=60)),
    )


def snapshot():
    return (
        list(Run.objects.order_by("pk").values_list("pk", "status", "created_by")),
        list(Stage.objects.order_by("pk").values_list("pk", "status")),
        list(Video.objects.order_by("pk").values_list("pk", "thumbnail", "cover")),
        list(Schedule.objects.order_by("pk").values_list("pk", "next_run_at")),
    )


def media_files():
    root = Path(settings.MEDIA_ROOT)
    return {str(path.relative_to(root)): path.stat().st_mtime_ns for path in root.rglob("*") if path.is_file()}


# (name, method, url, body, format, expected for anonymous, viewer, operator, other_operator, admin)
MATRIX = [
    ("run-delete", "delete", "/runs/{run}/", None, None, (401, 403, 204, 403, 204)),
    ("video-delete", "delete", "/videos/{video}/", None, None, (401, 403, 204, 403, 204)),
    ("storage", "get", "/storage/", None, None, (401, 200, 200, 200, 200)),
    ("thumbnail-regenerate", "post", "/videos/{video}/thumbnail/regenerate/", None, None,
     (401, 403, 200, 403, 200)),
    ("thumbnail-put", "put", "/videos/{video}/thumbnail/", lambda: {"thumbnail": image()}, "multipart",
     (401, 403, 200, 403, 200)),
    ("thumbnail-post", "post", "/videos/{video}/thumbnail/", lambda: {"thumbnail": image()}, "multipart",
     (401, 403, 200, 403, 200)),
    ("cover-post", "post", "/videos/{video}/cover/", lambda: {"cover": image()}, "multipart",
     (401, 403, 202, 403, 202)),
    ("cover-put", "put", "/videos/{video}/cover/", lambda: {"cover": image()}, "multipart",
     (401, 403, 202, 403, 202)),
    ("schedule-run-now", "post", "/schedules/{schedule}/run-now/", None, None, (401, 403, 201, 403, 201)),
]


@pytest.mark.parametrize("name,method,url,body,fmt,expected", MATRIX, ids=[case[0] for case in MATRIX])
@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_role_matrix(api_for, api_with, world, persona, name, method, url, body, fmt, expected,
                     django_capture_on_commit_callbacks):
    client = api_for(persona, using=api_with)
    url = API + url.format(run=world.run.pk, video=world.video.pk, schedule=world.schedule.pk)
    before, files = snapshot(), media_files()
    with django_capture_on_commit_callbacks(execute=True):
        response = getattr(client, method)(url, body() if body else None, **({"format": fmt} if fmt else {}))
    want = expected[PERSONAS.index(persona)]
    assert_matrix_answer(response, want, (persona, name))
    if want >= 400:
        assert snapshot() == before and media_files() == files, "a refused request changed something"
    elif method != "get":
        assert (snapshot(), media_files()) != (before, files), "an accepted write changed nothing"


@pytest.mark.parametrize("write,expected", [(True, 204), (False, 403)])
def test_personal_tokens_delete_only_when_they_may_write(token_as, operator, finished_run, write, expected):
    run = finished_run(operator)
    response = token_as(operator, write=write).delete(f"{API}/runs/{run.pk}/")
    assert response.status_code == expected
    assert Run.objects.filter(pk=run.pk).exists() == (expected != 204)


# --- deleting (item 18) ------------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["runs", "videos"])
def test_delete_removes_the_run_its_video_and_its_files(api_with, operator, finished_run, target,
                                                        django_capture_on_commit_callbacks):
    run = finished_run(operator)
    keep = finished_run(operator)
    folder = Path(settings.MEDIA_ROOT) / "runs" / str(run.pk)
    assert folder.is_dir()
    client = api_with(operator)
    used = client.get(f"{API}/storage/").json()["runs"]
    pk = run.pk if target == "runs" else run.video.pk
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"{API}/{target}/{pk}/")
    assert response.status_code == 204 and response.content == b""
    assert not Run.objects.filter(pk=run.pk).exists() and not Video.objects.filter(run_id=run.pk).exists()
    assert not folder.exists() and (Path(settings.MEDIA_ROOT) / "runs" / str(keep.pk)).is_dir()
    assert client.get(f"{API}/storage/").json()["runs"] < used
    assert_error(client.get(f"{API}/runs/{run.pk}/"), 404, "NOT_FOUND")


@pytest.mark.parametrize("status", [RunStatus.QUEUED, RunStatus.RUNNING])
@pytest.mark.parametrize("target", ["runs", "videos"])
def test_an_active_run_is_not_deleted_409(api_as, operator, make_run, status, target):
    run = make_run(operator, status)
    before = snapshot()
    pk = run.pk if target == "runs" else run.video.pk
    body = assert_error(api_as(operator).delete(f"{API}/{target}/{pk}/"), 409, "CONFLICT")
    assert "cancel it first" in body["error"]["message"]
    assert snapshot() == before


def test_a_video_being_uploaded_is_not_deleted_409(api_as, operator, finished_run):
    run = finished_run(operator, upload_status=UploadStatus.UPLOADING)
    body = assert_error(api_as(operator).delete(f"{API}/videos/{run.video.pk}/"), 409, "CONFLICT")
    assert "being uploaded" in body["error"]["message"]
    assert Run.objects.filter(pk=run.pk).exists()
    assert (Path(settings.MEDIA_ROOT) / run.video.video.name).is_file()


def test_a_cancelled_run_can_be_deleted(api_as, operator, make_run):
    run = make_run(operator)
    client = api_as(operator)
    assert_error(client.delete(f"{API}/runs/{run.pk}/"), 409, "CONFLICT")
    assert client.post(f"{API}/runs/{run.pk}/cancel/").status_code == 200
    assert client.delete(f"{API}/runs/{run.pk}/").status_code == 204


def test_storage_reports_bytes_by_kind(api_as, viewer, operator, finished_run, make_track):
    finished_run(operator)
    make_track(operator)
    body = api_as(viewer).get(f"{API}/storage/").json()
    assert body == services.storage_used()
    root = Path(settings.MEDIA_ROOT)
    assert body["runs"] == sum(p.stat().st_size for p in (root / "runs").rglob("*") if p.is_file()) > 0
    assert body["tracks"] == sum(p.stat().st_size for p in (root / "tracks").rglob("*") if p.is_file()) > 0
    assert body["clips"] == 0 and body["total"] == body["runs"] + body["tracks"]


# --- artwork (item 17) -------------------------------------------------------------------------------
def thumbnail_bytes(video):
    video.refresh_from_db()
    return (Path(settings.MEDIA_ROOT) / video.thumbnail.name).read_bytes()


def test_regenerate_draws_the_thumbnail_with_the_new_title(api_as, operator, finished_run):
    video = finished_run(operator).video
    client = api_as(operator)
    before = thumbnail_bytes(video)
    assert client.patch(f"{API}/videos/{video.pk}/", {"title": "A brand new title"}, format="json").status_code == 200
    response = client.post(f"{API}/videos/{video.pk}/thumbnail/regenerate/")
    assert response.status_code == 200 and response.json()["title"] == "A brand new title"
    after = thumbnail_bytes(video)
    assert after != before
    with Image.open(io.BytesIO(after)) as drawn:
        assert drawn.format == "JPEG" and drawn.size == (1280, 720)
    assert response.json()["media"]["thumbnail"].endswith(f"/videos/{video.pk}/media/thumbnail/")


def test_regenerate_without_a_cover_is_a_400(api_as, operator, finished_run):
    video = finished_run(operator, cover="").video
    body = assert_error(api_as(operator).post(f"{API}/videos/{video.pk}/thumbnail/regenerate/"), 400,
                        "VALIDATION_ERROR")
    assert "no cover art" in body["error"]["message"]


def test_own_thumbnail_is_fitted_and_served(api_as, operator, finished_run):
    video = finished_run(operator).video
    client = api_as(operator)
    response = client.put(f"{API}/videos/{video.pk}/thumbnail/", {"thumbnail": image((1600, 900), "JPEG")},
                          format="multipart")
    assert response.status_code == 200
    served = b"".join(client.get(response.json()["media"]["thumbnail"]).streaming_content)
    with Image.open(io.BytesIO(served)) as fitted:
        assert fitted.format == "JPEG" and fitted.size == (1280, 720)
        assert fitted.getpixel((640, 360))[1] > 100  # the uploaded green, not the drawn one
    assert served == thumbnail_bytes(video)


def test_own_cover_renders_the_video_again(api_as, operator, finished_run, django_capture_on_commit_callbacks):
    run = finished_run(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(operator).post(f"{API}/videos/{run.video.pk}/cover/", {"cover": image()},
                                         format="multipart")
    assert response.status_code == 202
    body = response.json()
    assert body["id"] == run.pk and body["status"] == RunStatus.QUEUED
    stages = {stage["name"]: stage["status"] for stage in body["stages"]}
    assert stages[StageName.RENDER] == stages[StageName.THUMBNAIL] == StageStatus.PENDING
    assert stages[StageName.COMPOSE] == StageStatus.SUCCEEDED
    with Image.open(Path(settings.MEDIA_ROOT) / f"runs/{run.pk}/cover.png") as cover:
        assert cover.size == (1280, 720)


@pytest.mark.parametrize("endpoint,field", [("thumbnail", "thumbnail"), ("cover", "cover")])
@pytest.mark.parametrize("upload,fragment", [
    (lambda: SimpleUploadedFile("art.png", b"this is text, not an image"), "not a readable"),
    (lambda: image((320, 180)), "at least 640x360"),
    (lambda: image(fmt="GIF", name="art.gif"), "GIF images are not accepted"),
    (None, "No file was submitted"),
])
def test_bad_images_are_field_errors_and_change_nothing(api_as, operator, finished_run, endpoint, field, upload,
                                                        fragment):
    video = finished_run(operator).video
    before, files = snapshot(), media_files()
    data = {field: upload()} if upload else {}
    errors = field_errors(api_as(operator).post(f"{API}/videos/{video.pk}/{endpoint}/", data, format="multipart"))
    assert any(fragment in message for message in errors[field]), errors
    assert snapshot() == before and media_files() == files


def test_an_image_must_be_sent_as_multipart(api_as, operator, finished_run):
    video = finished_run(operator).video
    response = api_as(operator).post(f"{API}/videos/{video.pk}/thumbnail/", {"thumbnail": "x"}, format="json")
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_artwork_of_a_running_or_uploaded_video_is_refused(api_as, operator, make_run, finished_run):
    client = api_as(operator)
    running = make_run(operator, RunStatus.RUNNING).video
    body = assert_error(client.post(f"{API}/videos/{running.pk}/thumbnail/regenerate/"), 400, "VALIDATION_ERROR")
    assert "still running" in body["error"]["message"]
    uploaded = finished_run(operator, upload_status=UploadStatus.UPLOADED, youtube_id="abc").video
    body = assert_error(client.post(f"{API}/videos/{uploaded.pk}/cover/", {"cover": image()}, format="multipart"),
                        400, "VALIDATION_ERROR")
    assert "already on YouTube" in body["error"]["message"]


# --- schedules (item 20) -----------------------------------------------------------------------------
def test_run_now_starts_a_run_with_the_schedules_settings(api_as, admin_user, operator, world):
    schedule = world.schedule
    response = api_as(admin_user).post(f"{API}/schedules/{schedule.pk}/run-now/")
    assert response.status_code == 201
    body = response.json()
    assert response["Location"] == body["url"] == f"http://testserver{API}/runs/{body['id']}/"
    assert body["status"] == RunStatus.QUEUED and body["schedule"] == schedule.pk
    assert body["preset"] == "study" and body["duration_s"] == 60
    assert body["created_by"] == admin_user.username  # who pressed "run now", not the schedule's owner
    assert Schedule.objects.get(pk=schedule.pk).next_run_at == schedule.next_run_at


def test_run_now_on_an_unknown_schedule_is_404(api_as, operator):
    assert_error(api_as(operator).post(f"{API}/schedules/999/run-now/"), 404, "NOT_FOUND")


def test_schedule_shows_its_cron_in_words_and_next_fire_times(api_as, viewer, operator):
    schedule = services.save_schedule(operator, Schedule(name="Weekdays", cron="30 7 * * 1-5", preset="study",
                                                         duration_s=60, timezone="Europe/Paris"))
    body = api_as(viewer).get(f"{API}/schedules/{schedule.pk}/").json()
    assert body["description"] == "At 07:30, Monday through Friday"
    times = [datetime.fromisoformat(moment) for moment in body["next_fire_times"]]
    assert len(times) == 5 and times == sorted(set(times))
    for moment in times:
        assert (moment.hour, moment.minute, moment.second) == (7, 30, 0)
        assert moment.weekday() < 5
        assert moment.utcoffset().total_seconds() in (3600, 7200)  # Paris, winter or summer time
    listed = api_as(viewer).get(f"{API}/schedules/").json()["results"][0]
    assert listed["description"] == body["description"] and listed["next_fire_times"] == body["next_fire_times"]


def test_schedule_preview_is_read_only_and_follows_the_cron(api_as, operator, world):
    client = api_as(operator)
    url = f"{API}/schedules/{world.schedule.pk}/"
    response = client.patch(url, {"cron": "0 6 * * *", "description": "ignored", "next_fire_times": []},
                            format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["description"] == "At 06:00"
    assert len(body["next_fire_times"]) == 5
    assert all(datetime.fromisoformat(moment).hour == 6 for moment in body["next_fire_times"])


def test_schema_documents_the_new_actions(api_as, viewer):
    schema = json.loads(api_as(viewer).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    paths = schema["paths"]
    for path, methods in {
        "/api/v1/pipeline/runs/{id}/": {"get", "delete"},
        "/api/v1/pipeline/videos/{id}/": {"get", "patch", "delete"},
        "/api/v1/pipeline/storage/": {"get"},
        "/api/v1/pipeline/videos/{id}/thumbnail/regenerate/": {"post"},
        "/api/v1/pipeline/videos/{id}/thumbnail/": {"put", "post"},
        "/api/v1/pipeline/videos/{id}/cover/": {"put", "post"},
        "/api/v1/pipeline/schedules/{id}/run-now/": {"post"},
    }.items():
        assert methods <= set(paths[path]), (path, set(paths[path]))
    for path in ("/api/v1/pipeline/runs/{id}/", "/api/v1/pipeline/videos/{id}/"):
        responses = paths[path]["delete"]["responses"]
        assert "204" in responses and "content" not in responses["204"]
        assert responses["409"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorEnvelope")
    storage = paths["/api/v1/pipeline/storage/"]["get"]
    assert storage["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Storage")
    assert not storage.get("parameters")  # not a paged list
    assert set(schema["components"]["schemas"]["Storage"]["properties"]) == {"runs", "tracks", "clips", "total"}
    upload = paths["/api/v1/pipeline/videos/{id}/thumbnail/"]["put"]["requestBody"]["content"]
    assert set(upload) == {"multipart/form-data"}
    cover = paths["/api/v1/pipeline/videos/{id}/cover/"]["post"]["responses"]
    assert cover["202"]["content"]["application/json"]["schema"]["$ref"].endswith("/RunDetail")
    run_now = paths["/api/v1/pipeline/schedules/{id}/run-now/"]["post"]
    assert "requestBody" not in run_now and "201" in run_now["responses"]
    props = schema["components"]["schemas"]["Schedule"]["properties"]
    assert props["description"]["readOnly"] and props["description"]["type"] == "string"
    assert props["next_fire_times"]["readOnly"]
    assert props["next_fire_times"]["items"] == {"type": "string", "format": "date-time"}
