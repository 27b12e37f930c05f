"""Personal API tokens: created on the profile page or by `manage.py users token`, shown once,
stored hashed, scoped, expiring, bound to networks, revocable."""

import hashlib
import io
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import tokens
from accounts.models import APIToken
from tests.api_helpers import assert_error

pytestmark = pytest.mark.django_db

ME_URL = "/api/v1/auth/me/"
PROBE_URL = "/api/v1/_probe/"  # default permissions; see tests/accounts/probe_urls.py
probe_urls = pytest.mark.urls("tests.accounts.probe_urls")


def with_token(plaintext, **extra):
    client = APIClient(**extra)
    client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}")
    return client


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


# --- creating on the profile page -----------------------------------------------------------------------


def test_token_made_on_the_profile_page_is_shown_once_and_stored_hashed(operator):
    client = signed_in(operator)
    assert client.get("/accounts/profile/").status_code == 200
    response = client.post("/accounts/tokens/new/", {"name": "backup script", "write_enabled": "on",
                                                     "allowed_ips": "203.0.113.0/24\n2001:db8::/32"})
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    plaintext = re.search(r'value="(lofi_[0-9a-f]{12}\.[\w-]{43})"', response.content.decode()).group(1)

    token = APIToken.objects.get(user=operator)
    assert token.name == "backup script" and token.write_enabled
    assert token.allowed_ips == ["203.0.113.0/24", "2001:db8::/32"]
    secret = plaintext.split(".", 1)[1]
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(APIToken.objects.values().get())  # only its hash is kept
    profile = client.get("/accounts/profile/").content.decode()
    assert "backup script" in profile and token.display in profile
    assert secret not in profile  # never shown again

    me = with_token(plaintext, REMOTE_ADDR="203.0.113.40").get(ME_URL)
    assert me.status_code == 200 and me.json()["username"] == operator.username


@pytest.mark.parametrize("data,field,message", [
    ({"name": ""}, "name", "This field is required."),
    ({"name": "x", "allowed_ips": "203.0.113.0/33"}, "allowed_ips", "is not an IP network"),
    ({"name": "x", "allowed_ips": "office"}, "allowed_ips", "is not an IP network"),
    ({"name": "x", "expires_on": "2000-01-01"}, "expires_on", "Choose a day in the future."),
    ({"name": "x", "expires_on": "tomorrow"}, "expires_on", "Enter a valid date."),
    ({"name": "x" * 101}, "name", "at most 100 characters"),
])
def test_token_form_bad_input_is_a_field_error_and_creates_nothing(operator, data, field, message):
    response = signed_in(operator).post("/accounts/tokens/new/", data)
    assert response.status_code == 400
    assert message in response.context["form"].errors[field][0]
    assert not APIToken.objects.exists()


def test_token_with_an_expiry_day(viewer):
    day = (timezone.now() + timedelta(days=30)).date()
    response = signed_in(viewer).post("/accounts/tokens/new/", {"name": "report", "expires_on": day.isoformat()})
    assert response.status_code == 201
    assert APIToken.objects.get().expires_at.date() == day


# --- what a token may do ------------------------------------------------------------------------------


def test_request_auth_is_the_token_with_its_scopes(operator, token_as):
    from rest_framework.test import APIRequestFactory

    from accounts.api.authentication import APITokenAuthentication

    read_only = token_as(operator, write=False).issued
    request = APIRequestFactory().get(ME_URL, HTTP_AUTHORIZATION=f"Token {read_only.plaintext}")
    user, auth = APITokenAuthentication().authenticate(request)
    assert user == operator
    assert auth == read_only.token and auth.scopes == {"read"}
    assert token_as(operator, write=True).issued.token.scopes == {"read", "write"}


@probe_urls
def test_read_only_token_cannot_write(operator, token_as):
    client = token_as(operator, write=False)
    assert client.get(PROBE_URL).status_code == 200
    body = assert_error(client.post(PROBE_URL, {}, format="json"), 403, "TOKEN_READ_ONLY")
    assert "read-only" in body["error"]["message"]


@probe_urls
def test_write_token_is_capped_by_the_role(operator, viewer, token_as):
    assert token_as(operator, write=True).post(PROBE_URL, {}, format="json").status_code == 201
    # A viewer's write token cannot write: the role is the ceiling.
    assert_error(token_as(viewer, write=True).post(PROBE_URL, {}, format="json"), 403, "PERMISSION_DENIED")


@probe_urls
def test_demoted_user_token_loses_write(operator, token_as):
    from accounts.services import assign_role

    client = token_as(operator, write=True)
    assign_role(operator, "viewer")
    assert_error(client.post(PROBE_URL, {}, format="json"), 403, "PERMISSION_DENIED")


def test_unknown_malformed_and_tampered_tokens_are_401(operator):
    issued = tokens.create_token(operator, "x")
    key, secret = issued.plaintext.removeprefix("lofi_").split(".")
    tampered = secret[:-1] + ("B" if secret.endswith("A") else "A")  # one character off, never the same
    for raw in ["lofi_000000000000.nope", "nonsense", f"lofi_{key}.{tampered}", f"lofi_{key}.", f"lofi_{key}"]:
        body = assert_error(with_token(raw).get(ME_URL), 401, "INVALID_TOKEN")
        assert body["error"]["message"] == "The API token is not valid."
    response = APIClient().get(ME_URL, HTTP_AUTHORIZATION="Token two parts")
    assert_error(response, 401, "INVALID_TOKEN")
    assert "WWW-Authenticate" in response


def test_expired_token_is_401_token_expired(operator):
    issued = tokens.create_token(operator, "x", expires_at=timezone.now() + timedelta(days=1))
    assert with_token(issued.plaintext).get(ME_URL).status_code == 200
    APIToken.objects.filter(pk=issued.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(with_token(issued.plaintext).get(ME_URL), 401, "TOKEN_EXPIRED")


def test_token_outside_its_networks_is_401(operator):
    issued = tokens.create_token(operator, "x", allowed_ips=["203.0.113.0/24", "2001:db8::/32"])
    assert with_token(issued.plaintext, REMOTE_ADDR="203.0.113.250").get(ME_URL).status_code == 200
    assert with_token(issued.plaintext, REMOTE_ADDR="2001:db8::5").get(ME_URL).status_code == 200
    body = assert_error(with_token(issued.plaintext, REMOTE_ADDR="198.51.100.7").get(ME_URL), 401,
                        "TOKEN_IP_NOT_ALLOWED")
    assert "198.51.100.7" in body["error"]["message"]


def test_token_of_a_user_who_has_not_accepted_the_terms_is_gated(newcomer, token_as):
    response = token_as(newcomer).get("/api/v1/auth/sign-ins/")
    assert response.status_code == 403


def test_last_used_is_recorded_but_written_at_most_once_a_minute(operator):
    issued = tokens.create_token(operator, "x")
    token = issued.token
    assert token.last_used_at is None
    with_token(issued.plaintext).get(ME_URL)
    token.refresh_from_db()
    assert token.last_used_at is not None
    recent = timezone.now() - timedelta(seconds=30)
    APIToken.objects.filter(pk=token.pk).update(last_used_at=recent)
    with_token(issued.plaintext).get(ME_URL)
    token.refresh_from_db()
    assert token.last_used_at == recent  # within the interval: no write
    old = timezone.now() - timedelta(seconds=61)
    APIToken.objects.filter(pk=token.pk).update(last_used_at=old)
    with_token(issued.plaintext).get(ME_URL)
    token.refresh_from_db()
    assert token.last_used_at > old


# --- revoking -----------------------------------------------------------------------------------------------


def test_owner_revokes_on_the_profile_page_and_others_cannot(operator, other_operator):
    issued = tokens.create_token(operator, "x")
    assert signed_in(other_operator).post(f"/accounts/tokens/{issued.token.pk}/revoke/").status_code == 404
    assert with_token(issued.plaintext).get(ME_URL).status_code == 200
    assert signed_in(operator).get(f"/accounts/tokens/{issued.token.pk}/revoke/").status_code == 405

    response = signed_in(operator).post(f"/accounts/tokens/{issued.token.pk}/revoke/")
    assert response.status_code == 302
    assert_error(with_token(issued.plaintext).get(ME_URL), 401, "TOKEN_REVOKED")
    issued.token.refresh_from_db()
    assert issued.token.revoke_reason == APIToken.RevokeReason.USER
    assert "Revoked" in signed_in(operator).get("/accounts/profile/").content.decode()


def test_admin_revokes_from_the_admin_site(admin_user, operator):
    issued = tokens.create_token(operator, "x")
    client = signed_in(admin_user)
    listing = client.get("/admin/accounts/apitoken/")
    assert listing.status_code == 200 and issued.token.display in listing.content.decode()
    assert issued.plaintext.split(".")[1] not in listing.content.decode()
    response = client.post("/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [issued.token.pk]})
    assert response.status_code == 302
    assert_error(with_token(issued.plaintext).get(ME_URL), 401, "TOKEN_REVOKED")


def test_admin_revokes_all_credentials_of_a_user_from_the_user_list(admin_user, operator):
    issued = tokens.create_token(operator, "x")
    response = signed_in(admin_user).post("/admin/accounts/user/", {"action": "revoke_api_credentials",
                                                                     "_selected_action": [operator.pk]})
    assert response.status_code == 302
    assert_error(with_token(issued.plaintext).get(ME_URL), 401, "TOKEN_REVOKED")


def test_the_admin_does_not_show_otp_secrets(admin_user):
    client = signed_in(admin_user)
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404
    assert client.get("/admin/otp_static/staticdevice/").status_code == 404


# --- manage.py users token ------------------------------------------------------------------------------------


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_users_token_create_list_revoke(operator):
    out, err = run("users", "token", "create", operator.username, "--name", "cron", "--write", "--expires-days", "7",
                   "--allowed-ips", "10.0.0.0/8, 192.0.2.1")
    plaintext = out.strip()
    assert plaintext.startswith("lofi_") and "shown only once" in err
    token = APIToken.objects.get()
    assert token.write_enabled and token.allowed_ips == ["10.0.0.0/8", "192.0.2.1"]
    assert with_token(plaintext, REMOTE_ADDR="10.1.2.3").get(ME_URL).status_code == 200

    listing, _ = run("users", "token", "list")
    assert "cron" in listing and token.display in listing and "active" in listing
    assert plaintext.split(".")[1] not in listing

    out, _ = run("users", "token", "revoke", str(token.pk))
    assert "Revoked 1 token(s)." in out
    assert "revoked" in run("users", "token", "list", operator.username)[0]
    assert_error(with_token(plaintext, REMOTE_ADDR="10.1.2.3").get(ME_URL), 401, "TOKEN_REVOKED")


@pytest.mark.parametrize("args,message", [
    (["create", "nobody", "--name", "x"], "No user named 'nobody'."),
    (["create", "otto", "--name", "x", "--allowed-ips", "not-a-network"], "is not an IP network"),
    (["create", "otto", "--name", "x", "--expires-days", "0"], "--expires-days must be at least 1."),
    (["revoke", "999"], "No API token with id 999."),
    (["revoke"], "Give a token id, or --user USERNAME"),
])
def test_users_token_bad_input_is_a_clear_error(operator, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        run("users", "token", *args)
    assert not APIToken.objects.exists()


def test_users_token_revoke_all_of_a_user(operator, other_operator):
    tokens.create_token(operator, "a")
    tokens.create_token(operator, "b")
    kept = tokens.create_token(other_operator, "c")
    assert "Revoked 2 token(s)." in run("users", "token", "revoke", "--user", operator.username)[0]
    assert with_token(kept.plaintext).get(ME_URL).status_code == 200


# --- schema --------------------------------------------------------------------------------------------------


def test_schema_documents_the_token_scheme(api_as, viewer):
    schema = api_as(viewer).get("/api/schema/?format=json").json()
    scheme = schema["components"]["securitySchemes"]["apiToken"]
    assert scheme == {"type": "apiKey", "in": "header", "name": "Authorization",
                      "description": scheme["description"]}
    assert {"apiToken": []} in schema["paths"]["/api/v1/auth/me/"]["get"]["security"]
    obtain = schema["components"]["schemas"]["TokenObtainRequest"]["properties"]
    assert "otp" in obtain


# --- the API: list and revoke ---------------------------------------------------------------------------------


def test_api_lists_your_tokens_without_secrets_and_admins_see_all(api_as, operator, other_operator, admin_user):
    mine = tokens.create_token(operator, "mine", write=True, allowed_ips=["10.0.0.0/8"])
    tokens.create_token(other_operator, "theirs")
    rows = api_as(operator).get("/api/v1/auth/tokens/").json()["results"]
    assert [row["name"] for row in rows] == ["mine"]
    assert rows[0] == {**rows[0], "username": operator.username, "token": mine.token.display,
                       "write_enabled": True, "scopes": ["read", "write"], "allowed_ips": ["10.0.0.0/8"],
                       "status": "active", "revoked_at": None}
    assert mine.plaintext.split(".")[1] not in str(rows)
    assert {row["name"] for row in api_as(admin_user).get("/api/v1/auth/tokens/").json()["results"]} == {
        "mine", "theirs"}


def test_api_delete_revokes_your_token_and_not_someone_elses(api_as, operator, other_operator, admin_user):
    mine = tokens.create_token(operator, "mine")
    theirs = tokens.create_token(other_operator, "theirs")
    client = api_as(operator)
    assert_error(client.delete(f"/api/v1/auth/tokens/{theirs.token.pk}/"), 404, "NOT_FOUND")
    assert with_token(theirs.plaintext).get(ME_URL).status_code == 200
    assert client.delete(f"/api/v1/auth/tokens/{mine.token.pk}/").status_code == 204
    assert_error(with_token(mine.plaintext).get(ME_URL), 401, "TOKEN_REVOKED")
    assert client.get(f"/api/v1/auth/tokens/{mine.token.pk}/").json()["status"] == "revoked"

    assert api_as(admin_user).delete(f"/api/v1/auth/tokens/{theirs.token.pk}/").status_code == 204
    theirs.token.refresh_from_db()
    assert theirs.token.revoke_reason == APIToken.RevokeReason.ADMIN
