"""`manage.py backup export` (the other subcommands, create/list/verify/restore, come with the
backups work; its full command calls monitoring.backups.export the same way)."""

from django.core.management.base import BaseCommand

from monitoring.backups import export


class Command(BaseCommand):
    help = "Backups of the database and media; `backup export` writes a JSON or SQL export."

    def add_arguments(self, parser):
        subcommands = parser.add_subparsers(dest="subcommand", required=True)
        export.add_arguments(subcommands.add_parser("export", help=export.HELP))

    def handle(self, *args, subcommand=None, **options):
        if subcommand == "export":
            return export.handle(self, **options)
