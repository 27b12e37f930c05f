import pytest


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
def fake_openai(breaker_settings, fake_openai):
    """The shared fake OpenAI (tests/conftest.py), with the breakers above: here the "openai"
    breaker opens after 2 failures."""
    return fake_openai


# Second databases (SQLite files, PostgreSQL databases) for the export and migrate_database tests.
from .db_targets import fresh_sqlite, migrated_sqlite_template  # noqa: E402,F401
