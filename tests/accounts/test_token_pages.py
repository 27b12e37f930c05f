"""The API token pages (`/accounts/tokens/new/`, `/accounts/tokens/<id>/revoke/`) per persona, and
revoking one's own token over the API whatever the role (issue 6 part 5)."""

import pytest

from accounts import tokens
from accounts.models import APIToken
from tests.api_helpers import assert_error
from tests.helpers import PERSONAS, assert_login_redirect, client_for

pytestmark = pytest.mark.django_db

NEW_URL = "/accounts/tokens/new/"
ME_URL = "/api/v1/auth/me/"


def revoke_url(token):
    return f"/accounts/tokens/{token.pk}/revoke/"


@pytest.mark.parametrize("persona", PERSONAS)
def test_create_page_role_matrix(client, personas, persona):
    """Every signed-in role makes its own token (the role stays its ceiling); anonymous signs in."""
    client = client_for(client, personas, persona)
    form = client.get(NEW_URL)
    response = client.post(NEW_URL, {"name": "script", "write_enabled": "on"})
    if persona == "anonymous":
        assert_login_redirect(form)
        assert_login_redirect(response)
        assert not APIToken.objects.exists()
        return
    assert form.status_code == 200
    assert response.status_code == 201
    token = APIToken.objects.get()
    assert token.user == personas[persona] and token.name == "script" and token.write_enabled


# The token belongs to `operator`: (own token?, expected answer) per persona.
REVOKE = {"anonymous": "login", "viewer": 404, "operator": 302, "other_operator": 404, "admin": 302}


@pytest.mark.parametrize("persona", PERSONAS)
def test_revoke_someone_elses_token_page_role_matrix(client, personas, persona):
    """Only the owner and admins may revoke; to anyone else the token does not exist (404)."""
    issued = tokens.create_token(personas["operator"], "otto's script", write=True)
    response = client_for(client, personas, persona).post(revoke_url(issued.token))
    want = REVOKE[persona]
    issued.token.refresh_from_db()
    if want == "login":
        assert_login_redirect(response)
    else:
        assert response.status_code == want, response.status_code
    if want == 302:
        assert response["Location"] == "/accounts/profile/"
        assert issued.token.revoked_at is not None
        reason = APIToken.RevokeReason.USER if persona == "operator" else APIToken.RevokeReason.ADMIN
        assert issued.token.revoke_reason == reason
    else:
        assert issued.token.revoked_at is None
        assert client.get(ME_URL, HTTP_AUTHORIZATION=f"Token {issued.plaintext}").status_code == 200


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != "anonymous"])
def test_every_role_revokes_its_own_token_on_the_page(client, personas, persona):
    issued = tokens.create_token(personas[persona], "mine")
    response = client_for(client, personas, persona).post(revoke_url(issued.token))
    assert response.status_code == 302
    issued.token.refresh_from_db()
    assert issued.token.revoke_reason == APIToken.RevokeReason.USER


def test_revoke_page_answers_only_post(client, operator):
    issued = tokens.create_token(operator, "x")
    client.force_login(operator)
    assert client.get(revoke_url(issued.token)).status_code == 405
    assert client.post("/accounts/tokens/999999/revoke/").status_code == 404


@pytest.mark.parametrize("data,field", [
    ({"name": ""}, "name"),
    ({"name": "x", "allowed_ips": "not-a-network"}, "allowed_ips"),
    ({"name": "x", "expires_on": "2000-01-01"}, "expires_on"),
    ({"name": "x", "expires_on": "soon"}, "expires_on"),
])
def test_invalid_token_form_answers_400_with_the_errors_at_the_fields(client, operator, data, field):
    client.force_login(operator)
    response = client.post(NEW_URL, data)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert str(response.context["form"].errors[field][0]) in response.content.decode()
    assert not APIToken.objects.exists()


# --- revoking one's own token over the API ------------------------------------------------------------


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != "anonymous"])
def test_every_role_revokes_its_own_token_over_the_api(api_with, personas, persona):
    """Revoking one's own credential is safe: a read-only role (or a read-only token) may do it."""
    user = personas[persona]
    mine = tokens.create_token(user, "mine")
    client = api_with(user)
    assert client.delete(f"/api/v1/auth/tokens/{mine.token.pk}/").status_code == 204
    mine.token.refresh_from_db()
    assert mine.token.revoke_reason == APIToken.RevokeReason.USER


def test_a_read_only_token_revokes_nothing_not_even_itself(token_as, operator):
    """A read-only personal token refuses every unsafe method (accounts.api.authentication): it is
    revoked on the profile page or with another credential."""
    client = token_as(operator, write=False)
    assert_error(client.delete(f"/api/v1/auth/tokens/{client.issued.token.pk}/"), 403, "TOKEN_READ_ONLY")
    assert client.get(ME_URL).status_code == 200


def test_the_exception_is_for_ones_own_tokens_only(api_with, viewer, operator):
    """A viewer still may not delete anything else, nor see (so revoke) someone else's token."""
    theirs = tokens.create_token(operator, "theirs")
    client = api_with(viewer)
    assert_error(client.delete(f"/api/v1/auth/tokens/{theirs.token.pk}/"), 404, "NOT_FOUND")
    theirs.token.refresh_from_db()
    assert theirs.token.revoked_at is None
    schedule = client.post("/api/v1/pipeline/schedules/", {}, format="json")
    assert_error(schedule, 403, "PERMISSION_DENIED")


def test_a_read_scope_credential_revokes_only_its_owners_tokens(admin_user, operator):
    """An admin's JWT carrying only the `read` scope may revoke the admin's own token, not others'."""
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    access = AccessToken.for_user(admin_user)
    access["scope"] = "read"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    theirs, own = tokens.create_token(operator, "theirs"), tokens.create_token(admin_user, "own")
    assert_error(client.delete(f"/api/v1/auth/tokens/{theirs.token.pk}/"), 403, "PERMISSION_DENIED")
    theirs.token.refresh_from_db()
    assert theirs.token.revoked_at is None
    assert client.delete(f"/api/v1/auth/tokens/{own.token.pk}/").status_code == 204
