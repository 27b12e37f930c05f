"""Request ids, the API error envelope, friendly error pages, security headers, production settings, logs."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils.csp import CSP
from rest_framework.test import APIClient

from tests.api_helpers import assert_error, set_throttle_rates

pytestmark = pytest.mark.django_db

BASE_DIR = Path(settings.BASE_DIR)
boom_urls = pytest.mark.urls("tests.lofisite.boom_urls")
HEX_ID = re.compile(r"^[0-9a-f]{32}$")
SECRET_DETAIL = "boom-secret-detail-7f3a"  # the message of the errors raised in boom_urls


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


# --- X-Request-ID ---------------------------------------------------------------------------------------


def test_every_kind_of_response_carries_a_request_id(operator):
    responses = {
        "login page": Client().get("/accounts/login/"),
        "redirect": Client().get("/"),
        "page": signed_in(operator).get("/"),
        "404 page": Client().get("/no-such-page/"),
        "api 401": APIClient().get("/api/v1/auth/me/"),
        "api 404": APIClient().get("/api/v1/no-such-endpoint/"),
        "static file": Client().get("/static/css/app.css"),
    }
    ids = set()
    for name, response in responses.items():
        assert HEX_ID.match(response.get("X-Request-ID", "")), (name, response.status_code)
        ids.add(response["X-Request-ID"])
    assert len(ids) == len(responses)  # one id per request


@pytest.mark.parametrize("sent", ["client-req-0001", "3f2a9c1e-7b4d-4e8a-9f00-1234567890ab", "trace:abc.DEF_123"])
def test_a_sane_client_request_id_is_echoed(sent):
    response = Client().get("/accounts/login/", HTTP_X_REQUEST_ID=sent)
    assert response["X-Request-ID"] == sent
    api = APIClient().get("/api/v1/auth/me/", HTTP_X_REQUEST_ID=sent)
    assert api["X-Request-ID"] == sent
    assert api.json()["request_id"] == sent


@pytest.mark.parametrize("sent", ["x" * 65, "has space in it", "line\nInjected: yes", "short", "<script>1234",
                                  "id\r\nSet-Cookie: a=b", "caf\u00e9-12345678"])
def test_an_insane_client_request_id_is_replaced(sent):
    response = APIClient().get("/api/v1/auth/me/", HTTP_X_REQUEST_ID=sent)
    assert HEX_ID.match(response["X-Request-ID"])
    assert response.json()["request_id"] == response["X-Request-ID"]


# --- the API error envelope --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/no-such-endpoint/", "/api/nothing-here", "/api/v1/users/x/y/z/"])
def test_unknown_api_url_is_404_envelope(url):
    assert_error(APIClient().get(url), 404, "NOT_FOUND")


def test_unknown_object_is_404_envelope(api_as, admin_user):
    assert_error(api_as(admin_user).get("/api/v1/users/987654/"), 404, "NOT_FOUND")
    assert_error(api_as(admin_user).get("/api/v1/legal/acceptances/987654/"), 404, "NOT_FOUND")


def test_wrong_method_is_405_envelope(api_as, admin_user):
    response = APIClient().get("/api/v1/auth/token/")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in response["Allow"]
    assert_error(api_as(admin_user).delete("/api/v1/auth/me/"), 405, "METHOD_NOT_ALLOWED")


def test_anonymous_is_401_envelope():
    response = APIClient().get("/api/v1/users/")
    body = assert_error(response, 401, "NOT_AUTHENTICATED")
    assert "credentials" in body["error"]["message"].lower()
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_forbidden_is_403_envelope(api_as, viewer):
    assert_error(api_as(viewer).get("/api/v1/users/"), 403, "PERMISSION_DENIED")


def test_session_writes_to_the_api_need_the_csrf_token(admin_user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(admin_user)
    url = f"/api/v1/users/{admin_user.pk}/"
    # No cross-site writes through a browser session: without the token, a 403 envelope.
    body = assert_error(client.patch(url, {"email": "ada@changed.example"}, format="json"), 403,
                        "PERMISSION_DENIED")
    assert "CSRF" in body["error"]["message"]
    admin_user.refresh_from_db()
    assert admin_user.email == "ada@example.com"
    client.get("/")  # a page sets the CSRF cookie
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    ok = client.patch(url, {"email": "ada@changed.example"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert ok.status_code == 200, ok.content


def test_throttled_is_429_envelope_with_retry_after(monkeypatch, api_as, operator):
    set_throttle_rates(monkeypatch, user="1/min")
    client = api_as(operator)
    assert client.get("/api/v1/auth/me/").status_code == 200
    response = client.get("/api/v1/auth/me/")
    body = assert_error(response, 429, "RATE_LIMIT_EXCEEDED")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert body["error"]["details"] == {"retry_after_seconds": int(response["Retry-After"])}


def test_malformed_json_is_400_parse_error(api_as, admin_user):
    response = api_as(admin_user).post("/api/v1/users/", "{nope", content_type="application/json")
    assert_error(response, 400, "PARSE_ERROR")


def test_unsupported_media_type_is_415_envelope(api_as, admin_user):
    response = api_as(admin_user).post("/api/v1/users/", "<user/>", content_type="application/xml")
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


@boom_urls
@pytest.mark.parametrize("url", ["/api/v1/_boom/", "/api/_plain_boom/"])
def test_api_500_is_an_envelope_without_traceback(url):
    client = APIClient(raise_request_exception=False)
    response = client.get(url, HTTP_X_REQUEST_ID="boom-request-0001")
    body = assert_error(response, 500, "INTERNAL_ERROR")
    assert body["request_id"] == "boom-request-0001"
    text = response.content.decode()
    assert SECRET_DETAIL not in text and "Traceback" not in text and "RuntimeError" not in text


@boom_urls
def test_page_500_is_friendly_with_the_request_id():
    client = Client(raise_request_exception=False)
    response = client.get("/_boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    assert response["X-Request-ID"] in html
    assert SECRET_DETAIL not in html and "Traceback" not in html and "RuntimeError" not in html
    assert response["Content-Type"].startswith("text/html")


@boom_urls
def test_page_500_for_a_signed_in_user(operator):
    client = signed_in(operator)
    client.raise_request_exception = False
    response = client.get("/_boom/")
    assert response.status_code == 500
    assert response["X-Request-ID"] in response.content.decode()
    assert SECRET_DETAIL not in response.content.decode()


@boom_urls
def test_page_500_still_answers_when_the_500_page_cannot_render(settings):
    # As in production before `collectstatic`: {% static %} has no manifest to read.
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}}
    response = Client(raise_request_exception=False).get("/_boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html and response["X-Request-ID"] in html
    assert SECRET_DETAIL not in html and "Traceback" not in html


# --- friendly pages ------------------------------------------------------------------------------------------


def test_friendly_404_page_shows_the_request_id(operator):
    for client in (Client(), signed_in(operator)):
        response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="page-404-request")
        assert response.status_code == 404
        html = response.content.decode()
        assert "Page not found" in html
        assert "page-404-request" in html
        assert response["Content-Type"].startswith("text/html")


def test_friendly_403_page_shows_the_request_id(viewer):
    response = signed_in(viewer).get("/admin/", HTTP_X_REQUEST_ID="page-403-request")
    assert response.status_code == 403
    html = response.content.decode()
    assert "Not allowed" in html
    assert "page-403-request" in html


# --- security headers -------------------------------------------------------------------------------------------


def _csp(response):
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_security_headers_on_pages_and_api(operator):
    for response in (Client().get("/accounts/login/"), signed_in(operator).get("/"),
                     APIClient().get("/api/v1/auth/me/")):
        csp = _csp(response)
        assert csp["default-src"] == ["'self'"]
        assert csp["script-src"][0] == "'self'"
        assert csp["frame-ancestors"] == ["'none'"]
        assert csp["object-src"] == ["'none'"]
        header = response["Content-Security-Policy"]
        assert "unsafe-inline" not in header and "unsafe-eval" not in header
        assert "http:" not in header and "https:" not in header and "*" not in header  # no third-party origins
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"


def test_csp_allows_scripts_by_nonce():
    assert CSP.NONCE in settings.SECURE_CSP["script-src"]


@boom_urls
def test_inline_script_nonce_matches_the_header():
    response = Client().get("/_inline_script/")
    nonce = re.search(r'<script nonce="([^"]+)">', response.content.decode()).group(1)
    assert len(nonce) >= 16
    assert f"'nonce-{nonce}'" in _csp(response)["script-src"]
    # A new nonce on every response.
    assert nonce not in Client().get("/_inline_script/")["Content-Security-Policy"]


@pytest.mark.parametrize("url", ["/", "/accounts/login/", "/accounts/profile/", "/accounts/password/",
                                 "/legal/terms/", "/no-such-page/", "/api/docs/"])
def test_pages_have_no_script_or_style_the_csp_would_block(operator, url):
    client = signed_in(operator) if url != "/accounts/login/" else Client()
    response = client.get(url)
    assert response.status_code in (200, 404), (url, response.status_code)
    html = response.content.decode()
    script_src = _csp(response)["script-src"]
    for tag in re.findall(r"<script\b[^>]*>", html):
        if "src=" in tag:
            src = re.search(r'src="([^"]+)"', tag).group(1)
            assert src.startswith("/") and not src.startswith("//"), (url, tag)  # our own origin only
        else:
            nonce = re.search(r'nonce="([^"]+)"', tag)
            assert nonce and f"'nonce-{nonce.group(1)}'" in script_src, (url, tag)
    assert not re.search(r"<style\b", html), url
    assert not re.search(r"\sstyle=", html), url
    assert not re.search(r"\son[a-z]+=", html), url  # inline event handlers
    for href in re.findall(r'<link [^>]*href="([^"]+)"', html):
        assert href.startswith("/") and not href.startswith("//"), (url, href)


# --- production settings (in a subprocess with a controlled environment) ---------------------------------------------


def production_env(tmp_path, **overrides):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "ENV_FILE": "/dev/null",  # the repository's .env must not leak in
        "DJANGO_SETTINGS_MODULE": "lofisite.settings",
        "VAR_DIR": str(tmp_path / "var"),
        "DEBUG": "False",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "lofisite.example.com",
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def run_python(env, code, *, args=()):
    return subprocess.run([sys.executable, *(["-c", code] if code else []), *args], cwd=BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=120)


IMPORT_SETTINGS = "import lofisite.settings"


def test_production_settings_start_with_a_real_key_and_hosts(tmp_path):
    code = ("import json, lofisite.settings as s; print(json.dumps({k: getattr(s, k) for k in ["
            "'DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS',"
            "'SESSION_COOKIE_HTTPONLY', 'LOG_JSON', 'ALLOWED_HOSTS', 'PASSWORD_HASHERS',"
            "'AUTH_PASSWORD_VALIDATORS']}))")
    result = run_python(production_env(tmp_path), code)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"] and values["SESSION_COOKIE_HTTPONLY"]
    assert values["SECURE_SSL_REDIRECT"]
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["LOG_JSON"] is True
    assert values["ALLOWED_HOSTS"] == ["lofisite.example.com"]
    assert values["PASSWORD_HASHERS"][0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    min_length = next(v for v in values["AUTH_PASSWORD_VALIDATORS"] if v["NAME"].endswith("MinimumLengthValidator"))
    assert min_length["OPTIONS"]["min_length"] == 12


@pytest.mark.parametrize("overrides,message", [
    ({"SECRET_KEY": None}, "SECRET_KEY"),
    ({"SECRET_KEY": ""}, "SECRET_KEY"),
    ({"SECRET_KEY": "django-insecure-" + "k" * 60}, "insecure"),
    ({"SECRET_KEY": "too-short-but-not-empty"}, "at least 50 characters"),
    ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS"),
    ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
])
def test_production_settings_refuse_to_start(tmp_path, overrides, message):
    result = run_python(production_env(tmp_path, **overrides), IMPORT_SETTINGS)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_debug_mode_starts_without_any_configuration(tmp_path):
    env = production_env(tmp_path, DEBUG="True", SECRET_KEY=None, ALLOWED_HOSTS=None)
    result = run_python(env, "import lofisite.settings as s; print(s.ALLOWED_HOSTS, s.SESSION_COOKIE_SECURE)")
    assert result.returncode == 0, result.stderr
    assert "['127.0.0.1', 'localhost'] False" in result.stdout


def test_env_file_is_read_from_env_file_and_nowhere_else(tmp_path):
    env_file = tmp_path / "custom.env"
    env_file.write_text(f"SECRET_KEY={secrets.token_urlsafe(64)}\nALLOWED_HOSTS=from-env-file.example\n")
    env = production_env(tmp_path, SECRET_KEY=None, ALLOWED_HOSTS=None, ENV_FILE=str(env_file))
    result = run_python(env, "import lofisite.settings as s; print(s.ALLOWED_HOSTS)")
    assert result.returncode == 0, result.stderr
    assert "from-env-file.example" in result.stdout
    # The real environment wins over the file.
    result = run_python({**env, "ALLOWED_HOSTS": "from-environment.example"},
                        "import lofisite.settings as s; print(s.ALLOWED_HOSTS)")
    assert "from-environment.example" in result.stdout
    # ENV_FILE=/dev/null reads nothing: a missing key is refused even if BASE_DIR/.env has one.
    result = run_python({**env, "ENV_FILE": "/dev/null"}, IMPORT_SETTINGS)
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_check_deploy_has_no_warnings(tmp_path):
    result = run_python(production_env(tmp_path), None,
                        args=["manage.py", "check", "--deploy", "--fail-level", "WARNING"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


JSON_LOG_SCRIPT = """
import json
import django
from django.conf import settings
settings.ROOT_URLCONF = "tests.lofisite.boom_urls"
django.setup()
from django.test import Client
client = Client(raise_request_exception=False)
out = {}
r = client.get("/api/v1/_boom/", secure=True, headers={"x-request-id": "trace-json-0001"})
out["boom"] = [r.status_code, r.content.decode()]
r = client.get("/api/v1/no-such-endpoint/", secure=True, headers={"x-request-id": "trace-json-0002"})
out["missing"] = [r.status_code, r["X-Request-ID"]]
# JSON answers only: HTML pages need `collectstatic`'s manifest in production.
r = client.get("/api/v1/auth/me/", secure=True)
out["hsts"] = r.get("Strict-Transport-Security")
r = client.get("/api/v1/auth/me/")
out["redirect"] = [r.status_code, r.get("Location")]
print(json.dumps(out))
"""


def test_production_logs_are_json_with_the_request_id(tmp_path):
    env = production_env(tmp_path, ALLOWED_HOSTS="testserver")
    result = run_python(env, JSON_LOG_SCRIPT)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    status, body = out["boom"]
    assert status == 500
    assert json.loads(body)["error"]["code"] == "INTERNAL_ERROR"
    assert SECRET_DETAIL not in body
    assert out["missing"] == [404, "trace-json-0002"]
    assert out["hsts"].startswith("max-age=31536000")
    assert out["redirect"][0] == 301 and out["redirect"][1].startswith("https://")

    records = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]  # every line is JSON
    assert records, "no log lines"
    by_id = {}
    for record in records:
        assert {"asctime", "levelname", "name", "message", "request_id"} <= set(record), record
        by_id.setdefault(record["request_id"], []).append(record)
    boom = by_id["trace-json-0001"]
    assert any(r["name"] == "lofisite.errors" and r["levelname"] == "ERROR" for r in boom)
    assert any(r["name"] == "django.request" and "Internal Server Error" in r["message"] for r in boom)
    assert any(SECRET_DETAIL in json.dumps(r) for r in boom)  # the traceback is in the log, not the response
    assert any(r["name"] == "django.request" and "Not Found" in r["message"] for r in by_id["trace-json-0002"])
