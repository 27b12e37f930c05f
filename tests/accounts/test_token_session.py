"""The token endpoints are for API clients: they set no session cookie and store no session."""

import pytest
from django.contrib.sessions.models import Session

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"


def test_signing_in_for_a_token_sets_no_session_cookie(api, operator):
    response = api.post(TOKEN, {"username": operator.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    refresh = api.post(f"{TOKEN}refresh/", {"refresh": response.json()["refresh"]}, format="json")
    assert refresh.status_code == 200 and "sessionid" not in refresh.cookies
    assert not Session.objects.exists()


def test_a_failed_token_sign_in_sets_no_session_cookie_either(api, operator):
    response = api.post(TOKEN, {"username": operator.username, "password": "wrong-password-123"}, format="json")
    assert response.status_code == 401
    assert "sessionid" not in response.cookies
    assert not Session.objects.exists()
