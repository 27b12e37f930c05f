"""Request bodies are refused from their size and the user's permission before they are read.

Through real servers: Django's live server (the test database) for declared sizes and
permissions, gunicorn for chunked bodies (the live server speaks no chunked encoding).
A request declares a large Content-Length and sends no body: if the server waited to read
it, no answer would come (the socket times out and the test fails); the answer must come
at once, and no upload temp file may be left.
"""

import http.client
import json
import socket
from urllib.parse import urlsplit

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import jwt_for
from tests.lofisite.gunicorn_server import gunicorn

MB = 1024 * 1024
NO_ANSWER_AFTER = 20  # seconds: a server still waiting for the body would never answer


def send(url, path, *, headers, body=b"", method="POST"):
    """Send the request head (and `body`, usually nothing) and read the answer without sending more."""
    where = urlsplit(url)
    sock = socket.create_connection((where.hostname, where.port), timeout=NO_ANSWER_AFTER)
    try:
        head = [f"{method} {path} HTTP/1.1", f"Host: {where.hostname}:{where.port}",
                *(f"{name}: {value}" for name, value in headers.items()), "", ""]
        sock.sendall("\r\n".join(head).encode() + body)
        response = http.client.HTTPResponse(sock, method=method)
        try:
            response.begin()
        except TimeoutError:
            raise AssertionError(f"no answer to {method} {path}: the server is waiting for the body") from None
        response.body = response.read()
        return response
    finally:
        sock.close()


CSRF_COOKIE = "csrftoken=" + "A" * 32  # anyone gets one from any form; with it, CSRF reads the form body


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}; {CSRF_COOKIE}"


def multipart_headers(length, **extra):
    return {"Content-Type": "multipart/form-data; boundary=xyz", "Content-Length": str(length),
            "Cookie": CSRF_COOKIE, **extra}


@pytest.fixture
def upload_tmp(settings, tmp_path):
    """Where Django would write an upload too large to keep in memory."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    return folder


def assert_friendly_413(response):
    assert response.status == 413, (response.status, response.body[:300])
    assert response.getheader("Content-Type").startswith("text/html")
    page = response.body.decode()
    assert "Too large" in page and "at most" in page and response.getheader("X-Request-ID") in page


def assert_envelope(response, status, code):
    assert response.status == status, (response.status, response.body[:300])
    body = json.loads(response.body)
    assert body["error"]["code"] == code and body["error"]["status"] == status, body
    assert body["request_id"] == response.getheader("X-Request-ID")
    return body


# --- a declared Content-Length over the limit ---------------------------------------------------------------
def test_a_600_mb_post_to_the_login_page_is_refused_before_its_body(live_server, upload_tmp):
    response = send(live_server.url, "/accounts/login/", headers=multipart_headers(600 * MB))
    assert_friendly_413(response)
    assert "10 MB" in response.body.decode()
    assert list(upload_tmp.iterdir()) == []


def test_anything_over_the_global_cap_is_refused_on_any_address(live_server, settings):
    settings.REQUEST_MAX_BODY_MB = 50
    settings.PIPELINE_TRACK_MAX_MB = 200
    response = send(live_server.url, "/no/such/page/", headers=multipart_headers(51 * MB))
    assert_friendly_413(response)
    assert "at most 50 MB" in response.body.decode()
    # The cap also bounds endpoints that declare more.
    assert "at most 50 MB" in send(live_server.url, "/pipeline/tracks/",
                                   headers=multipart_headers(120 * MB)).body.decode()


def test_an_operator_track_over_its_limit_is_refused_before_the_upload(live_server, transactional_db, operator,
                                                                        upload_tmp, settings):
    settings.PIPELINE_TRACK_MAX_MB = 200
    response = send(live_server.url, "/pipeline/tracks/",
                    headers=multipart_headers(250 * MB, Cookie=session_cookie(operator)))
    assert_friendly_413(response)
    assert "250 MB" in response.body.decode() and "205 MB" in response.body.decode()  # 200 MB + 5 MB of fields
    assert list(upload_tmp.iterdir()) == []


def test_a_body_within_the_limit_goes_on_to_be_read(live_server, transactional_db, operator):
    # The size and the role are fine, so the server reads the body (CSRF first): its 403, not a 413.
    response = send(live_server.url, "/pipeline/tracks/", body=b"x" * 10,
                    headers=multipart_headers(10, Cookie=session_cookie(operator)))
    assert response.status == 403 and "form expired" in response.body.decode()


def test_an_api_body_over_the_limit_is_the_413_envelope(live_server, transactional_db, operator, settings):
    settings.PIPELINE_TRACK_MAX_MB = 200
    token = jwt_for(APIClient(), operator)["access"]
    response = send(live_server.url, "/api/v1/pipeline/tracks/",
                    headers=multipart_headers(570 * MB, Authorization=f"Bearer {token}"))
    body = assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")
    assert body["error"]["details"] == {"limit_bytes": 205 * MB}
    assert "570 MB" in body["error"]["message"]


def test_a_run_with_two_clips_may_carry_both_of_them(live_server, transactional_db, operator, settings):
    settings.PIPELINE_CLIP_MAX_MB = 500
    cookie = session_cookie(operator)
    over = send(live_server.url, "/pipeline/runs/new/", headers=multipart_headers(1006 * MB, Cookie=cookie))
    assert over.status == 413 and "at most 1005 MB" in over.body.decode()
    # A body declared small but not sent in full: read (CSRF answers), not refused for its size.
    assert send(live_server.url, "/pipeline/runs/new/", body=b"x",
                headers=multipart_headers(1, Cookie=cookie)).status == 403


def test_a_bad_content_length_is_a_400(live_server):
    assert send(live_server.url, "/accounts/login/", headers={"Content-Length": "-5"}).status == 400


# --- permission before the body ----------------------------------------------------------------------------------
def test_a_viewer_upload_is_refused_before_its_body(live_server, transactional_db, viewer, upload_tmp):
    response = send(live_server.url, "/pipeline/tracks/",
                    headers=multipart_headers(100 * MB, Cookie=session_cookie(viewer)))
    assert response.status == 403 and "Not allowed" in response.body.decode()
    assert list(upload_tmp.iterdir()) == []


def test_a_signed_out_upload_is_sent_to_sign_in_before_its_body(live_server, transactional_db, upload_tmp):
    response = send(live_server.url, "/pipeline/tracks/", headers=multipart_headers(100 * MB))
    assert response.status == 302
    assert response.getheader("Location").startswith("/accounts/login/?next=/pipeline/tracks/")
    assert list(upload_tmp.iterdir()) == []


def test_a_viewer_run_with_clips_is_refused_before_its_body(live_server, transactional_db, viewer):
    response = send(live_server.url, "/pipeline/runs/new/",
                    headers=multipart_headers(300 * MB, Cookie=session_cookie(viewer)))
    assert response.status == 403


def test_api_uploads_are_refused_by_permission_before_their_body(live_server, transactional_db, viewer):
    token = jwt_for(APIClient(), viewer)["access"]
    response = send(live_server.url, "/api/v1/pipeline/tracks/",
                    headers=multipart_headers(100 * MB, Authorization=f"Bearer {token}"))
    assert_envelope(response, 403, "PERMISSION_DENIED")
    assert_envelope(send(live_server.url, "/api/v1/pipeline/tracks/", headers=multipart_headers(100 * MB)),
                    401, "NOT_AUTHENTICATED")
    # Signed in with a session (the browsable side of the API): refused by the same rule.
    response = send(live_server.url, "/api/v1/pipeline/tracks/",
                    headers=multipart_headers(100 * MB, Cookie=session_cookie(viewer)))
    assert_envelope(response, 403, "PERMISSION_DENIED")


# --- chunked bodies (no Content-Length), through gunicorn ----------------------------------------------------
def chunked(payload: bytes, piece=64 * 1024) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(payload[i:i + piece]), payload[i:i + piece])
             for i in range(0, len(payload), piece)]
    return b"".join(parts) + b"0\r\n\r\n"


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("chunked")
    with gunicorn(tmp_path, REQUEST_DEFAULT_BODY_MB="1", API_THROTTLE_AUTH="1000/min") as proc:
        yield proc


def test_a_chunked_body_over_the_limit_is_cut_with_a_413(web):
    response = send(web.url, "/api/v1/auth/token/", body=chunked(b"{" + b" " * (2 * MB) + b"}"),
                    headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    body = assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")
    assert body["error"]["details"] == {"limit_bytes": MB}


def test_a_chunked_body_within_the_limit_is_read_in_full(web):
    response = send(web.url, "/api/v1/auth/token/", body=chunked(json.dumps({"username": "someone"}).encode(), 4),
                    headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    body = assert_envelope(response, 400, "VALIDATION_ERROR")
    # The username arrived (only the password is missing): the chunked body was read, not dropped.
    assert set(body["error"]["details"]["fields"]) == {"password"}


def test_every_declared_upload_endpoint_names_a_real_address_setting_and_model(settings):
    from django.apps import apps
    from django.urls import NoReverseMatch, reverse

    def exists(name):
        try:
            return reverse(name)
        except NoReverseMatch:
            return reverse(name, kwargs={"pk": 1})  # an upload about one object (a run's artwork)

    for name, (setting_name, files, model_label) in settings.UPLOAD_ENDPOINTS.items():
        assert exists(name), name  # a renamed URL would silently fall back to the default limit
        assert getattr(settings, setting_name) > 0 and files >= 1
        assert hasattr(apps.get_model(model_label)._default_manager, "can_add")
