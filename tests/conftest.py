"""Fixtures shared by the whole suite (every app's tests use these; none is copied per app).

- Fixed personas: admin, operator, other_operator and viewer have accepted the current legal
  documents; `newcomer` has not (for the first-login gate).
- Clients: `api` (anonymous), `api_as(user)` (JWT), `token_as(user)` (personal API token),
  `api_with` (the same test once with each); page clients are `tests.helpers.client_for`.
- A private, clean cache for every test (`_private_cache`), a private MEDIA_ROOT.
- `fake_openai`: the local OpenAI-compatible server with the settings pointing at it;
  `fake_vinted`: the local fake Vinted site (VINTED_BASE_URL points at it)
  (`fake_youtube` is in tests/pipeline/conftest.py, the only app that talks to YouTube).
- `wall_clock`: the time of day, stopped and moved by hand (time-machine); see tests/clocks.py.
"""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.roles import Role
from tests.factories import PASSWORD, UserFactory, accept_all_documents


@pytest.fixture(autouse=True)
def _private_cache(settings, tmp_path):
    """A cache of this test's own, empty at the start.

    Throttle, lockout and rate-limit counters and breaker state live in the cache. The
    embedded file cache (the SQLite default) moves to a folder of this test's own, since
    var/cache is shared with any other test run or server on this machine, which clears it
    at will; a Redis cache (REDIS_URL) stays as configured (its own db index per run) and is
    cleared here. Nothing is cleared afterwards: a test may leave a cache that cannot be
    reached (a stopped Redis, an unwritable folder), and the next test starts clean anyway.
    """
    default = settings.CACHES["default"]
    if default["BACKEND"].endswith("FileBasedCache"):
        settings.CACHES = {**settings.CACHES, "default": {**default, "LOCATION": str(tmp_path / "cache")}}
    cache.clear()


@pytest.fixture
def wall_clock():
    """The wall clock (time.time, datetime.now, so django.utils.timezone.now) stopped at the
    present; `wall_clock.shift(seconds)` moves it on. Monotonic clocks: tests/clocks.py."""
    with time_machine.travel(datetime.now(UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


def _persona(name, role, username):
    """A fixture `name`: a user with this role and username who accepted the current documents."""

    @pytest.fixture(name=name)
    def persona(db):
        user = UserFactory(username=username, role=role)
        accept_all_documents(user)
        return user

    return persona


admin_user = _persona("admin_user", Role.ADMIN, "ada")
operator = _persona("operator", Role.OPERATOR, "otto")
other_operator = _persona("other_operator", Role.OPERATOR, "oona")
viewer = _persona("viewer", Role.VIEWER, "vera")


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


@pytest.fixture
def api_for(api, api_as, personas):
    """api_for(persona, using=api_as) -> the APIClient of a persona name ("anonymous": no credentials)."""

    def make(persona, using=None):
        return api if persona == "anonymous" else (using or api_as)(personas[persona])

    return make


@pytest.fixture
def token_as():
    """token_as(user, write=True, **options) -> an APIClient sending a personal API token of that user."""
    from accounts.tokens import create_token

    def make(user, write=True, **options):
        issued = create_token(user, "pytest", write=write, **options)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {issued.plaintext}")
        client.issued = issued
        return client

    return make


@pytest.fixture(params=["jwt", "token"])
def api_with(request, api_as, token_as):
    """The API client of a user, once with a JWT and once with a (write-enabled) personal API token."""
    return api_as if request.param == "jwt" else token_as


@pytest.fixture
def fake_openai(settings):
    """The AI gateway pointed at a local OpenAI-compatible server (tests/fakes/openai_server.py)."""
    from tests.fakes.openai_server import FakeOpenAI

    with FakeOpenAI() as fake:
        settings.OPENAI_API_KEY = "sk-test-0123456789"
        settings.OPENAI_BASE_URL = fake.base_url + "/v1"
        yield fake


@pytest.fixture
def fake_vinted(settings):
    """Every Vinted account's calls pointed at a local fake Vinted site (tests/fakes/vinted_server.py)."""
    from tests.fakes.vinted_server import FakeVinted

    with FakeVinted() as fake:
        settings.VINTED_BASE_URL = fake.base_url
        yield fake


@pytest.fixture(autouse=True)
def _shipped_catalogue(request):
    """A transactional test (browser tests, backups) flushes every table when it ends, the rows the data
    migrations shipped too (the Vinted catalogue): a later test that reads them finds them put back."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None and not {"db", "transactional_db"} & set(request.fixturenames):
        return
    request.getfixturevalue("_django_db_helper")
    import importlib
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    from vinted.models import Category

    if not Category.objects.exists():
        importlib.import_module("vinted.migrations.0002_catalogue").load(apps, SimpleNamespace(connection=connection))


@pytest.fixture(autouse=True)
def _maintenance_flag(tmp_path, settings):
    """The maintenance flag (monitoring.backups.maintenance) in this test's own folder: a flag left in var/
    by a server or a killed restore must not turn every test into a 503."""
    settings.MAINTENANCE_FLAG_PATH = str(tmp_path / "maintenance.json")


def pytest_collection_modifyitems(config, items):
    """Browser tests run last. Playwright's sync API keeps its event loop marked as running in the main
    thread for as long as the (session-wide) browser lives, and Django code that calls async_to_sync
    from that thread afterwards (an async health check called from a sync view) then refuses to run:
    a failure of the test order, not of the product. The sort is stable, so the rest keeps its order."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
