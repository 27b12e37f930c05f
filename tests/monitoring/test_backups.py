"""Backups: round trip, verification, refusals, rollback, rotation, consistency under writes, tool versions.

Run on SQLite (default) and PostgreSQL (DATABASE_URL). Tests that back up or restore the test
database are transactional: SQLite's backup API and pg_dump see only committed rows, and
pytest-django empties the tables again afterwards.
"""

import sqlite3
import threading
import time

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.db import connection, connections

from monitoring.backups import engines, files, maintenance, services
from monitoring.backups import stats as table_stats
from monitoring.backups.engines import BackupError
from monitoring.choices import BackupKind, BackupStatus, JobStatus, VerificationStatus
from monitoring.models import Backup, Event, JobRun
from tests.monitoring.backup_fixtures import (
    add_jobs,
    backup_settings,  # noqa: F401 (a fixture)
    job_names,
    on_postgres,
    path_with,
    stored_path,
    stub_tool,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("backup_settings")]


def test_round_trip_restores_identical_counts_and_checksums(admin_user):
    add_jobs("alpha", "beta")
    backup = services.create_backup(user=admin_user)
    assert backup.status == BackupStatus.SUCCEEDED
    assert backup.vendor == connection.vendor and backup.server_version
    assert backup.schema_version["monitoring"] == latest_migration("monitoring")
    assert backup.verification_status == VerificationStatus.PASSED, backup.verification_result
    assert backup.verification_result["rows"] > 0 and backup.verification_result["differences"] == []
    assert backup.source_stats["tables"]["monitoring_jobstat"]["rows"] == 2
    entry = backup.file_for("database")
    assert files.sha256_of(stored_path(backup)) == entry["sha256"] and entry["size"] == backup.size

    add_jobs("gamma")
    services.restore_backup(backup, admin_user)

    assert job_names() == {"alpha", "beta"}
    now = engines.live_stats()
    for table, expected in backup.source_stats["tables"].items():
        if table not in ("monitoring_backup", "monitoring_event", "django_admin_log"):
            assert now[table] == expected, table
    kinds = dict(Backup.objects.values_list("pk", "kind"))
    assert kinds[backup.pk] == BackupKind.MANUAL and BackupKind.SAFETY in kinds.values()  # the list survives
    assert not maintenance.active()
    assert Event.objects.filter(kind="backup.restored").exists()
    from django.contrib.admin.models import LogEntry

    assert LogEntry.objects.filter(object_id=str(backup.pk), change_message__startswith="Restored").exists()
    # Sequences continue after the restore: a new backup gets a fresh id.
    assert services.create_backup(verify=False).pk > max(kinds)


def test_media_round_trip(settings, admin_user):
    media = settings.MEDIA_ROOT
    (media / "runs").mkdir(parents=True)
    (media / "runs" / "a.txt").write_bytes(b"first")
    backup = services.create_backup(content="both", user=admin_user)
    assert backup.source_stats["media"] == {"files": 1, "bytes": 5}
    assert backup.verification_status == VerificationStatus.PASSED, backup.verification_result
    (media / "runs" / "a.txt").write_bytes(b"changed")
    (media / "runs" / "b.txt").write_bytes(b"new")

    services.restore_backup(backup, admin_user)

    assert sorted(p.name for p in (media / "runs").iterdir()) == ["a.txt"]
    assert (media / "runs" / "a.txt").read_bytes() == b"first"


def test_encrypted_backup_round_trip(settings, admin_user):
    settings.BACKUP_ENCRYPTION_KEY = Fernet.generate_key().decode()
    add_jobs("secret-job-name")
    backup = services.create_backup(user=admin_user)
    assert backup.encrypted and backup.file_for("database")["name"].endswith(".enc")
    raw = stored_path(backup).read_bytes()
    assert raw.startswith(files.MAGIC) and b"secret-job-name" not in raw and b"SQLite format 3" not in raw
    assert backup.verification_status == VerificationStatus.PASSED, backup.verification_result
    add_jobs("later")
    services.restore_backup(backup, admin_user)
    assert job_names() == {"secret-job-name"}

    settings.BACKUP_ENCRYPTION_KEY = Fernet.generate_key().decode()  # the key was lost
    again = services.verify_backup(backup)
    assert again.verification_status == VerificationStatus.FAILED
    assert "cannot be decrypted" in again.verification_result["differences"][0]


def test_corrupted_file_is_refused_for_restore_and_fails_verification(admin_user):
    add_jobs("alpha")
    backup = services.create_backup(user=admin_user)
    path = stored_path(backup)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    add_jobs("beta")

    with pytest.raises(ValidationError) as refused:
        services.restore_backup(backup, admin_user)

    assert "does not match its SHA-256" in refused.value.message_dict["backup"][0]
    assert job_names() == {"alpha", "beta"}  # nothing changed
    assert not Backup.objects.filter(kind=BackupKind.SAFETY).exists()  # refused before the safety backup
    verified = services.verify_backup(backup)
    assert verified.verification_status == VerificationStatus.FAILED
    assert "SHA-256" in verified.verification_result["differences"][0]


def test_a_restore_that_fails_half_way_rolls_back_to_the_safety_backup(admin_user):
    add_jobs("alpha")
    first = services.create_backup(user=admin_user)
    add_jobs("beta")
    second = services.create_backup(user=admin_user)
    add_jobs("gamma")
    # The first backup's file now holds the second's data, with a hash that matches: the restore
    # replaces the live data, then finds it is not what the backup recorded, and must undo itself.
    stored_path(first).write_bytes(stored_path(second).read_bytes())
    first.files = [dict(first.files[0], sha256=second.files[0]["sha256"])]
    first.save(update_fields=["files"])

    with pytest.raises(services.RestoreFailed) as failed:
        services.restore_backup(first, admin_user)

    assert failed.value.rolled_back
    assert f"Rolled back to safety backup #{failed.value.safety_id}" in str(failed.value)
    assert "does not match the backup" in str(failed.value)
    assert job_names() == {"alpha", "beta", "gamma"}  # as before the restore
    assert not maintenance.active()
    assert Event.objects.filter(kind="backup.restore_rolled_back").exists()
    assert Backup.objects.filter(pk=failed.value.safety_id, kind=BackupKind.SAFETY).exists()


def test_refused_from_a_newer_schema_and_from_another_vendor(admin_user):
    backup = services.create_backup(user=admin_user, verify=False)
    backup.schema_version = {**backup.schema_version, "monitoring": "9999_from_the_future"}
    backup.save()
    with pytest.raises(ValidationError, match="newer schema than this code"):
        services.restore_backup(backup, admin_user)

    other = services.create_backup(user=admin_user, verify=False)
    other.vendor = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    other.save()
    with pytest.raises(ValidationError, match="manage.py migrate_database"):
        services.restore_backup(other, admin_user)
    assert services.verify_backup(other).verification_status == VerificationStatus.FAILED
    assert not Backup.objects.filter(kind=BackupKind.SAFETY).exists()


def latest_migration(app: str) -> str:
    from django.db.migrations.loader import MigrationLoader

    return max(name for label, name in MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes()
               if label == app)


def test_an_older_schema_is_migrated_after_the_restore(admin_user, tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("rewriting a custom-format dump is not done here; the SQLite run covers the migration step")
    import os
    import subprocess
    import sys

    from django.conf import settings
    from django.db.migrations.loader import MigrationLoader

    backup = services.create_backup(user=admin_user)
    # Make the backup's database one migration behind: monitoring's last migration unapplied in it by
    # `migrate` itself, as a backup taken before that deploy would be.
    last = latest_migration("monitoring")
    (previous,) = [name for label, name in MigrationLoader(None).graph.node_map[("monitoring", last)].parents
                   if label == "monitoring"] or [("monitoring", "zero")]
    scratch = files.work_dir()
    plain = files.fetch(backup.file_for("database"), scratch)
    env = {**os.environ, "SQLITE_PATH": str(plain), "ENV_FILE": "/dev/null", "VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "monitoring", previous, "--noinput", "-v0"],
                   cwd=settings.BASE_DIR, env=env, check=True)
    with sqlite3.connect(plain) as db:
        stats = table_stats.table_stats(db, "sqlite")
        schema = table_stats.applied_migrations(db)
    assert schema["monitoring"] == previous
    entry = files.store(plain, "older-schema.sqlite3", scratch)
    backup.files = [{"role": "database", **entry}]
    backup.source_stats = {"tables": stats}
    backup.schema_version = schema
    backup.save()

    services.restore_backup(backup, admin_user)

    from django.db.migrations.recorder import MigrationRecorder

    applied = {name for app, name in MigrationRecorder(connection).applied_migrations() if app == "monitoring"}
    assert last in applied
    assert Backup.objects.filter(pk=backup.pk).exists()  # the list of backups is back


def test_rotation_keeps_the_last_n_scheduled_backups(settings):
    settings.BACKUP_KEEP_SCHEDULED = 2
    manual = services.create_backup(verify=False)
    made = [services.create_backup(kind=BackupKind.SCHEDULED, verify=False) for _ in range(3)]
    safety = services.create_backup(kind=BackupKind.SAFETY, verify=False)

    remaining = set(Backup.objects.values_list("pk", flat=True))
    assert remaining == {manual.pk, made[1].pk, made[2].pk, safety.pk}
    assert not stored_path(made[0]).exists() and stored_path(made[1]).exists()


def test_daily_hook_queues_one_backup_once_its_time_has_passed(settings, wall_clock):
    settings.BACKUP_SCHEDULE_ENABLED = True
    settings.BACKUP_DAILY_AT = "00:00"
    assert services.run_scheduled_backup() == 1
    assert services.run_scheduled_backup() == 0  # already queued
    run = JobRun.objects.get(name=services.JOB_NAME)
    assert run.status == JobStatus.QUEUED and run.kwargs["kind"] == "scheduled"
    settings.BACKUP_SCHEDULE_ENABLED = False
    JobRun.objects.all().delete()
    assert services.run_scheduled_backup() == 0


def test_scheduled_job_takes_and_verifies_a_backup():
    backup_id = services.backup_job.call(kind="scheduled", content="database")
    backup = Backup.objects.get(pk=backup_id)
    assert backup.kind == BackupKind.SCHEDULED and backup.verification_status == VerificationStatus.PASSED
    assert services.freshness()["backup_id"] == backup_id and not services.freshness()["stale"]


def test_freshness_without_any_backup_is_stale():
    assert services.freshness() == {"last_success_at": None, "age_seconds": None, "backup_id": None, "stale": True}


def test_changes_since_names_what_a_restore_would_lose():
    add_jobs("alpha")
    backup = services.create_backup(verify=False)
    add_jobs("beta", "gamma")
    changes = {c["table"]: c for c in services.changes_since(backup)}
    assert changes["monitoring_jobstat"]["rows_then"] == 1 and changes["monitoring_jobstat"]["rows_now"] == 3
    assert "2 newer row(s) lost" in changes["monitoring_jobstat"]["effect"]


# --- consistency while writes go on ---------------------------------------------------------------------

def test_sqlite_backup_taken_while_another_connection_writes_is_consistent(tmp_path):
    source_path = tmp_path / "live.sqlite3"
    with sqlite3.connect(source_path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, body TEXT)")
        db.executemany("INSERT INTO item (body) VALUES (?)", [("x" * 200,)] * 150_000)
    stop = threading.Event()
    written = []

    def write():
        writer = sqlite3.connect(source_path, timeout=30)
        while not stop.is_set():
            with writer:
                writer.execute("INSERT INTO item (body) VALUES ('during')")
            written.append(1)
        writer.close()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        while len(written) < 20:
            time.sleep(0.005)
        source = sqlite3.connect(source_path, timeout=30)
        before = len(written)
        dump = engines.dump_sqlite(source, tmp_path / "copy.sqlite3")
        after = len(written)
        source.close()
    finally:
        stop.set()
        thread.join()
    rows = dump.stats["item"]["rows"]
    # One state between the writes committed before the dump started and those committed by its end.
    assert 150_000 + before <= rows <= 150_000 + after
    assert engines.scratch_stats_sqlite(dump.path, tmp_path) == dump.stats  # the copy is what was recorded


@on_postgres
def test_postgres_backup_taken_while_another_connection_writes_is_consistent():
    add_jobs(*(f"job-{n}" for n in range(2000)))
    stop = threading.Event()
    written = []

    def write():
        from monitoring.models import JobStat

        try:
            while not stop.is_set():
                JobStat.objects.create(name=f"during-{len(written)}")
                written.append(1)
        finally:
            connections.close_all()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        while len(written) < 5:
            time.sleep(0.005)
        backup = services.create_backup()
    finally:
        stop.set()
        thread.join()
    assert backup.verification_status == VerificationStatus.PASSED, backup.verification_result
    rows = backup.source_stats["tables"]["monitoring_jobstat"]["rows"]
    assert 2005 <= rows <= 2000 + len(written)


# --- PostgreSQL client tools ---------------------------------------------------------------------------

def test_a_pg_dump_older_than_the_server_is_refused_naming_both_versions(tmp_path, monkeypatch):
    stub_tool(tmp_path / "bin", "pg_dump", "pg_dump (PostgreSQL) 12.4")
    monkeypatch.setenv("PATH", path_with(tmp_path / "bin"))
    with pytest.raises(BackupError) as refused:
        engines.pg_tool("pg_dump", "15.20", 15)
    message = str(refused.value)
    assert "pg_dump 12.4" in message and "server 15.20" in message and "postgresql-client-15" in message


def test_a_pg_dump_replaced_by_an_older_one_at_the_same_path_is_checked_again(tmp_path, monkeypatch):
    stub_tool(tmp_path / "bin", "pg_dump", "pg_dump (PostgreSQL) 16.2")
    monkeypatch.setenv("PATH", path_with(tmp_path / "bin"))
    assert engines.pg_tool("pg_dump", "15.20", 15) == str(tmp_path / "bin" / "pg_dump")
    stub_tool(tmp_path / "bin", "pg_dump", "pg_dump (PostgreSQL) 9.6.24")  # the version seen is not trusted forever
    with pytest.raises(BackupError, match="pg_dump 9.6 .* older than the PostgreSQL server 15.20"):
        engines.pg_tool("pg_dump", "15.20", 15)


def test_a_missing_pg_dump_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError, match="pg_dump was not found on PATH.*postgresql-client-16"):
        engines.pg_tool("pg_dump", "16.2", 16)


@on_postgres
def test_backup_with_an_old_pg_dump_on_path_fails_with_the_clear_error(tmp_path, monkeypatch, admin_user):
    stub_tool(tmp_path / "bin", "pg_dump", "pg_dump (PostgreSQL) 9.6.24")
    monkeypatch.setenv("PATH", path_with(tmp_path / "bin"))
    server, major = engines.pg_server_version()
    with pytest.raises(BackupError) as failed:
        services.create_backup(user=admin_user)
    assert "pg_dump 9.6 " in str(failed.value) and f"server {server}" in str(failed.value)
    assert f"postgresql-client-{major}" in str(failed.value)
    backup = Backup.objects.get()
    assert backup.status == BackupStatus.FAILED and "older than the PostgreSQL server" in backup.error


@on_postgres
def test_postgres_credentials_go_through_the_environment_not_the_command_line(tmp_path, monkeypatch):
    # A pg_dump stand-in that records its arguments and whether PGPASSWORD reached it, then runs the real one.
    import shutil

    real = shutil.which("pg_dump")
    log = tmp_path / "args.txt"
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "pg_dump"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\necho "pw=${{PGPASSWORD:+set}} db=$PGDATABASE" >> {log}\n'
                      f'exec {real} "$@"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", path_with(folder))
    settings_dict = connection.settings_dict
    monkeypatch.setitem(settings_dict, "PASSWORD", settings_dict.get("PASSWORD") or "not-a-real-password")
    services.create_backup(verify=False)
    text = log.read_text()
    assert "--format=custom" in text and "--snapshot=" in text
    assert settings_dict["PASSWORD"] not in text.replace("pw=set", "")
    assert "pw=set" in text and f"db={settings_dict['NAME']}" in text


@on_postgres
def test_postgres_stats_of_an_int4_key_beyond_46340_do_not_overflow():
    # (id % p) * (id % p) in int4 overflowed for ids above 46340; the squares are taken in bigint.
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE backup_test_int4 (id integer PRIMARY KEY)")
        try:
            cursor.execute("INSERT INTO backup_test_int4 SELECT generate_series(46000, 47000)")
            stats = table_stats.table_stats(connection.connection, "postgresql")
        finally:
            cursor.execute("DROP TABLE backup_test_int4")
    squares = sum((n * n) % 2147483647 for n in range(46000, 47001))
    assert stats["backup_test_int4"] == {"rows": 1001, "pk_checksum": f"int:{sum(range(46000, 47001))}:{squares}"}
