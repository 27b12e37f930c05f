"""API clients download what they made (issue 7 item 3): the media links of the API answer
the bearer token (JWT or personal API token) with the file, seekable with Range (206),
typed, named, and with the error envelope for a missing file (404) or a range outside it (416).

Before, `media` pointed at the pages' view, which answers a JWT with a 302 to the login page."""

import json
import re
from pathlib import Path

import pytest
from django.conf import settings

from pipeline.choices import RunStatus
from tests.api_helpers import assert_error
from tests.helpers import API_PERSONAS
from tests.pipeline.conftest import AUDIO_BYTES, VIDEO_BYTES

# The JWT / personal-token clients of tests/accounts (fixtures).
API = "/api/v1/pipeline"
TYPES = {"audio": "audio/mp4", "video": "video/mp4", "cover": "image/png", "thumbnail": "image/jpeg"}


def media_url(video, kind):
    return f"{API}/videos/{video.pk}/media/{kind}/"


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def video(operator, finished_run):
    return finished_run(operator).video


def test_video_media_links_are_api_links_that_a_jwt_can_fetch(api_as, viewer, video):
    client = api_as(viewer)
    body = client.get(f"{API}/videos/{video.pk}/").json()
    assert body["media"] == {kind: f"http://testserver{media_url(video, kind)}" for kind in TYPES}
    response = client.get(body["media"]["video"])
    assert response.status_code == 200, response.content[:300]
    assert body_of(response) == VIDEO_BYTES


def test_the_pages_media_view_does_not_take_a_bearer_token(api_as, viewer, video):
    """Why the API has its own media routes: the pages sign in with the session cookie."""
    response = api_as(viewer).get(f"/pipeline/media/{video.run_id}/video/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("kind", list(TYPES))
def test_each_file_is_sent_whole_typed_and_named(api_with, viewer, video, kind):
    response = api_with(viewer).get(media_url(video, kind))
    assert response.status_code == 200
    assert response["Content-Type"] == TYPES[kind]
    stored = (Path(settings.MEDIA_ROOT) / getattr(video, kind).name).read_bytes()
    assert body_of(response) == stored
    suffix = Path(getattr(video, kind).name).suffix
    assert response["Content-Disposition"] == (
        f'attachment; filename="run-{video.run_id}-rainy-study-session-{kind}{suffix}"')
    assert response["Accept-Ranges"] == "bytes" and response["ETag"]


def test_the_file_name_is_safe_whatever_the_title(api_as, operator, finished_run):
    video = finished_run(operator, title='../../etc/passwd "Nächte" <b>\r\nX-Evil: 1').video
    disposition = api_as(operator).get(media_url(video, "video"))["Content-Disposition"]
    assert disposition == f'attachment; filename="run-{video.run_id}-etcpasswd-nachte-b-x-evil-1-video.mp4"'


@pytest.mark.parametrize("header,first,last", [
    ("bytes=100-199", 100, 199),
    ("bytes=10000-", 10000, len(VIDEO_BYTES) - 1),
    ("bytes=-16", len(VIDEO_BYTES) - 16, len(VIDEO_BYTES) - 1),
    ("bytes=10200-99999", 10200, len(VIDEO_BYTES) - 1),
])
def test_a_range_answers_206_with_exactly_those_bytes(api_with, operator, video, header, first, last):
    response = api_with(operator).get(media_url(video, "video"), HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(VIDEO_BYTES)}"
    assert response["Content-Type"] == "video/mp4"
    assert body_of(response) == VIDEO_BYTES[first:last + 1]
    assert int(response["Content-Length"]) == last - first + 1


def test_a_range_outside_the_file_is_the_416_envelope(api_as, operator, video):
    response = api_as(operator).get(media_url(video, "video"), HTTP_RANGE=f"bytes={len(VIDEO_BYTES)}-")
    body = assert_error(response, 416, "RANGE_NOT_SATISFIABLE")
    assert body["error"]["details"] == {"size": len(VIDEO_BYTES)}
    assert response["Content-Range"] == f"bytes */{len(VIDEO_BYTES)}"


def test_a_malformed_or_stale_range_sends_the_whole_file(api_as, operator, video):
    client = api_as(operator)
    assert body_of(client.get(media_url(video, "video"), HTTP_RANGE="bytes=5-2,7-9")) == VIDEO_BYTES
    stale = client.get(media_url(video, "video"), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"not-this-file"')
    assert stale.status_code == 200 and body_of(stale) == VIDEO_BYTES


def test_an_unchanged_file_is_not_sent_again(api_as, operator, video):
    client = api_as(operator)
    etag = client.get(media_url(video, "video"))["ETag"]
    assert client.get(media_url(video, "video"), HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_the_accept_header_does_not_refuse_a_file(api_as, operator, video):
    response = api_as(operator).get(media_url(video, "video"), HTTP_ACCEPT="video/mp4")
    assert response.status_code == 200 and body_of(response) == VIDEO_BYTES
    # ...and an error is still the JSON envelope
    assert_error(api_as(operator).get(f"{API}/videos/999999/media/video/", HTTP_ACCEPT="video/mp4"),
                 404, "NOT_FOUND")


def test_a_file_not_made_yet_or_gone_is_the_404_envelope(api_as, operator, make_run, video):
    client = api_as(operator)
    queued = make_run(operator).video
    body = assert_error(client.get(media_url(queued, "video")), 404, "NOT_FOUND")
    assert "not been made yet" in body["error"]["message"]
    (Path(settings.MEDIA_ROOT) / video.video.name).unlink()
    assert_error(client.get(media_url(video, "video")), 404, "NOT_FOUND")


def test_unknown_kind_or_video_is_the_404_envelope(api_as, operator, video):
    client = api_as(operator)
    assert_error(client.get(f"{API}/videos/{video.pk}/media/secrets/"), 404, "NOT_FOUND")
    assert_error(client.get(f"{API}/videos/{video.pk + 1000}/media/video/"), 404, "NOT_FOUND")


@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_media_role_matrix(api_for, api_with, personas, video, make_track, persona):
    """Every role sees every run (as on the pages), so every role may download its files."""
    expected = 401 if persona == "anonymous" else 200
    client = api_for(persona, using=api_with)
    track = make_track(personas["operator"])
    for url in (media_url(video, "video"), f"{API}/tracks/{track.pk}/audio/"):
        response = client.get(url)
        assert response.status_code == expected, (url, response.content[:200])
        if expected == 401:
            assert_error(response, 401, "NOT_AUTHENTICATED")


def test_a_read_only_personal_token_downloads(token_as, viewer, video):
    client = token_as(viewer, write=False)
    response = client.get(media_url(video, "video"), HTTP_RANGE="bytes=0-3")
    assert response.status_code == 206 and body_of(response) == VIDEO_BYTES[:4]


def test_track_audio_link_and_range(api_with, viewer, operator, make_track):
    track = make_track(operator)
    client = api_with(viewer)
    link = client.get(f"{API}/tracks/{track.pk}/").json()["audio"]
    assert link == f"http://testserver{API}/tracks/{track.pk}/audio/"
    whole = client.get(link)
    assert whole.status_code == 200 and whole["Content-Type"] == "audio/mp4"
    assert whole["Content-Disposition"] == f'attachment; filename="track-{track.pk}-rain-on-the-window.m4a"'
    part = client.get(link, HTTP_RANGE="bytes=4-8")
    assert part.status_code == 206 and body_of(part) == AUDIO_BYTES[4:9]


def test_head_gives_the_size_without_the_body(api_as, operator, video):
    response = api_as(operator).head(media_url(video, "video"))
    assert response.status_code == 200 and int(response["Content-Length"]) == len(VIDEO_BYTES)


def test_schema_documents_the_downloads(api_as, viewer):
    paths = json.loads(api_as(viewer).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)[
        "paths"]
    media = paths["/api/v1/pipeline/videos/{id}/media/{kind}/"]["get"]
    kind = next(p for p in media["parameters"] if p["name"] == "kind")
    assert set(kind["schema"]["enum"]) == set(TYPES)
    assert {p["name"] for p in media["parameters"] if p["in"] == "header"} == {"Range", "If-Range"}
    for code in ("200", "206"):
        content = media["responses"][code]["content"]
        assert set(content) == set(TYPES.values())
        assert all(entry["schema"] == {"type": "string", "format": "binary"} for entry in content.values())
    for code in ("404", "416"):
        assert media["responses"][code]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorEnvelope")
    track = paths["/api/v1/pipeline/tracks/{id}/audio/"]["get"]["responses"]
    assert {"audio/mpeg", "audio/wav", "audio/flac", "audio/mp4"} <= set(track["206"]["content"])


# --- the README's walk-through, with the real worker -----------------------------------------------
def test_readme_flow_create_poll_download(api_as, operator, django_capture_on_commit_callbacks):
    """README "Make a video and download it": start a run, poll it until it succeeds (the real
    django-tasks-db worker runs each stage in-process), then download the MP4 whole and a range."""
    from tests.monitoring.worker import run_worker

    client = api_as(operator)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(f"{API}/runs/", {"preset": "study", "duration_s": 30, "seed": 7}, format="json")
    assert created.status_code == 201, created.content
    run_url = created["Location"]
    for _ in range(20):  # six stages; each poll lets the worker take the next one
        run = client.get(run_url).json()
        if run["status"] in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED):
            break
        with django_capture_on_commit_callbacks(execute=True):
            run_worker()
    assert run["status"] == RunStatus.SUCCEEDED, run["error"]
    video = client.get(f"{API}/videos/{run['video']}/").json()
    download = client.get(video["media"]["video"])
    assert download.status_code == 200 and download["Content-Type"] == "video/mp4"
    mp4 = body_of(download)
    assert mp4[4:8] == b"ftyp" and len(mp4) == video["size_bytes"]
    name = re.search(r'filename="([^"]+)"', download["Content-Disposition"]).group(1)
    assert name.startswith(f"run-{run['id']}-") and name.endswith("-video.mp4")
    part = client.get(video["media"]["video"], HTTP_RANGE="bytes=0-1023")
    assert part.status_code == 206 and body_of(part) == mp4[:1024]


def test_readme_download_steps_name_real_endpoints(api_as, operator, video):
    """The README's shell block ("Make a video and download it") calls addresses that exist and
    read the fields it names (`id`, `status`, `video`); its run was checked by hand against gunicorn
    and db_worker, and the flow is the test above."""
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    block = readme.split("### Make a video and download it", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    client = api_as(operator)
    paths = set(re.findall(r"\$API(/[\w/$.-]*)", block))
    assert {"/pipeline/runs/", "/pipeline/runs/$RUN/", "/pipeline/videos/$VIDEO/media/video/"} <= paths
    for path in paths:
        url = "/api/v1" + path.replace("$RUN", str(video.run_id)).replace("$VIDEO", str(video.pk))
        if path == "/pipeline/runs/":
            response = client.post(url, {"preset": "study", "duration_s": 120}, format="json")
        else:
            response = client.get(url, HTTP_RANGE="bytes=0-1048575")
        assert response.status_code in (200, 201, 206), (url, response.status_code)
    run = client.get(f"/api/v1/pipeline/runs/{video.run_id}/").json()
    assert {"id", "status", "video"} <= set(run) and run["video"] == video.pk
