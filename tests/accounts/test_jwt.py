"""JWT for API clients: obtain, refresh with rotation, logout, expiry, tampering, scopes, throttling."""

import base64
import json
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import LoginEvent
from accounts.roles import Role
from accounts.services import assign_role
from tests.api_helpers import assert_error, set_throttle_rates
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
REFRESH_URL = "/api/v1/auth/token/refresh/"
LOGOUT_URL = "/api/v1/auth/logout/"
ME_URL = "/api/v1/auth/me/"
PROBE_URL = "/api/v1/_probe/"  # default permissions; see tests/accounts/probe_urls.py
probe_urls = pytest.mark.urls("tests.accounts.probe_urls")


def obtain(user, password=PASSWORD, **extra):
    response = APIClient().post(TOKEN_URL, {"username": user.username, "password": password}, format="json", **extra)
    assert response.status_code == 200, response.content
    return response.json()


def decode(token):
    return jwt.decode(token, settings.SIMPLE_JWT["SIGNING_KEY"], algorithms=["HS256"])


def bearer(access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


# --- obtain ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona,role,scope", [
    ("viewer", "viewer", "read"),
    ("operator", "operator", "read write"),
    ("admin_user", "admin", "read write"),
])
def test_token_carries_role_and_scopes(request, persona, role, scope):
    user = request.getfixturevalue(persona)
    tokens = obtain(user)
    access = decode(tokens["access"])
    assert access["token_type"] == "access"
    assert access["user_id"] == str(user.pk)
    assert access["role"] == role
    assert access["scope"] == scope
    # The refresh token carries them too, so refreshed access tokens keep them.
    assert decode(tokens["refresh"])["scope"] == scope

    me = bearer(tokens["access"]).get(ME_URL)
    assert me.status_code == 200
    assert me.json()["username"] == user.username
    assert me.json()["role"] == role
    assert me.json()["scopes"] == scope.split()


def test_obtaining_a_token_records_an_api_sign_in(viewer):
    obtain(viewer, REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT="lofi-cli/1.0")
    event = LoginEvent.objects.get(user=viewer)
    assert event.method == LoginEvent.Method.API
    assert event.ip_address == "198.51.100.7"
    assert event.user_agent == "lofi-cli/1.0"


def test_token_lifetimes_come_from_settings(viewer):
    assert settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] == timedelta(minutes=30)
    assert settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"] == timedelta(days=7)
    tokens = obtain(viewer)
    access, refresh = decode(tokens["access"]), decode(tokens["refresh"])
    assert access["exp"] - access["iat"] == 30 * 60
    assert refresh["exp"] - refresh["iat"] == 7 * 24 * 3600


def test_wrong_password_is_401_with_a_clear_code(viewer):
    response = APIClient().post(TOKEN_URL, {"username": viewer.username, "password": "not-the-password"},
                                format="json")
    body = assert_error(response, 401, "INVALID_CREDENTIALS")
    assert "credentials" in body["error"]["message"].lower()


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(viewer):
    response = APIClient().post(TOKEN_URL, {"username": "nobody-here", "password": "whatever-it-is"}, format="json")
    assert_error(response, 401, "INVALID_CREDENTIALS")


def test_inactive_user_gets_no_token(viewer):
    viewer.is_active = False
    viewer.save()
    response = APIClient().post(TOKEN_URL, {"username": viewer.username, "password": PASSWORD}, format="json")
    assert_error(response, 401, "INVALID_CREDENTIALS")


@pytest.mark.parametrize("payload,fields", [
    ({}, {"username", "password"}),
    ({"username": "vera"}, {"password"}),
    ({"username": ["vera"], "password": PASSWORD}, {"username"}),
    ({"username": "v" * 5000, "password": PASSWORD}, {"username"}),
    ({"username": "vera", "password": "p" * 5000}, {"password"}),
    ({"username": 42, "password": None}, {"password"}),
])
def test_token_endpoint_rejects_bad_input_with_field_errors(viewer, payload, fields):
    response = APIClient().post(TOKEN_URL, payload, format="json")
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert set(body["error"]["details"]["fields"]) == fields


# --- refresh and logout -------------------------------------------------------------------------------


def test_refresh_rotates_and_a_rotated_refresh_token_is_rejected(viewer):
    first = obtain(viewer)
    response = APIClient().post(REFRESH_URL, {"refresh": first["refresh"]}, format="json")
    assert response.status_code == 200, response.content
    second = response.json()
    assert second["access"] != first["access"]
    assert second["refresh"] != first["refresh"]  # rotated
    assert decode(second["access"])["scope"] == "read"
    assert bearer(second["access"]).get(ME_URL).status_code == 200

    reuse = APIClient().post(REFRESH_URL, {"refresh": first["refresh"]}, format="json")
    body = assert_error(reuse, 401, "INVALID_TOKEN")
    assert "blacklisted" in body["error"]["message"].lower()

    # The new refresh token still works.
    assert APIClient().post(REFRESH_URL, {"refresh": second["refresh"]}, format="json").status_code == 200


def test_refreshed_tokens_carry_the_current_role(operator):
    tokens = obtain(operator)
    assign_role(operator, Role.VIEWER)
    response = APIClient().post(REFRESH_URL, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 200, response.content
    for key in ("access", "refresh"):
        claims = decode(response.json()[key])
        assert (claims["role"], claims["scope"]) == ("viewer", "read"), key
    assert bearer(response.json()["access"]).get(ME_URL).json()["scopes"] == ["read"]


def test_refresh_of_a_deactivated_user_is_refused(viewer):
    tokens = obtain(viewer)
    viewer.is_active = False
    viewer.save()
    response = APIClient().post(REFRESH_URL, {"refresh": tokens["refresh"]}, format="json")
    # Deactivation blacklists the user's refresh tokens (accounts.signals), so the token itself is refused.
    assert_error(response, 401, "INVALID_TOKEN")


def test_refresh_token_of_a_user_that_no_longer_exists_is_invalid():
    token = RefreshToken()
    token[settings.SIMPLE_JWT.get("USER_ID_CLAIM", "user_id")] = "987654"
    response = APIClient().post(REFRESH_URL, {"refresh": str(token)}, format="json")
    assert_error(response, 401, "INVALID_TOKEN")


@pytest.mark.parametrize("payload", [{}, {"refresh": ""}, {"refresh": ["x"]}, {"refresh": None}])
def test_refresh_rejects_bad_input(payload):
    response = APIClient().post(REFRESH_URL, payload, format="json")
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert "refresh" in body["error"]["details"]["fields"]


def test_an_access_token_is_not_a_refresh_token(viewer):
    tokens = obtain(viewer)
    response = APIClient().post(REFRESH_URL, {"refresh": tokens["access"]}, format="json")
    assert_error(response, 401, "INVALID_TOKEN")


def test_logout_blacklists_the_refresh_token(viewer):
    tokens = obtain(viewer)
    response = APIClient().post(LOGOUT_URL, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 204, response.content

    refresh = APIClient().post(REFRESH_URL, {"refresh": tokens["refresh"]}, format="json")
    assert_error(refresh, 401, "INVALID_TOKEN")
    again = APIClient().post(LOGOUT_URL, {"refresh": tokens["refresh"]}, format="json")
    assert_error(again, 401, "INVALID_TOKEN")


@pytest.mark.parametrize("payload", [{}, {"refresh": ""}, {"refresh": ["x"]}, {"refresh": "x" * 5000}])
def test_logout_rejects_bad_input(payload):
    response = APIClient().post(LOGOUT_URL, payload, format="json")
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert "refresh" in body["error"]["details"]["fields"]


def test_logout_with_garbage_token_is_invalid_token():
    response = APIClient().post(LOGOUT_URL, {"refresh": "not.a.token"}, format="json")
    assert_error(response, 401, "INVALID_TOKEN")


# --- expired and tampered access tokens -------------------------------------------------------------


def test_expired_access_token_is_401_token_expired(viewer):
    token = AccessToken.for_user(viewer)
    token["scope"] = "read"
    token.set_exp(from_time=timezone.now() - timedelta(hours=2), lifetime=timedelta(minutes=30))
    response = bearer(str(token)).get(ME_URL)
    body = assert_error(response, 401, "TOKEN_EXPIRED")
    assert "expired" in body["error"]["message"].lower()
    assert response.has_header("WWW-Authenticate")


def test_fresh_token_made_the_same_way_works(viewer):
    # Guards the test above: the only difference there is the expiry.
    token = AccessToken.for_user(viewer)
    token["scope"] = "read"
    assert bearer(str(token)).get(ME_URL).status_code == 200


def _b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_tampered_token_is_401_invalid_token(viewer):
    access = obtain(viewer)["access"]
    header, payload, signature = access.split(".")
    claims = decode(access)
    claims.update(role="admin", scope="read write")
    forged = ".".join([header, _b64(claims), signature])
    assert_error(bearer(forged).get(ME_URL), 401, "INVALID_TOKEN")


def test_token_signed_with_another_key_is_invalid(viewer):
    claims = decode(obtain(viewer)["access"])
    forged = jwt.encode(claims, "some-other-key-that-is-long-enough-for-hs256!", algorithm="HS256")
    assert_error(bearer(forged).get(ME_URL), 401, "INVALID_TOKEN")


@pytest.mark.parametrize("header", ["Bearer garbage", "Bearer a.b.c", "Bearer "])
def test_garbage_bearer_is_rejected(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(ME_URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"INVALID_TOKEN", "NOT_AUTHENTICATED"}


def test_refresh_token_cannot_be_used_as_access_token(viewer):
    refresh = obtain(viewer)["refresh"]
    assert_error(bearer(refresh).get(ME_URL), 401, "INVALID_TOKEN")


def test_token_of_a_deactivated_user_stops_working(viewer):
    access = obtain(viewer)["access"]
    viewer.is_active = False
    viewer.save()
    response = bearer(access).get(ME_URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_TOKEN"


# --- scopes ---------------------------------------------------------------------------------------------


@probe_urls
def test_viewer_token_reads_but_cannot_write(viewer, operator):
    viewer_client = bearer(obtain(viewer)["access"])
    assert viewer_client.get(PROBE_URL).status_code == 200
    body = assert_error(viewer_client.post(PROBE_URL, {}, format="json"), 403, "PERMISSION_DENIED")
    assert "role" in body["error"]["message"].lower()
    # The same write is allowed with an operator's token: the difference is the scope.
    assert bearer(obtain(operator)["access"]).post(PROBE_URL, {}, format="json").status_code == 201


def test_viewer_token_gets_403_on_real_writes(viewer):
    client = bearer(obtain(viewer)["access"])
    create = client.post("/api/v1/users/", {"username": "x", "email": "x@example.com",
                                            "password": "a-long-enough-password-1"}, format="json")
    assert_error(create, 403, "PERMISSION_DENIED")
    patch = client.patch(f"/api/v1/users/{viewer.pk}/", {"role": "admin"}, format="json")
    assert_error(patch, 403, "PERMISSION_DENIED")
    viewer.refresh_from_db()
    assert viewer.role == Role.VIEWER


@probe_urls
def test_a_token_with_only_read_scope_cannot_write_even_for_an_admin(admin_user):
    token = RefreshToken.for_user(admin_user)
    token["role"], token["scope"] = "admin", "read"
    client = bearer(str(token.access_token))
    assert client.get(PROBE_URL).status_code == 200
    assert_error(client.post(PROBE_URL, {}, format="json"), 403, "PERMISSION_DENIED")
    response = client.post("/api/v1/users/", {"username": "made-by-read-token", "email": "m@example.com",
                                              "password": "a-long-enough-password-1"}, format="json")
    assert_error(response, 403, "PERMISSION_DENIED")


@probe_urls
def test_token_of_a_demoted_user_loses_write(operator):
    client = bearer(obtain(operator)["access"])
    assert client.post(PROBE_URL, {}, format="json").status_code == 201
    assign_role(operator, Role.VIEWER)
    assert_error(client.post(PROBE_URL, {}, format="json"), 403, "PERMISSION_DENIED")
    assert client.get(PROBE_URL).status_code == 200  # reading is still fine


def test_token_of_a_demoted_admin_loses_admin_endpoints(admin_user):
    client = bearer(obtain(admin_user)["access"])
    assert client.get("/api/v1/users/").status_code == 200
    assign_role(admin_user, Role.OPERATOR)
    assert_error(client.get("/api/v1/users/"), 403, "PERMISSION_DENIED")


def test_promoted_user_does_not_gain_scopes_from_an_old_token(viewer):
    # Scopes are the intersection of the token's and the role's: promotion needs a new token.
    access = obtain(viewer)["access"]
    assign_role(viewer, Role.OPERATOR)
    assert bearer(access).get(ME_URL).status_code == 200
    fresh = decode(obtain(viewer)["access"])
    assert fresh["scope"] == "read write"


# --- throttling -------------------------------------------------------------------------------------------


def test_token_endpoint_is_throttled_with_retry_after(monkeypatch, viewer):
    set_throttle_rates(monkeypatch, auth="3/min")
    client = APIClient()
    for _ in range(3):
        assert client.post(TOKEN_URL, {"username": viewer.username, "password": "wrong-password"},
                           format="json").status_code == 401
    response = client.post(TOKEN_URL, {"username": viewer.username, "password": PASSWORD}, format="json")
    body = assert_error(response, 429, "RATE_LIMIT_EXCEEDED")
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 60
    assert body["error"]["details"]["retry_after_seconds"] == retry_after


def test_authenticated_requests_are_throttled_per_user(monkeypatch, viewer, operator):
    set_throttle_rates(monkeypatch, user="2/min")
    viewer_client = bearer(obtain(viewer)["access"])
    assert viewer_client.get(ME_URL).status_code == 200
    assert viewer_client.get(ME_URL).status_code == 200
    response = viewer_client.get(ME_URL)
    assert_error(response, 429, "RATE_LIMIT_EXCEEDED")
    assert int(response["Retry-After"]) > 0
    # Another user has their own budget.
    assert bearer(obtain(operator)["access"]).get(ME_URL).status_code == 200



# --- the schema tells clients how to authenticate -----------------------------------------------------


def test_schema_documents_the_bearer_scheme_and_token_pair(viewer):
    schema = bearer(obtain(viewer)["access"]).get("/api/schema/").json()
    assert schema["components"]["securitySchemes"]["jwtAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    token_response = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]["200"]
    ref = token_response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert {"access", "refresh"} <= set(schema["components"]["schemas"][ref]["properties"])
    me = schema["paths"]["/api/v1/auth/me/"]["get"]
    assert {"jwtAuth": []} in me["security"]
