"""`manage.py vinted automation --account ID --dry-run`: what automation of an account would do in the
next 24 h. TO BE BUILT (part 3)."""

from django.core.management.base import CommandError

HELP = "Show what automation of a Vinted account would do in the next 24 h (--dry-run)."


def add_arguments(parser):
    parser.add_argument("--account", type=int, metavar="ID", required=True)
    parser.add_argument("--dry-run", action="store_true", help="Only show what would happen (nothing is sent).")
    parser.add_argument("--hours", type=int, default=24)


def handle(command, *, account, dry_run=False, hours=24, **options):
    raise CommandError("Not built yet.")
