"""Bad input to the API answers a 4xx envelope, never a 500: pagination numbers, oversize and
overfull bodies, JSON nested too deeply."""

import json

import pytest
from django.test import Client

from tests.api_helpers import assert_error, field_errors

pytestmark = pytest.mark.django_db

LIST_URLS = [
    "/api/v1/users/",
    "/api/v1/auth/sign-ins/",
    "/api/v1/legal/acceptances/",
    "/api/v1/events/",
    "/api/v1/ai/usage/",
    "/api/v1/pipeline/runs/",
    "/api/v1/pipeline/videos/",
    "/api/v1/pipeline/schedules/",
    "/api/v1/pipeline/tracks/",
]
HUGE = "99999999999999999999999"


# --- limit / offset ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", LIST_URLS)
def test_a_huge_limit_is_clamped_not_a_500(api_as, admin_user, url):
    # Before: SQLite raised "IntegrityError: datatype mismatch" on LIMIT 99999999999999999999999.
    client = api_as(admin_user)
    client.raise_request_exception = False
    response = client.get(url, {"limit": HUGE})
    assert response.status_code == 200, response.content[:300]
    assert isinstance(response.json()["results"], list)


def test_limit_above_the_maximum_page_size_is_clamped(api_as, admin_user, settings):
    settings.API_MAX_PAGE_SIZE = 2
    client = api_as(admin_user)  # the admin has accepted 4 legal documents
    body = client.get("/api/v1/legal/acceptances/", {"limit": 3}).json()
    assert body["count"] == 4
    assert len(body["results"]) == 2
    assert "limit=2" in body["next"] and "offset=2" in body["next"]
    assert len(client.get("/api/v1/legal/acceptances/").json()["results"]) == 2  # the default too


def test_a_huge_offset_is_an_empty_page(api_as, admin_user):
    body = api_as(admin_user).get("/api/v1/legal/acceptances/", {"offset": HUGE}).json()
    assert body["count"] == 4 and body["results"] == []


@pytest.mark.parametrize("name, value", [
    ("offset", "null"), ("offset", "-1"), ("offset", ""), ("offset", "1.5"), ("offset", "١٢"),
    ("limit", "0"), ("limit", "-3"), ("limit", "ten"), ("limit", ""),
])
def test_a_limit_or_offset_that_is_not_a_whole_number_is_400(api_as, admin_user, name, value):
    # Before: silently replaced by the default (200), although the schema says integer.
    response = api_as(admin_user).get("/api/v1/legal/acceptances/", {name: value})
    assert list(field_errors(response)) == [name]


# --- bodies the API refuses before it reads them ---------------------------------------------------------


def test_a_body_over_the_limit_is_413(api_as, admin_user, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = api_as(admin_user)
    client.raise_request_exception = False
    body = json.dumps({"name": "x" * 2000, "cron": "0 18 * * *", "preset": "study", "duration_s": 30})
    response = client.post("/api/v1/pipeline/schedules/", body, content_type="application/json")
    assert_error(response, 413, "REQUEST_TOO_LARGE")


def test_too_many_form_fields_is_400(api_as, admin_user):
    client = api_as(admin_user)
    client.raise_request_exception = False
    fields = {f"field{i}": "x" for i in range(1200)}
    response = client.post("/api/v1/pipeline/runs/", fields, format="multipart")
    assert_error(response, 400, "TOO_MANY_FIELDS")


def test_too_many_files_is_400(api_as, admin_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = api_as(admin_user)
    client.raise_request_exception = False
    files = {f"file{i}": SimpleUploadedFile(f"t{i}.mp3", b"ID3") for i in range(120)}
    response = client.post("/api/v1/pipeline/tracks/", files, format="multipart")
    assert_error(response, 400, "TOO_MANY_FILES")


def test_json_nested_too_deeply_is_400(api_as, admin_user):
    client = api_as(admin_user)
    client.raise_request_exception = False
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/v1/pipeline/schedules/", body, content_type="application/json")
    assert_error(response, 400, "PARSE_ERROR")


def test_html_pages_keep_their_own_400_for_too_many_fields(operator):
    client = Client(raise_request_exception=False)
    client.force_login(operator)
    response = client.post("/pipeline/tracks/", {f"f{i}": "x" for i in range(1200)})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


# --- the trailing slash -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_write_without_the_trailing_slash_is_a_404_that_names_the_address(api_as, admin_user, method):
    # Before: a 301 to the address with the slash, which clients follow as a GET: the body was lost.
    body = {"name": "Evening", "cron": "0 18 * * *", "timezone": "UTC", "preset": "study", "duration_s": 30}
    response = getattr(api_as(admin_user), method)("/api/v1/pipeline/schedules", body, format="json")
    body = assert_error(response, 404, "NOT_FOUND")
    assert body["error"]["message"].endswith("/api/v1/pipeline/schedules/")


def test_a_read_without_the_trailing_slash_still_redirects(api_as, admin_user):
    response = api_as(admin_user).get("/api/v1/users")
    assert response.status_code == 301 and response["Location"] == "/api/v1/users/"
