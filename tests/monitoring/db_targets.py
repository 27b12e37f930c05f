"""Second databases for the export and migrate_database tests: SQLite files and PostgreSQL
databases of this worktree's own (`wt_dbexport_target_*`), created and dropped here."""

import os
import uuid
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

PG_SERVER = os.environ.get("EXPORT_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432")
PG_PREFIX = "wt_dbexport_target_"


def _admin_connection():
    import psycopg

    parts = urlsplit(PG_SERVER)
    return psycopg.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username,
                           password=parts.password or os.environ.get("PGPASSWORD"), dbname="postgres",
                           autocommit=True, connect_timeout=3)


def postgres_available() -> bool:
    try:
        _admin_connection().close()
    except Exception:
        return False
    return True


@contextmanager
def postgres_database():
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    if not postgres_available():
        pytest.skip(f"no PostgreSQL server at {PG_SERVER} (set EXPORT_TEST_PG_URL)")
    name = f"{PG_PREFIX}{uuid.uuid4().hex[:10]}"
    with _admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        from django.db import connections

        for alias in list(connections.settings):  # a test that failed half-way may hold one open
            if connections.settings[alias].get("NAME") == name:
                connections[alias].close()
        with _admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_url(path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory, django_db_setup, django_db_blocker):
    """A SQLite file migrated by this code, made once per session (migrating takes seconds)."""
    from django.core.management import call_command

    from monitoring.backups.migrate import extra_database

    path = tmp_path_factory.mktemp("template") / "migrated.sqlite3"
    with django_db_blocker.unblock(), extra_database("template", sqlite_url(path)) as alias:
        call_command("migrate", database=alias, interactive=False, verbosity=0)
    return path


@pytest.fixture
def fresh_sqlite(tmp_path, migrated_sqlite_template):
    """A migrated SQLite database of this test's own (migrate's rows only), as the alias "fresh"."""
    import shutil

    from monitoring.backups.migrate import extra_database

    path = tmp_path / "fresh.sqlite3"
    shutil.copyfile(migrated_sqlite_template, path)
    with extra_database("fresh", sqlite_url(path)) as alias:
        yield alias
