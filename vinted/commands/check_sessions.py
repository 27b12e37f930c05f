"""`manage.py vinted check-sessions [--account ID]`: validate the session of every active account (or
of one account, whatever its status) with one cheap authenticated request each, and print a table.
Exit status 0 when every checked account is active afterwards, 1 otherwise."""

from django.core.management.base import CommandError

from lofisite.commands import table

from ..choices import AccountStatus
from ..models import VintedAccount
from ..services import accounts

HELP = "Check the Vinted sessions of every active account (or --account ID); exit 1 if any needs attention."


def add_arguments(parser):
    parser.add_argument("--account", type=int, metavar="ID", help="Check only this account (any status).")


def handle(command, *, account=None, **options):
    if account is not None:
        queryset = VintedAccount.objects.filter(pk=account)
        if not queryset.exists():
            raise CommandError(f"No Vinted account #{account}.")
    else:
        queryset = VintedAccount.objects.usable()
    queryset = queryset.select_related("owner").order_by("pk")
    if not queryset.exists():
        command.stdout.write("No active Vinted accounts to check.")
        return
    checked = accounts.check_sessions(queryset)
    rows = [("ID", "ACCOUNT", "OWNER", "STATUS", "MESSAGE")]
    for row in checked:
        message = row.check_error or row.status_message or (
            f"Signed in as {row.vinted_login}." if row.vinted_login else "OK")
        rows.append((row.pk, row.label, row.owner.get_username(), row.get_status_display(), message))
    for line in table(rows):
        command.stdout.write(line)
    failing = [row for row in checked if row.check_error or row.status != AccountStatus.ACTIVE]
    if failing:
        raise CommandError(f"{len(failing)} of {len(checked)} account(s) need attention.", returncode=1)
