"""`manage.py backup create|list|verify|restore|delete|maintenance|export`: backups from a shell.

Every subcommand acts as a user (--user USERNAME, default the first active admin) and asks the
Backup rule (admins only) before doing anything: another role gets "permission denied", exit 1.
`restore` shows what it would lose and asks for the confirmation phrase; without a terminal it
refuses unless --yes is given.
"""

import sys

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from accounts.commands import resolve_user
from accounts.roles import Action
from lofisite.commands import BaseCommand
from lofisite.formatting import format_bytes
from monitoring.backups import export, maintenance, services
from monitoring.backups.engines import BackupError
from monitoring.choices import BackupContent
from monitoring.models import Backup

ACTIONS = {"create": Action.ADD, "list": Action.VIEW, "verify": Action.CHANGE, "restore": Action.CHANGE,
           "delete": Action.DELETE, "maintenance": Action.CHANGE, "export": Action.VIEW}


def _text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


class Command(BaseCommand):
    help = "Create, list, verify, restore and delete backups; maintenance mode; exports."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)

        def add(name, text):
            command = sub.add_parser(name, help=text)
            command.add_argument("--user", help="Act as this user (default: the first admin).")
            return command

        create = add("create", "Back up the database now (and the media files with --media), then verify it.")
        create.add_argument("--media", action="store_true", help="Also back up MEDIA_ROOT.")
        create.add_argument("--media-only", action="store_true", help="Back up only MEDIA_ROOT.")
        create.add_argument("--no-verify", action="store_true", help="Skip the verification (not recommended).")
        add("list", "The backups, newest first.")
        verify = add("verify", "Restore a backup into a scratch database and compare it with its source.")
        verify.add_argument("backup_id", type=int, metavar="ID")
        restore = add("restore", "Restore a backup over the live data (a safety backup is taken first).")
        restore.add_argument("backup_id", type=int, metavar="ID")
        restore.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")
        delete = add("delete", "Delete a backup and its files.")
        delete.add_argument("backup_id", type=int, metavar="ID")
        maint = add("maintenance", "Show, or turn on/off, maintenance mode (e.g. after a restore was killed).")
        maint.add_argument("state", nargs="?", choices=["on", "off", "status"], default="status")
        exporter = add("export", export.HELP)
        export.add_arguments(exporter)

    def handle(self, *args, subcommand, user=None, **options):
        actor = resolve_user(user)
        if not Backup.objects.model_permits(actor, ACTIONS[subcommand]):
            raise CommandError(f"Permission denied: {actor.username} may not {subcommand} backups (admins only).")
        self.actor = actor
        try:
            if subcommand == "export":
                return export.handle(self, **options)
            getattr(self, f"handle_{subcommand}")(**options)
        except (ValidationError, BackupError) as exc:
            raise CommandError(_text(exc)) from exc

    def _get(self, backup_id: int) -> Backup:
        backup = Backup.objects.restrict(self.actor, Action.VIEW).filter(pk=backup_id).first()
        if backup is None:
            raise CommandError(f"No backup #{backup_id}: `manage.py backup list` shows them.")
        return backup

    def _line(self, backup: Backup) -> str:
        verified = backup.get_verification_status_display().lower()
        return (f"#{backup.pk:<5} {backup.started_at:%Y-%m-%d %H:%M}  {backup.kind:<9} {backup.content:<8} "
                f"{backup.status:<9} {format_bytes(backup.size):>9}  verification {verified}")

    def handle_create(self, *, media, media_only, no_verify, **options):
        content = BackupContent.MEDIA if media_only else BackupContent.BOTH if media else BackupContent.DATABASE
        backup = services.create_backup(content=content, user=self.actor, verify=not no_verify)
        self.stdout.write(self._line(backup))
        differences = backup.verification_result.get("differences", [])
        if differences:
            raise CommandError(f"Backup #{backup.pk} was taken but FAILED verification: " + "; ".join(differences))
        self.stdout.write(self.style.SUCCESS(f"Backup #{backup.pk} taken"
                                             + ("." if no_verify else " and verified.")))

    def handle_list(self, **options):
        rows = Backup.objects.restrict(self.actor, Action.VIEW)
        if not rows.exists():
            self.stdout.write("No backups yet: `manage.py backup create`.")
        for backup in rows:
            self.stdout.write(self._line(backup))

    def handle_verify(self, *, backup_id, **options):
        backup = services.verify_backup(self._get(backup_id), user=self.actor)
        result = backup.verification_result
        if not result.get("ok"):
            raise CommandError(f"Backup #{backup.pk} FAILED verification: " + "; ".join(result.get("differences", [])))
        self.stdout.write(self.style.SUCCESS(f"Backup #{backup.pk} verified: {result['tables']} tables, "
                                             f"{result['rows']} rows match the source ({result['seconds']} s)."))

    def handle_restore(self, *, backup_id, yes, **options):
        backup = self._get(backup_id)
        services.check_restorable(backup)
        if not yes:
            if not sys.stdin.isatty():
                raise CommandError("Refusing to restore without confirmation: no terminal to ask on. "
                                   "Pass --yes to restore anyway.")
            self.stdout.write(f"Restoring backup #{backup.pk} of {backup.started_at:%Y-%m-%d %H:%M} replaces "
                              "everything changed since then:")
            for change in services.changes_since(backup) or [{"table": "(no table differs)"}]:
                self.stdout.write(f"  {change['table']}: {change.get('rows_now', '-')} rows now, "
                                  f"{change.get('rows_then', '-')} in the backup")
            phrase = f"restore backup {backup.pk}"
            if input(f'Type "{phrase}" to go on: ').strip() != phrase:
                raise CommandError("Not confirmed; nothing was changed.")
        safety = services.restore_backup(backup, self.actor)
        self.stdout.write(self.style.SUCCESS(f"Backup #{backup.pk} restored. Safety backup #{safety.pk} holds the data "
                                             "as it was just before."))

    def handle_delete(self, *, backup_id, **options):
        services.delete_backup(self._get(backup_id), user=self.actor)
        self.stdout.write(self.style.SUCCESS(f"Backup #{backup_id} deleted."))

    def handle_maintenance(self, *, state, **options):
        if state == "on":
            maintenance.enter(f"turned on by {self.actor.username}")
        elif state == "off":
            maintenance.leave()
        current = maintenance.status()
        self.stdout.write(f"Maintenance mode is on: {current['reason']} (since {current['since']})." if current
                          else "Maintenance mode is off.")
