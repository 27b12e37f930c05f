"""Every page and endpoint against every persona: anonymous, viewer, operator, admin."""

import json

import pytest

from tests.helpers import assert_login_redirect, client_for

ANON_PAGE = "login"  # anonymous users are sent to the sign-in page

PAGES = [
    # (url, expected status per persona: anonymous, viewer, operator, admin)
    ("/", (ANON_PAGE, 200, 200, 200)),
    ("/accounts/profile/", (ANON_PAGE, 200, 200, 200)),
    ("/accounts/password/", (ANON_PAGE, 200, 200, 200)),
    ("/legal/terms/", (200, 200, 200, 200)),
    ("/legal/privacy/", (200, 200, 200, 200)),
    ("/legal/accept/", (ANON_PAGE, 302, 302, 302)),  # nothing to accept: back to where they came from
    ("/api/docs/", (ANON_PAGE, 200, 200, 200)),
    ("/admin/", ("admin-login", 403, 403, 200)),
    ("/admin/accounts/user/", ("admin-login", 403, 403, 200)),
    ("/admin/legal/legaldocument/", ("admin-login", 403, 403, 200)),
]

API = [
    # (method, url, expected status per persona: anonymous, viewer, operator, admin)
    ("get", "/api/v1/auth/me/", (401, 200, 200, 200)),
    ("get", "/api/v1/auth/sign-ins/", (401, 200, 200, 200)),
    ("get", "/api/v1/auth/tokens/", (401, 200, 200, 200)),
    ("delete", "/api/v1/auth/tokens/999999/", (401, 404, 404, 404)),  # every role may revoke its own
    ("get", "/api/v1/users/", (401, 403, 403, 200)),
    ("post", "/api/v1/users/", (401, 403, 403, 400)),  # admin passes the permission, then validation
    ("get", "/api/v1/legal/documents/", (401, 200, 200, 200)),
    ("get", "/api/v1/legal/acceptances/", (401, 403, 403, 200)),
    ("get", "/api/schema/", (401, 200, 200, 200)),
]

PERSONAS = ["anonymous", "viewer", "operator", "admin"]


@pytest.mark.parametrize("url,expected", PAGES)
@pytest.mark.parametrize("persona_index", range(4), ids=PERSONAS)
def test_pages(client, personas, url, expected, persona_index):
    persona = PERSONAS[persona_index]
    response = client_for(client, personas, persona).get(url)
    want = expected[persona_index]
    if want == ANON_PAGE:
        assert_login_redirect(response)
    elif want == "admin-login":
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    else:
        assert response.status_code == want, (url, persona, response.status_code)


@pytest.mark.parametrize("method,url,expected", API)
@pytest.mark.parametrize("persona_index", range(4), ids=PERSONAS)
def test_api(api_for, api_with, method, url, expected, persona_index):
    """With a JWT and with a personal API token (tests/conftest.py `api_with`): the same answers."""
    persona = PERSONAS[persona_index]
    client = api_for(persona, using=api_with)
    response = getattr(client, method)(url, {}, format="json") if method != "get" else client.get(url)
    want = expected[persona_index]
    assert response.status_code == want, (url, persona, response.content[:300])
    if want >= 400:
        body = json.loads(response.content)
        assert body["error"]["status"] == want
        assert body["request_id"] == response["X-Request-ID"]
        if want == 401:
            assert body["error"]["code"] == "NOT_AUTHENTICATED"
        if want == 403:
            assert body["error"]["code"] == "PERMISSION_DENIED"


def test_other_operator_cannot_see_my_sign_ins(api_as, operator, other_operator):
    api_as(operator)  # records a sign-in for operator
    mine = api_as(other_operator).get("/api/v1/auth/sign-ins/").json()["results"]
    assert mine and {event["id"] for event in mine}
    assert all(event["method"] == "api" for event in mine)
    assert len(mine) == 1  # only other_operator's own sign-in, not operator's


def test_admin_sees_every_sign_in(api_as, operator, admin_user):
    api_as(operator)
    events = api_as(admin_user).get("/api/v1/auth/sign-ins/").json()["results"]
    assert len(events) == 2


@pytest.mark.parametrize("persona", ["viewer", "operator"])
def test_dashboard_shows_no_team_role_counts_to_non_admins(client, personas, persona):
    """UserQuerySet shows non-admins only themselves; the dashboard's team card follows it."""
    client.force_login(personas[persona])
    page = client.get("/").content.decode()
    assert '<span class="stat-label">Your role</span>' in page
    assert "Active users" not in page
    for label in ("Admins", "Operators", "Viewers"):
        assert f'<span class="stat-label">{label}</span>' not in page


def test_dashboard_shows_team_role_counts_to_admins(client, personas):
    from accounts.models import User

    client.force_login(personas["admin"])
    page = client.get("/").content.decode()
    active = User.objects.filter(is_active=True)
    assert f'<span class="stat-number">{active.count()}</span><span class="stat-label">Active users</span>' in page
    operators = active.filter(role="operator").count()
    assert f'<span class="stat-number">{operators}</span><span class="stat-label">Operators</span>' in page
