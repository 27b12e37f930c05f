"""`manage.py migrate_database`: SQLite -> PostgreSQL and back, every row kept (counts and
primary-key checksums), sequences continuing, refusals that say why, one transaction."""

import io

import pytest
from axes.models import AccessAttempt
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tasks_db.models import DBTaskResult

from accounts.models import User
from accounts.roles import Role
from legal.models import LegalDocument
from monitoring.backups.migrate import extra_database
from monitoring.backups.tables import compare, stored_models
from monitoring.events import record_event
from monitoring.models import Event
from pipeline.models import Run, YouTubeChannel
from tests.factories import RunFactory
from vinted.models import Category

from .db_targets import postgres_database, sqlite_url

REFRESH_TOKEN = "1//refresh-token-that-must-survive"


@pytest.fixture
def site_rows(admin_user, operator, viewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        RunFactory(created_by=operator)
        RunFactory(created_by=admin_user, status="failed", error="boom")
        for number in range(5):
            record_event("pipeline", "run.started", message=f"event {number}", user=operator)
    YouTubeChannel.objects.create(client_id="id", client_secret="secret", refresh_token=REFRESH_TOKEN,
                                  connected_by=admin_user)
    Event.objects.filter(pk=Event.objects.order_by("pk").first().pk).delete()  # a gap in the ids
    # rows of the framework's and the libraries' tables too
    session = SessionStore()
    session["seen"] = True
    session.create()
    LogEntry.objects.create(user=admin_user, content_type=ContentType.objects.get_for_model(Run), object_id="1",
                            object_repr="Run #1", action_flag=ADDITION)
    AccessAttempt.objects.create(user_agent="pytest", ip_address="127.0.0.1", username="mallory", http_accept="*/*",
                                 path_info="/accounts/login/", get_data="", post_data="", failures_since_start=2)
    TOTPDevice.objects.create(user=admin_user, name="phone", confirmed=True)


@pytest.fixture
def pg_target():
    with postgres_database() as url:
        yield url


def migrate_database(*args) -> str:
    out = io.StringIO()
    call_command("migrate_database", *args, stdout=out)
    return out.getvalue()


def assert_same_as_the_site(url):
    """Every table of `url` has the site's rows (counts and primary keys), values and secrets included."""
    with extra_database("check", url) as alias:
        assert compare(stored_models(), "default", alias) == []
        for model in (Session, LogEntry, AccessAttempt, TOTPDevice, DBTaskResult, ContentType, Group):
            assert model._base_manager.using(alias).exists(), model
        for model in (Run, Event, User):  # the stored values, auto_now columns included
            fields = [f.attname for f in model._meta.concrete_fields]
            assert list(model._base_manager.using(alias).order_by("pk").values_list(*fields)) == \
                list(model._base_manager.order_by("pk").values_list(*fields)), model
        assert YouTubeChannel.objects.using(alias).get().refresh_token == REFRESH_TOKEN
        with connections[alias].cursor() as theirs, connection.cursor() as ours:
            query = "SELECT refresh_token FROM pipeline_youtubechannel"
            theirs.execute(query)
            ours.execute(query)
            assert theirs.fetchall() == ours.fetchall()  # the same ciphertext, not encrypted again


def assert_new_rows_get_fresh_ids(url):
    with extra_database("check", url) as alias:
        newest = Event.objects.order_by("-pk").first().pk
        assert Event.objects.using(alias).create(source="test", kind="after.migration").pk > newest
        user = User.objects.db_manager(alias).create_user("after-migration", password="x" * 16)
        assert user.pk > User.objects.order_by("-pk").first().pk


def test_every_table_migrations_create_is_a_table_it_copies(db):
    tables = set(connection.introspection.table_names()) - {"django_migrations"}
    assert tables == {model._meta.db_table for model in stored_models()}


def test_migrating_a_second_database_seeds_that_database(db, fresh_sqlite):
    """Data migrations and the role groups (post_migrate) write to the database being migrated."""
    assert set(Group.objects.using(fresh_sqlite).values_list("name", flat=True)) == set(Role.values)
    assert LegalDocument.objects.using(fresh_sqlite).count() == LegalDocument.objects.count() > 0
    assert Category.objects.using(fresh_sqlite).count() == Category.objects.count() > 0


def test_sqlite_to_postgres_keeps_every_row_and_sequences_continue(site_rows, pg_target):
    out = migrate_database("--to", pg_target)

    assert "every table's row count and primary-key checksum match the source" in out
    assert_same_as_the_site(pg_target)
    assert_new_rows_get_fresh_ids(pg_target)


def test_and_back_from_postgres_to_sqlite(site_rows, pg_target, tmp_path):
    migrate_database("--to", pg_target)
    back = sqlite_url(tmp_path / "back.sqlite3")

    migrate_database("--from", pg_target, "--to", back)

    assert_same_as_the_site(back)
    assert_new_rows_get_fresh_ids(back)


def test_to_a_new_sqlite_file(site_rows, tmp_path):
    target = sqlite_url(tmp_path / "copy.sqlite3")
    migrate_database("--to", target)
    assert_same_as_the_site(target)
    assert_new_rows_get_fresh_ids(target)


def test_a_target_with_tables_is_refused_without_force_and_emptied_with_it(site_rows, fresh_sqlite, tmp_path):
    target = sqlite_url(connections[fresh_sqlite].settings_dict["NAME"])
    connections[fresh_sqlite].close()
    with pytest.raises(CommandError, match=r"is not empty: it has \d+ tables.*pass --force"):
        migrate_database("--to", target)

    migrate_database("--to", target, "--force")
    assert_same_as_the_site(target)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite keeps a value PostgreSQL refuses")
def test_a_row_the_target_refuses_stops_the_copy_and_nothing_is_kept(site_rows, pg_target):
    with connection.cursor() as cursor:  # SQLite does not enforce varchar lengths; PostgreSQL does
        cursor.execute("UPDATE monitoring_event SET source = %s", ["x" * 100])

    with pytest.raises(CommandError, match="nothing was kept in the target.*too long"):
        migrate_database("--to", pg_target)

    with extra_database("check", pg_target) as alias:  # as migrate left it: none of the site's rows
        assert User.objects.using(alias).count() == 0
        assert Event.objects.using(alias).count() == 0 and Run.objects.using(alias).count() == 0
        assert Category.objects.using(alias).count() == Category.objects.count()  # migrate's seed rows
    with pytest.raises(CommandError, match="not empty"):  # the schema stays: run again with --force
        migrate_database("--to", pg_target)


@pytest.mark.parametrize("arguments,message", [
    (["--to", "mysql://root@localhost/lofi"], "not a SQLite or PostgreSQL URL"),
    (["--to", "sqlite:////no/such/folder/x.sqlite3"], "the folder /no/such/folder does not exist"),
    (["--to", "sqlite://"], "names no database"),
    (["--to", "sqlite:////tmp/x.sqlite3", "--user", "ghost"], "No user named 'ghost'"),
])
def test_bad_arguments_say_what_is_wrong(admin_user, arguments, message):
    with pytest.raises(CommandError, match=message):
        migrate_database(*arguments)


def test_the_target_is_required(admin_user):
    with pytest.raises(CommandError, match="the following arguments are required: --to"):
        migrate_database()


def test_the_same_database_twice_is_refused(admin_user, tmp_path):
    same = sqlite_url(tmp_path / "same.sqlite3")
    with pytest.raises(CommandError, match="the same database"):
        migrate_database("--from", same, "--to", same)


def test_a_source_with_migrations_not_applied_is_refused(admin_user, tmp_path, fresh_sqlite):
    with pytest.raises(CommandError, match="migrations not applied.*run `manage.py migrate` on it first"):
        migrate_database("--from", sqlite_url(tmp_path / "empty.sqlite3"), "--to", sqlite_url(tmp_path / "x.sqlite3"))


@pytest.mark.parametrize("persona", ["viewer", "operator"])
def test_a_non_admin_may_not_migrate(personas, persona, tmp_path):
    target = tmp_path / "x.sqlite3"
    with pytest.raises(CommandError, match="Permission denied"):
        migrate_database("--to", sqlite_url(target), "--user", personas[persona].username)
    assert not target.exists()


class TerminalOutput(io.StringIO):
    def isatty(self):
        return True


def test_a_terminal_gets_a_progress_bar_and_a_log_plain_lines(site_rows, tmp_path):
    terminal = TerminalOutput()
    call_command("migrate_database", "--to", sqlite_url(tmp_path / "a.sqlite3"), stdout=terminal)
    assert "\r[" in terminal.getvalue() and "100%" in terminal.getvalue()

    plain = migrate_database("--to", sqlite_url(tmp_path / "b.sqlite3"))
    assert "\r" not in plain and "rows copied; now pipeline_run" in plain
