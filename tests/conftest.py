"""Fixed personas and clients shared by the whole suite.

admin, operator, other_operator and viewer have accepted the current legal
documents; `newcomer` has not (for the first-login gate).
"""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.roles import Role
from tests.factories import UserFactory, accept_all_documents

PASSWORD = "correct-horse-battery-staple-42"


@pytest.fixture(autouse=True)
def _clean_cache():
    # Throttle counters and breaker state live in the cache; start each test clean.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


def _persona(role, username):
    user = UserFactory(username=username, role=role)
    accept_all_documents(user)
    return user


@pytest.fixture
def admin_user(db):
    return _persona(Role.ADMIN, "ada")


@pytest.fixture
def operator(db):
    return _persona(Role.OPERATOR, "otto")


@pytest.fixture
def other_operator(db):
    return _persona(Role.OPERATOR, "oona")


@pytest.fixture
def viewer(db):
    return _persona(Role.VIEWER, "vera")


@pytest.fixture
def newcomer(db):
    """Signed up but has not accepted the legal documents yet."""
    return UserFactory(username="nico", role=Role.OPERATOR)


@pytest.fixture
def personas(admin_user, operator, other_operator, viewer):
    return {"admin": admin_user, "operator": operator, "other_operator": other_operator, "viewer": viewer}


@pytest.fixture
def api():
    return APIClient()


def jwt_for(client, user, password=PASSWORD):
    response = client.post("/api/v1/auth/token/", {"username": user.username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def api_as():
    """api_as(user) -> an APIClient carrying that user's JWT access token."""

    def make(user):
        client = APIClient()
        tokens = jwt_for(client, user)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
        return client

    return make
