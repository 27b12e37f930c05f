"""`manage.py migrate_database --to URL`: copy the site's database into another one (SQLite <->
PostgreSQL), verified table by table; see monitoring.backups.migrate for how."""

from pathlib import Path

from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError

from accounts.commands import resolve_user
from accounts.roles import Action
from lofisite.commands import BaseCommand
from monitoring.backups import migrate
from monitoring.models import Backup

BAR_WIDTH = 30


class Command(BaseCommand):
    help = ("Copy every row of this site's database (or --from URL) into an empty database at --to URL, "
            "schema by migrations, in one transaction, verified by row counts and primary-key checksums.")

    def add_arguments(self, parser):
        parser.add_argument("--to", required=True, metavar="URL",
                            help="The target: postgres://user@host:5432/name or sqlite:////abs/path/file.sqlite3 "
                                 "(no password in the URL: set PGPASSWORD or ~/.pgpass, libpq reads them).")
        parser.add_argument("--from", dest="source_url", metavar="URL",
                            help="Copy from this database instead of the site's own (same URL forms).")
        parser.add_argument("--force", action="store_true",
                            help="Empty a target that already has tables first (everything in it is lost).")
        parser.add_argument("--user", metavar="USERNAME",
                            help="The admin the copy is made as (default: the first active admin).")

    def handle(self, *args, to, source_url=None, force=False, user=None, **options):
        self._tty = hasattr(self.stdout._out, "isatty") and self.stdout._out.isatty()
        self._last_table = None
        try:
            target_url = to
            _check_sqlite_folder(target_url)
            with migrate.extra_database("migrate_target", target_url) as target:
                if source_url:
                    with migrate.extra_database("migrate_source", source_url) as source:
                        result = self._copy(source, target, force, user)
                else:
                    result = self._copy(DEFAULT_DB_ALIAS, target, force, user)
        except migrate.MigrationRefused as exc:
            raise CommandError(str(exc)) from exc
        except DatabaseError as exc:
            raise CommandError(f"The database refused the copy, nothing was kept in the target: {exc}") from exc
        if self._tty:
            self.stdout.write("")
        rate = result.rows / result.seconds if result.seconds else 0
        self.stdout.write(self.style.SUCCESS(
            f"Copied {result.rows:,} rows of {result.tables} tables in {result.seconds:.1f} s ({rate:,.0f} rows/s); "
            "every table's row count and primary-key checksum match the source."))

    def _copy(self, source, target, force, username):
        migrate.check_distinct(source, target)
        migrate.check_source(source)  # first: the admin is looked up there, before the target is touched
        user = resolve_user(username, using=source)
        if not Backup.objects.model_permits(user, Action.ADD):
            raise CommandError(f"Permission denied: {user.username} may not copy the database (admins only).")
        return migrate.copy_database(source, target, force=force, report=self._report)

    def _report(self, progress):
        if self._tty:  # one line redrawn: a bar
            share = progress.done / progress.total if progress.total else 1
            filled = int(BAR_WIDTH * share)
            self.stdout.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:4.0%} "
                              f"{progress.done:,}/{progress.total:,} rows  {progress.table[:40]:<40}", ending="")
            self.stdout.flush()
        elif progress.table != self._last_table:  # a log or a pipe: one plain line per table
            self.stdout.write(f"{progress.done:,}/{progress.total:,} rows copied; now {progress.table}")
        self._last_table = progress.table


def _check_sqlite_folder(url: str):
    config = migrate.database_settings(url)
    if config["ENGINE"] == migrate.VENDORS["sqlite"] and not Path(config["NAME"]).parent.is_dir():
        raise CommandError(f"--to {url}: the folder {Path(config['NAME']).parent} does not exist.")
