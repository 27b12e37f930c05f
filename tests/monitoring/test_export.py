"""Exports: JSON that loads back into a fresh database, SQL for the vendor, secrets kept encrypted,
chosen models only, and clear errors (service, `manage.py backup export`, the admin endpoint)."""

import io
import json
import os
import sqlite3
import stat
import subprocess

import pytest
from django.core import serializers
from django.core.management import CommandError, call_command
from django.db import connection, connections

from monitoring.backups import export
from monitoring.backups.migrate import extra_database
from monitoring.backups.tables import compare, stored_models
from monitoring.events import record_event
from monitoring.models import Event
from pipeline.models import Run, YouTubeChannel
from tests.api_helpers import assert_error, assert_matrix_answer, field_errors
from tests.factories import RunFactory
from tests.helpers import API_PERSONAS

from .db_targets import postgres_database, sqlite_url

CLIENT_SECRET = "GOCSPX-known-client-secret-1234"
REFRESH_TOKEN = "1//known-refresh-token-abcdefghijklmnop"


@pytest.fixture
def site_rows(admin_user, operator, viewer, django_capture_on_commit_callbacks):
    """Rows of several apps, with a connected YouTube channel whose secrets are known."""
    with django_capture_on_commit_callbacks(execute=True):
        RunFactory(created_by=operator)
        RunFactory(created_by=admin_user, status="failed", error="boom")
        for number in range(3):
            record_event("pipeline", "run.started", message=f"event {number}", user=operator)
    assert Event.objects.count() >= 3
    return YouTubeChannel.objects.create(client_id="client.apps.googleusercontent.com", client_secret=CLIENT_SECRET,
                                         refresh_token=REFRESH_TOKEN, channel_title="Lo-fi", connected_by=admin_user)


def stored_ciphertext(channel, column, using="default"):
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM pipeline_youtubechannel WHERE id = %s", [channel.pk])
        return cursor.fetchone()[0]


def export_text(**options) -> str:
    stream = io.StringIO()
    export.export(stream, **options)
    return stream.getvalue()


def test_json_export_loads_into_a_fresh_database_with_the_same_rows(site_rows, tmp_path, fresh_sqlite):
    path = tmp_path / "export.json"
    path.write_text(export_text(fmt="json"), encoding="utf-8")

    call_command("loaddata", str(path), database=fresh_sqlite, verbosity=0)

    exported = export.chosen_models()
    assert {"pipeline.Run", "monitoring.Event", "accounts.User"} <= {m._meta.label for m in exported}
    assert compare(exported, "default", fresh_sqlite) == []
    # many-to-many rows (users' role groups) come with their model: the same pairs (loaddata gives the
    # rows of a many-to-many table new ids of the target's own, so compare what they join, not their ids)
    for through in [m for m in stored_models() if m._meta.auto_created]:
        ends = [field.attname for field in through._meta.fields if field.is_relation]
        assert set(through.objects.using(fresh_sqlite).values_list(*ends)) == \
            set(through.objects.using("default").values_list(*ends)), through._meta.db_table
    assert Run.objects.using(fresh_sqlite).count() == 2


def test_secrets_stay_encrypted_in_the_json_export_and_load_back_as_the_same_ciphertext(
        site_rows, tmp_path, fresh_sqlite):
    text = export_text(fmt="json")
    ciphertext = stored_ciphertext(site_rows, "refresh_token")

    assert REFRESH_TOKEN not in text and CLIENT_SECRET not in text
    assert ciphertext in text
    path = tmp_path / "export.json"
    path.write_text(text, encoding="utf-8")
    call_command("loaddata", str(path), database=fresh_sqlite, verbosity=0)
    loaded = YouTubeChannel.objects.using(fresh_sqlite).get(pk=site_rows.pk)
    assert loaded.refresh_token == REFRESH_TOKEN and loaded.client_secret == CLIENT_SECRET
    assert stored_ciphertext(site_rows, "refresh_token", fresh_sqlite) == ciphertext  # not encrypted twice


def test_djangos_own_serializers_write_the_ciphertext_too(site_rows):
    for fmt in ("json", "jsonl", "xml", "python"):
        text = str(serializers.serialize(fmt, YouTubeChannel.objects.all()))
        assert REFRESH_TOKEN not in text and CLIENT_SECRET not in text, fmt
        assert stored_ciphertext(site_rows, "client_secret") in text, fmt


def test_loading_ciphertext_made_with_another_key_is_refused_by_name(site_rows, tmp_path, fresh_sqlite, settings):
    path = tmp_path / "export.json"
    path.write_text(export_text(fmt="json", models=["pipeline.YouTubeChannel"]), encoding="utf-8")
    settings.FIELD_ENCRYPTION_KEY = "J1oZ3PzLr3fNn3zT0Nkq8rOZ0Q7Z7gQ9vXH6b2rWm1E="

    with pytest.raises(Exception, match="pipeline.YouTubeChannel.*client_secret.*FIELD_ENCRYPTION_KEY"):
        call_command("loaddata", str(path), database=fresh_sqlite, verbosity=0)
    assert not YouTubeChannel.objects.using(fresh_sqlite).exists()


def test_chosen_models_only(site_rows):
    objects = json.loads(export_text(fmt="json", models=["pipeline.Run", "monitoring"]))

    labels = {obj["model"] for obj in objects}
    assert "pipeline.run" in labels and "monitoring.event" in labels
    assert all(label == "pipeline.run" or label.startswith("monitoring.") for label in labels), labels
    assert sum(obj["model"] == "pipeline.run" for obj in objects) == 2


def test_rows_come_in_dependency_order_then_primary_key_order(site_rows):
    labels = [obj["model"] for obj in json.loads(export_text(fmt="json"))]
    assert labels.index("accounts.user") < labels.index("pipeline.run") < labels.index("pipeline.stage")
    run_pks = [obj["pk"] for obj in json.loads(export_text(fmt="json", models=["pipeline.Run"]))]
    assert run_pks == sorted(run_pks)


def test_a_bad_model_name_is_a_clear_error():
    with pytest.raises(export.ExportInputError, match="No such app or model: pipeline.Nope, shop") as caught:
        export.open_export(fmt="json", models=["pipeline.Nope", "shop", "pipeline.Run"])
    assert caught.value.field == "models"
    with pytest.raises(export.ExportInputError, match="Unknown format 'csv'"):
        export.open_export(fmt="csv")


# --- SQL ------------------------------------------------------------------------------------
@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite dialect")
@pytest.mark.django_db(transaction=True)  # the dump reads on a connection of its own: committed rows
def test_sqlite_sql_export_loads_into_a_fresh_sqlite_file(site_rows, tmp_path):
    text = export_text(fmt="sql")
    assert REFRESH_TOKEN not in text and CLIENT_SECRET not in text
    assert stored_ciphertext(site_rows, "refresh_token") in text

    copy = sqlite3.connect(tmp_path / "copy.sqlite3")
    copy.executescript(text)
    with extra_database("sql_copy", sqlite_url(tmp_path / "copy.sqlite3")) as alias:
        assert compare(stored_models(), "default", alias) == []
        assert YouTubeChannel.objects.using(alias).get().refresh_token == REFRESH_TOKEN
    copy.close()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite dialect")
@pytest.mark.django_db(transaction=True)
def test_sqlite_sql_export_of_chosen_models_has_only_their_tables(site_rows, tmp_path):
    text = export_text(fmt="sql", models=["pipeline.Run"])
    copy = sqlite3.connect(":memory:")
    copy.executescript(text)
    tables = {name for (name,) in copy.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables - {"sqlite_sequence"} == {"pipeline_run"}
    assert copy.execute("SELECT count(*) FROM pipeline_run").fetchone() == (2,)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL dialect")
@pytest.mark.django_db(transaction=True)  # pg_dump reads on a connection of its own: committed rows
def test_postgres_sql_export_loads_with_psql_and_keeps_secrets_encrypted(site_rows, tmp_path):
    text = export_text(fmt="sql")
    assert REFRESH_TOKEN not in text and CLIENT_SECRET not in text
    assert stored_ciphertext(site_rows, "refresh_token") in text
    (tmp_path / "export.sql").write_text(text, encoding="utf-8")
    with postgres_database() as url:
        env = export.pg_environment({**connection.settings_dict, "NAME": url.rsplit("/", 1)[1]})
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(tmp_path / "export.sql")],
                       env=env, check=True, capture_output=True)
        with extra_database("sql_copy", url) as alias:
            assert compare(stored_models(), "default", alias) == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_dump is used on PostgreSQL")
def test_a_pg_dump_older_than_the_server_is_a_clear_error(db, tmp_path, monkeypatch):
    stub = tmp_path / "pg_dump"
    stub.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    major = connection.pg_version // 10000

    with pytest.raises(export.ExportError, match=rf"version 9\.6\.24 but the server runs PostgreSQL {major}\."
                                                 rf".*postgresql-client-{major}"):
        export.open_export(fmt="sql")


def pg_dump_stub(folder, body):
    """A pg_dump on PATH that reports version 99 and then does what `body` (shell) says."""
    stub = folder / "pg_dump"
    stub.write_text(f'#!/bin/sh\nif [ "$1" = --version ]; then echo "pg_dump (PostgreSQL) 99.0"; exit 0; fi\n{body}\n')
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_dump is used on PostgreSQL")
def test_a_pg_dump_that_fails_says_why_before_or_after_the_first_byte(db, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    pg_dump_stub(tmp_path, 'echo "pg_dump: error: connection to server failed" >&2; exit 1')
    with pytest.raises(export.ExportError, match="pg_dump failed: pg_dump: error: connection to server failed"):
        export.open_export(fmt="sql")

    pg_dump_stub(tmp_path, 'echo "-- PostgreSQL database dump"; echo "pg_dump: error: query failed" >&2; exit 1')
    chunks = export.open_export(fmt="sql")
    with pytest.raises(export.ExportError, match="pg_dump failed: pg_dump: error: query failed"):
        list(chunks)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_dump is used on PostgreSQL")
def test_pg_dump_gets_the_password_in_its_environment_not_its_arguments(db, tmp_path, monkeypatch, settings):
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    pg_dump_stub(tmp_path, f'echo "$@" > {tmp_path}/args; echo "$PGPASSWORD" > {tmp_path}/password')
    monkeypatch.setitem(connection.settings_dict, "PASSWORD", "s3cret-password")

    list(export.open_export(fmt="sql"))

    assert "s3cret-password" not in (tmp_path / "args").read_text()
    assert "--format=plain" in (tmp_path / "args").read_text()
    assert (tmp_path / "password").read_text().strip() == "s3cret-password"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_dump is used on PostgreSQL")
def test_a_missing_pg_dump_is_a_clear_error(db, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(export.ExportError, match="pg_dump is not on PATH.*postgresql-client-"):
        export.open_export(fmt="sql")


# --- manage.py backup export ------------------------------------------------------------------
def test_the_command_writes_the_export_to_a_file(site_rows, tmp_path):
    target = tmp_path / "out.json"
    out = io.StringIO()
    call_command("backup", "export", "--format", "json", "--models", "pipeline", "--output", str(target), stdout=out)

    assert "Exported JSON to" in out.getvalue()
    labels = {obj["model"] for obj in json.loads(target.read_text())}
    assert labels and all(label.startswith("pipeline.") for label in labels)
    assert list(tmp_path.glob(".out.json.*")) == []  # no temporary file left


def test_the_command_writes_to_stdout_without_output(site_rows):
    out = io.StringIO()
    call_command("backup", "export", "--models", "pipeline.Run", stdout=out)
    assert len(json.loads(out.getvalue())) == 2


@pytest.mark.parametrize("arguments,message", [
    (["--format", "csv"], "invalid choice: 'csv'"),
    (["--models", "pipeline.Nope"], "--models: No such app or model: pipeline.Nope"),
    (["--output", "/no/such/folder/x.json"], "the folder /no/such/folder does not exist"),
    (["--user", "ghost"], "No user named 'ghost'"),
])
def test_the_command_with_bad_arguments_says_what_is_wrong(admin_user, tmp_path, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("backup", "export", *arguments)


@pytest.mark.parametrize("persona", ["viewer", "operator"])
def test_the_command_refuses_a_non_admin(personas, persona, tmp_path):
    with pytest.raises(CommandError, match="Permission denied"):
        call_command("backup", "export", "--user", personas[persona].username, "--output", str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_the_command_needs_an_admin_to_act_as(operator):
    with pytest.raises(CommandError, match="No admin user exists to act as"):
        call_command("backup", "export")


# --- GET /api/v1/admin/export/ -----------------------------------------------------------------
URL = "/api/v1/admin/export/"


@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_only_admins_may_export(api_for, api_with, persona, site_rows):
    response = api_for(persona, using=api_with).get(URL)
    want = {"anonymous": 401, "admin": 200}.get(persona, 403)
    assert_matrix_answer(response, want, persona)
    if want == 200:
        body = b"".join(response.streaming_content).decode()
        assert REFRESH_TOKEN not in body
        assert {"accounts.user", "pipeline.run"} <= {obj["model"] for obj in json.loads(body)}


def test_the_download_is_named_and_typed(api_for, site_rows):
    response = api_for("admin").get(URL, {"format": "sql", "models": ["pipeline.Run", "monitoring.Event"]})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/sql; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="lofisite-export-')
    assert response["Content-Disposition"].endswith('.sql"')


def test_the_json_download_loads_back(api_for, site_rows, tmp_path, fresh_sqlite):
    # the runs with the users they belong to (foreign keys name users by username)
    response = api_for("admin").get(URL, {"models": ["accounts.User", "pipeline.Run", "pipeline.Stage"]})
    assert response["Content-Type"] == "application/json; charset=utf-8"
    path = tmp_path / "download.json"
    path.write_bytes(b"".join(response.streaming_content))
    call_command("loaddata", str(path), database=fresh_sqlite, verbosity=0)
    assert compare([Run, Run.stages.rel.related_model], "default", fresh_sqlite) == []


def test_empty_parameters_mean_not_given(api_for, site_rows):
    response = api_for("admin").get(URL, {"format": "", "models": ""})
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert "pipeline.run" in {obj["model"] for obj in json.loads(b"".join(response.streaming_content))}


def test_a_bad_model_is_a_field_error(api_for, admin_user):
    errors = field_errors(api_for("admin").get(URL, {"models": ["pipeline.Run", "pipeline.Nope"]}))
    assert "pipeline.Nope" in errors["models"][0]


def test_a_bad_format_is_a_field_error(api_for, admin_user):
    assert "format" in field_errors(api_for("admin").get(URL, {"format": "csv"}))


def test_a_refused_export_is_an_envelope_not_a_download(api_for, admin_user, monkeypatch):
    def unavailable(**options):
        raise export.ExportError("pg_dump is not on PATH. Install the PostgreSQL 16 client tools.")

    # The pg_dump check itself is tested above against a stub on PATH; here the view's answer.
    monkeypatch.setattr(export, "open_export", unavailable)
    body = assert_error(api_for("admin").get(URL, {"format": "sql"}), 503, "EXPORT_UNAVAILABLE")
    assert "pg_dump is not on PATH" in body["error"]["message"]
