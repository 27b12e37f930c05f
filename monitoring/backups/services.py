"""Backups: create (dump + store + verify), verify, restore (safety backup, maintenance, rollback), rotate.

Views, the API, the admin, the `backup` command and the scheduler call these. Refusals (a damaged
file, another vendor, a newer schema) raise ValidationError with a field-level message; a step that
fails on the server (pg_dump missing or too old, a restore that had to be rolled back) raises
BackupError, whose message says what happened and what to do.
"""

import hashlib
import logging
import shutil
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connections, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from ..choices import JOB_ACTIVE_STATUSES, BackupContent, BackupKind, BackupStatus, VerificationStatus
from ..events import record_event
from ..jobs import job
from ..models import Backup, JobRun
from . import engines, files, maintenance, media
from . import stats as table_stats
from .engines import BackupError

logger = logging.getLogger(__name__)

ALIAS = "default"
JOB_NAME = "monitoring.backup"


class RestoreFailed(BackupError):
    """The restore failed after the live data was touched; `rolled_back` says whether the safety backup is back."""

    def __init__(self, message, *, rolled_back: bool, safety_id: int | None):
        super().__init__(message)
        self.rolled_back, self.safety_id = rolled_back, safety_id


# --- create ------------------------------------------------------------------------------------------

def _stored_name(backup: Backup, role: str, suffix: str) -> str:
    return f"{backup.started_at:%Y%m%d-%H%M%S}-{backup.pk}-{backup.kind}-{role}{suffix}"


def _fingerprint(entries: list[dict]) -> str:
    return hashlib.sha256("".join(entry["sha256"] for entry in entries).encode()).hexdigest()


def create_backup(*, content=BackupContent.DATABASE, kind=BackupKind.MANUAL, user=None, verify=True) -> Backup:
    """Dump the database and/or media, store the files, then verify them (unless verify=False)."""
    content, kind = BackupContent(content), BackupKind(kind)
    backup = Backup.objects.create(kind=kind, content=content, vendor=engines.vendor(ALIAS), created_by=user,
                                   status=BackupStatus.RUNNING, encrypted=files.encryption_enabled())
    scratch = files.work_dir()
    stored: list[dict] = []
    try:
        source_stats = {}
        if backup.has_database:
            dump = engines.dump(ALIAS, scratch)
            entry = files.store(dump.path, _stored_name(backup, "database", dump.path.suffix), scratch,
                                dump.sha256)
            stored.append({"role": "database", **entry})
            source_stats["tables"] = dump.stats
            backup.schema_version, backup.server_version = dump.schema, dump.server_version
        if backup.has_media:
            archive = scratch / "media.tar.gz"
            source_stats["media"] = media.dump_media(archive)
            stored.append({"role": "media", **files.store(archive, _stored_name(backup, "media", ".tar.gz"), scratch)})
        backup.files, backup.source_stats = stored, source_stats
        backup.size = sum(entry["size"] for entry in stored)
        backup.sha256 = _fingerprint(stored)
        backup.status, backup.finished_at = BackupStatus.SUCCEEDED, timezone.now()
        backup.save()
    except Exception as exc:
        for entry in stored:
            _delete_quietly(entry)
        backup.status, backup.error, backup.finished_at = BackupStatus.FAILED, str(exc), timezone.now()
        backup.save(update_fields=["status", "error", "finished_at"])
        record_event("backups", "backup.failed", "failed", f"Backup #{backup.pk} failed: {exc}",
                     {"backup": backup.pk, "kind": kind, "error": str(exc)}, user=user, target=backup)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    record_event("backups", "backup.created", "succeeded",
                 f"Backup #{backup.pk} ({backup.get_content_display().lower()}, {backup.size} bytes) taken.",
                 {"backup": backup.pk, "kind": kind, "size": backup.size}, user=user, target=backup)
    if verify:
        verify_backup(backup, user=user)
    if kind == BackupKind.SCHEDULED:
        rotate()
    return backup


@job(JOB_NAME, max_attempts=1, label=lambda kind, content, user_id=None: f"{kind.capitalize()} backup ({content})")
def backup_job(kind: str, content: str, user_id: int | None = None) -> int:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return create_backup(content=content, kind=kind, user=user).pk


# --- verify -------------------------------------------------------------------------------------------

def _refuse_other_vendor(backup: Backup) -> None:
    live = engines.vendor(ALIAS)
    if backup.has_database and backup.vendor != live:
        raise ValidationError({"backup": f"Backup #{backup.pk} is of a {backup.vendor} database; this site runs on "
                                         f"{live}. Move data between vendors with `manage.py migrate_database`."})


def verify_backup(backup: Backup, user=None) -> Backup:
    """Restore the files into a scratch database (and read the media archive through) and compare with
    the source at backup time: the same tables, row counts and primary-key checksums."""
    started = time.monotonic()
    differences: list[str] = []
    checked = {"tables": 0, "rows": 0}
    scratch = files.work_dir()
    try:
        if backup.status != BackupStatus.SUCCEEDED:
            raise ValidationError({"backup": f"Backup #{backup.pk} did not finish ({backup.status}): "
                                             "nothing to verify."})
        _refuse_other_vendor(backup)
        if backup.has_database:
            path = files.fetch(backup.file_for("database"), scratch)
            copy = engines.scratch_stats(ALIAS, path, scratch)
            expected = backup.source_stats.get("tables", {})
            differences += table_stats.compare(expected, copy)
            checked = {"tables": len(copy), "rows": sum(item["rows"] for item in copy.values())}
        if backup.has_media:
            path = files.fetch(backup.file_for("media"), scratch)
            found, expected = media.scan_media(path), backup.source_stats.get("media", {})
            if found != expected:
                differences.append(f"media archive holds {found['files']} files ({found['bytes']} bytes); "
                                   f"the source had {expected.get('files')} ({expected.get('bytes')} bytes)")
            checked["media_files"] = found["files"]
    except (ValidationError, BackupError) as exc:
        differences.append(_message(exc))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    ok = not differences
    backup.verification_status = VerificationStatus.PASSED if ok else VerificationStatus.FAILED
    backup.verification_result = {"ok": ok, **checked, "differences": differences,
                                  "seconds": round(time.monotonic() - started, 3)}
    backup.verified_at = timezone.now()
    backup.save(update_fields=["verification_status", "verification_result", "verified_at"])
    if ok:
        record_event("backups", "backup.verified", "succeeded",
                     f"Backup #{backup.pk} verified: {checked['tables']} tables, {checked['rows']} rows match.",
                     {"backup": backup.pk, **checked}, user=user, target=backup)
    else:
        record_event("backups", "backup.verify_failed", "failed",
                     f"Backup #{backup.pk} failed verification: {'; '.join(differences)[:300]}",
                     {"backup": backup.pk, "differences": differences[:50]}, user=user, target=backup)
    return backup


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(" ".join(messages) for messages in exc.message_dict.values()) if hasattr(
            exc, "error_dict") else " ".join(exc.messages)
    return str(exc)


# --- restore -----------------------------------------------------------------------------------------

def _code_schema():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    leaves: dict[str, str] = {}
    for app, name in loader.graph.leaf_nodes():
        leaves[app] = max(name, leaves.get(app, ""))
    return set(loader.disk_migrations), leaves


def check_restorable(backup: Backup) -> bool:
    """Refuse (ValidationError) what must not be restored; returns whether migrations must run afterwards."""
    if backup.status != BackupStatus.SUCCEEDED:
        raise ValidationError({"backup": f"Backup #{backup.pk} did not finish ({backup.status}); "
                                         "it cannot be restored."})
    _refuse_other_vendor(backup)
    if not backup.has_database:
        return False
    known, leaves = _code_schema()
    newer = sorted(f"{app}.{name}" for app, name in backup.schema_version.items() if (app, name) not in known)
    if newer:
        raise ValidationError({"backup": f"Backup #{backup.pk} is from a newer schema than this code (migrations "
                                         f"it has that the code does not know: {', '.join(newer)}). Deploy the "
                                         "code it was taken with, or newer, then restore."})
    return any(backup.schema_version.get(app) != name for app, name in leaves.items())


def _catalogue() -> list[dict]:
    return list(Backup.objects.values())


def _put_back_catalogue(rows: list[dict]) -> None:
    """The restored database holds the backup list as it was then: put back the list as it is now."""
    from django.contrib.auth import get_user_model

    users = set(get_user_model().objects.filter(pk__in={r["created_by_id"] for r in rows if r["created_by_id"]})
                .values_list("pk", flat=True))
    with transaction.atomic():
        for row in rows:
            values = dict(row, created_by_id=row["created_by_id"] if row["created_by_id"] in users else None)
            Backup.objects.update_or_create(pk=values.pop("id"), defaults=values)
    from django.core.management.color import no_style

    connection = connections[ALIAS]
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [Backup]):
            cursor.execute(statement)


def _apply(backup: Backup, paths: dict, migrate: bool) -> None:
    """Put the files' content in place of the live data and prove it arrived whole."""
    if "database" in paths:
        engines.restore(ALIAS, paths["database"])
        differences = table_stats.compare(backup.source_stats.get("tables", {}), engines.live_stats(ALIAS))
        if differences:
            raise BackupError("the restored database does not match the backup: " + "; ".join(differences[:5]))
        if migrate:
            call_command("migrate", interactive=False, verbosity=0)
    if "media" in paths:
        media.restore_media(paths["media"])


def _fetch_all(backup: Backup, scratch) -> dict:
    paths = {}
    for role in ("database", "media"):
        entry = backup.file_for(role)
        if entry:
            try:
                paths[role] = files.fetch(entry, scratch)
            except ValidationError as exc:
                raise ValidationError({"backup": _message(exc)}) from exc
    return paths


def restore_backup(backup: Backup, user) -> Backup:
    """Restore a backup over the live data; returns the safety backup taken first.

    Refused before anything changes: not finished, another vendor, a newer schema, a file that does
    not match its SHA-256. Then: a verified safety backup of the same content, maintenance mode, the
    restore (stopping at the first error), a comparison with the backup's stats, migrations when the
    backup is from an older schema, the backup list put back, maintenance off. When any of that fails
    the safety backup is restored and RestoreFailed says so.
    """
    migrate = check_restorable(backup)
    scratch = files.work_dir()
    try:
        paths = _fetch_all(backup, scratch)
        safety = create_backup(content=backup.content, kind=BackupKind.SAFETY, user=user)
        if safety.verification_status != VerificationStatus.PASSED:
            raise BackupError(f"The safety backup #{safety.pk} failed verification, so nothing was restored: "
                              + "; ".join(safety.verification_result.get("differences", [])))
        catalogue = _catalogue()
        maintenance.enter(f"Restoring backup #{backup.pk}")
        try:
            _apply(backup, paths, migrate)
        except Exception as exc:
            logger.exception("Restore of backup #%s failed; rolling back to safety backup #%s", backup.pk, safety.pk)
            _roll_back(backup, safety, catalogue, exc, user)  # raises RestoreFailed
        _put_back_catalogue(catalogue)
        maintenance.leave()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    record_event("backups", "backup.restored", "succeeded",
                 f"Backup #{backup.pk} of {backup.started_at:%Y-%m-%d %H:%M} restored (safety backup #{safety.pk}"
                 f"{', migrations applied' if migrate else ''}).",
                 {"backup": backup.pk, "safety_backup": safety.pk, "migrated": migrate}, user=_existing(user),
                 target=backup)
    _audit(user, backup, f"Restored backup #{backup.pk}; safety backup #{safety.pk} taken first.")
    return safety


def _roll_back(backup: Backup, safety: Backup, catalogue: list[dict], error: Exception, user) -> None:
    scratch = files.work_dir()
    try:
        _apply(safety, _fetch_all(safety, scratch), migrate=False)
        _put_back_catalogue(catalogue)
    except Exception as second:
        logger.exception("Rolling back to safety backup #%s failed", safety.pk)
        raise RestoreFailed(
            f"Restore of backup #{backup.pk} failed ({error}) and rolling back to safety backup #{safety.pk} failed "
            f"too ({second}). The site stays in maintenance mode: restore backup #{safety.pk} with "
            f"`manage.py backup restore {safety.pk}`, then `manage.py backup maintenance off`.",
            rolled_back=False, safety_id=safety.pk) from error
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    maintenance.leave()
    message = (f"Restore of backup #{backup.pk} failed: {error}. Rolled back to safety backup #{safety.pk}: "
               "the data is as it was before the restore.")
    record_event("backups", "backup.restore_rolled_back", "failed", message,
                 {"backup": backup.pk, "safety_backup": safety.pk, "error": str(error)}, user=_existing(user),
                 target=backup)
    _audit(user, backup, message)
    raise RestoreFailed(message, rolled_back=True, safety_id=safety.pk) from error


def _existing(user):
    """The user, if they exist in the (restored) database; an event or audit row cannot name a missing one."""
    if user is None or not getattr(user, "pk", None):
        return None
    from django.contrib.auth import get_user_model

    return user if get_user_model().objects.filter(pk=user.pk).exists() else None


def _audit(user, backup: Backup, message: str) -> None:
    user = _existing(user)
    if user is None or not Backup.objects.filter(pk=backup.pk).exists():
        return
    LogEntry.objects.log_actions(user.pk, [backup], CHANGE, change_message=message, single_object=True)


# --- rotation, schedule, freshness, what a restore loses --------------------------------------------

def _delete_quietly(entry: dict) -> None:
    try:
        files.delete(entry)
    except Exception:
        logger.exception("Could not delete backup file %s", entry.get("name"))


def delete_backup(backup: Backup, user=None) -> None:
    for entry in backup.files:
        _delete_quietly(entry)
    pk = backup.pk
    backup.delete()
    record_event("backups", "backup.deleted", "info", f"Backup #{pk} deleted.", {"backup": pk}, user=user)


def rotate() -> int:
    """Keep the newest BACKUP_KEEP_SCHEDULED successful scheduled backups; older scheduled ones go.
    Manual and safety backups stay until someone deletes them."""
    keep = max(1, settings.BACKUP_KEEP_SCHEDULED)
    scheduled = Backup.objects.filter(kind=BackupKind.SCHEDULED).exclude(status=BackupStatus.RUNNING)
    kept = list(scheduled.filter(status=BackupStatus.SUCCEEDED).order_by("-started_at", "-id")[:keep])
    if len(kept) < keep:
        return 0
    oldest = kept[-1]
    doomed = scheduled.filter(started_at__lte=oldest.started_at).exclude(pk__in=[b.pk for b in kept])
    count = 0
    for backup in doomed:
        delete_backup(backup)
        count += 1
    return count


def _slot(now):
    hour, minute = (int(part) for part in settings.BACKUP_DAILY_AT.split(":"))
    local = timezone.localtime(now)
    slot = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return slot if local >= slot else slot - timedelta(days=1)


def run_scheduled_backup() -> int:
    """Scheduler hook: queue the daily backup once its time of day (BACKUP_DAILY_AT) has passed.

    A slot missed while nothing ran (the machine was off) is caught up at the next tick.
    """
    if not settings.BACKUP_SCHEDULE_ENABLED:
        return 0
    slot = _slot(timezone.now())
    if Backup.objects.filter(kind=BackupKind.SCHEDULED, started_at__gte=slot).exists():
        return 0
    if JobRun.objects.filter(name=JOB_NAME, status__in=JOB_ACTIVE_STATUSES).exists():
        return 0
    backup_job.enqueue(kind=BackupKind.SCHEDULED, content=settings.BACKUP_SCHEDULE_CONTENT)
    return 1


def freshness() -> dict:
    """The newest successful backup of the database: {"last_success_at", "age_seconds", "backup_id", "stale"}.

    The hook for health checks and metrics (the Operations issue's): `stale` is true when there is none,
    or it is older than BACKUP_MAX_AGE_HOURS.
    """
    latest = (Backup.objects.filter(status=BackupStatus.SUCCEEDED,
                                    content__in=[BackupContent.DATABASE, BackupContent.BOTH])
              .order_by("-finished_at").first())
    if latest is None:
        return {"last_success_at": None, "age_seconds": None, "backup_id": None, "stale": True}
    age = (timezone.now() - latest.finished_at).total_seconds()
    return {"last_success_at": latest.finished_at, "age_seconds": round(age, 1), "backup_id": latest.pk,
            "stale": age > settings.BACKUP_MAX_AGE_HOURS * 3600}


def changes_since(backup: Backup) -> list[dict]:
    """What a restore of this backup would lose or bring back, per table:
    [{"table", "rows_then", "rows_now", "effect"}].

    From the backup's own stats and the live database's now; a table whose rows changed with the
    same count is listed too (rows replaced or edited keys)."""
    if not backup.has_database or backup.vendor != engines.vendor(ALIAS):
        return []
    then, now = backup.source_stats.get("tables", {}), engines.live_stats(ALIAS)
    changed = []
    for table in sorted(set(then) | set(now)):
        before, after = then.get(table), now.get(table)
        if before != after and table != Backup._meta.db_table:
            rows_then, rows_now = (before or {}).get("rows"), (after or {}).get("rows")
            changed.append({"table": table, "rows_then": rows_then, "rows_now": rows_now,
                            "effect": _effect(rows_then, rows_now)})
    return changed


def _effect(rows_then, rows_now) -> str:
    if rows_then is None:
        return "table dropped (created after the backup)"
    if rows_now is None:
        return "table re-created"
    if rows_now > rows_then:
        return f"at least {rows_now - rows_then} newer row(s) lost"
    if rows_now < rows_then:
        return f"{rows_then - rows_now} deleted row(s) come back"
    return "rows were replaced since: those changes are lost"
