import pytest

from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture(autouse=True)
def _own_file_cache(settings, tmp_path):
    """Counters under test in a cache directory of their own.

    The default file cache lives in var/cache, which any other test run on this
    machine clears at will; a shared Redis (REDIS_URL) is left as configured.
    """
    default = settings.CACHES["default"]
    if default["BACKEND"].endswith("FileBasedCache"):
        settings.CACHES = {**settings.CACHES, "default": {**default, "LOCATION": str(tmp_path / "cache")}}


@pytest.fixture
def breaker_settings(settings):
    """A "test" breaker: opens after 3 failures, recovers after 60 s, closes after 2 good trials."""
    settings.CIRCUIT_BREAKERS = {
        "default": {"failure_threshold": 5, "recovery_timeout": 30, "success_threshold": 1, "call_timeout": 10},
        "test": {"failure_threshold": 3, "recovery_timeout": 60, "success_threshold": 2, "call_timeout": 5},
        "openai": {"failure_threshold": 2, "recovery_timeout": 60, "success_threshold": 1, "call_timeout": 5},
    }
    return settings


@pytest.fixture
def fake_openai(breaker_settings):
    """The gateway pointed at a local OpenAI-compatible server."""
    with FakeOpenAI() as fake:
        breaker_settings.OPENAI_API_KEY = "sk-test-0123456789"
        breaker_settings.OPENAI_BASE_URL = fake.base_url + "/v1"
        yield fake
