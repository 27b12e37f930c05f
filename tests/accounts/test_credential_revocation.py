"""Issue 7 item 11: a password change or a deactivation ends the user's API credentials.

Refresh tokens are blacklisted and personal API tokens revoked, on every path
(profile page, Django admin, admin API, `manage.py users`). Access tokens
already issued live out their lifetime (README, "Accounts and sign-in").
"""

import io

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from accounts import tokens
from accounts.models import APIToken
from tests.api_helpers import assert_error
from tests.conftest import PASSWORD, jwt_for

pytestmark = pytest.mark.django_db

REFRESH_URL = "/api/v1/auth/token/refresh/"
NEW_PASSWORD = "a-new-and-long-passphrase-77"


def refresh(token):
    return APIClient().post(REFRESH_URL, {"refresh": token}, format="json")


def with_token(plaintext):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}")
    return client


def test_old_refresh_token_is_refused_after_a_password_change_on_the_profile(operator, other_operator):
    old = jwt_for(APIClient(), operator)["refresh"]
    rotated_once = refresh(jwt_for(APIClient(), operator)["refresh"]).json()["refresh"]  # a rotated one too
    theirs = jwt_for(APIClient(), other_operator)["refresh"]
    client = Client()
    client.force_login(operator)
    response = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": NEW_PASSWORD,
                                                   "new_password2": NEW_PASSWORD})
    assert response.status_code == 302

    assert_error(refresh(old), 401, "INVALID_TOKEN")
    assert_error(refresh(rotated_once), 401, "INVALID_TOKEN")
    assert refresh(theirs).status_code == 200  # other users keep theirs
    # Signing in again with the new password gives a working pair.
    assert refresh(jwt_for(APIClient(), operator, NEW_PASSWORD)["refresh"]).status_code == 200


def test_password_change_revokes_personal_api_tokens(operator, other_operator):
    mine = tokens.create_token(operator, "script")
    theirs = tokens.create_token(other_operator, "script")
    assert with_token(mine.plaintext).get("/api/v1/auth/me/").status_code == 200
    operator.set_password(NEW_PASSWORD)
    operator.save()

    assert_error(with_token(mine.plaintext).get("/api/v1/auth/me/"), 401, "TOKEN_REVOKED")
    mine.token.refresh_from_db()
    assert mine.token.revoke_reason == APIToken.RevokeReason.PASSWORD
    assert with_token(theirs.plaintext).get("/api/v1/auth/me/").status_code == 200


def test_password_set_in_the_django_admin_blacklists_refresh_tokens(admin_user, viewer):
    old = jwt_for(APIClient(), viewer)["refresh"]
    client = Client()
    client.force_login(admin_user)
    response = client.post(f"/admin/accounts/user/{viewer.pk}/password/",
                           {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"})
    assert response.status_code == 302, response.content[:500]
    assert_error(refresh(old), 401, "INVALID_TOKEN")


def test_users_set_password_command_blacklists_refresh_tokens(viewer, monkeypatch):
    old = jwt_for(APIClient(), viewer)["refresh"]
    issued = tokens.create_token(viewer, "cron")
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW_PASSWORD + "\n"))
    out = io.StringIO()
    call_command("users", "set-password", viewer.username, "--password-stdin", stdout=out)
    assert "revoked" in out.getvalue()
    assert_error(refresh(old), 401, "INVALID_TOKEN")
    assert_error(with_token(issued.plaintext).get("/api/v1/auth/me/"), 401, "TOKEN_REVOKED")


def test_deactivation_by_the_admin_api_ends_refresh_and_api_tokens(api_as, admin_user, operator):
    old = jwt_for(APIClient(), operator)["refresh"]
    issued = tokens.create_token(operator, "uploader", write=True)
    response = api_as(admin_user).patch(f"/api/v1/users/{operator.pk}/", {"is_active": False}, format="json")
    assert response.status_code == 200, response.content
    assert_error(refresh(old), 401, "INVALID_TOKEN")
    assert_error(with_token(issued.plaintext).get("/api/v1/auth/me/"), 401, "TOKEN_REVOKED")
    issued.token.refresh_from_db()
    assert issued.token.revoke_reason == APIToken.RevokeReason.DEACTIVATED


def test_saving_a_user_without_credential_changes_keeps_the_tokens(operator):
    old = jwt_for(APIClient(), operator)["refresh"]
    issued = tokens.create_token(operator, "script")
    operator.first_name = "Otto"
    operator.save()
    operator.refresh_from_db()  # as a sign-in does: last_login is saved, the password only rehashed
    assert operator.check_password(PASSWORD)
    assert refresh(old).status_code == 200
    assert with_token(issued.plaintext).get("/api/v1/auth/me/").status_code == 200
