"""`manage.py vinted sync-inbox [--account ID]`: sync the inbox of one account, or of every active
account, now (in this process, through the ledger and the `vinted` breaker like the scheduled job).

Prints one row per account (new conversations, new messages, or what stopped it); exit status 1
when any account could not be synced (its status and message say what to do)."""

from django.core.management.base import CommandError

from lofisite.commands import table
from monitoring.jobs import TransientError

from ..ledger import VintedError
from ..models import VintedAccount
from ..services import inbox

HELP = "Sync Vinted inboxes now: every active account, or --account ID."


def add_arguments(parser):
    parser.add_argument("--account", type=int, metavar="ID", help="Only this account (whatever its status).")


def handle(command, *, account=None, **options):
    if account is not None:
        accounts = list(VintedAccount.objects.filter(pk=account))
        if not accounts:
            raise CommandError(f"No Vinted account #{account}.")
    else:
        accounts = list(VintedAccount.objects.usable())
        if not accounts:
            command.stdout.write("No active Vinted account to sync.")
            return
    rows, failed = [("ACCOUNT", "NEW CONVERSATIONS", "NEW MESSAGES", "RESULT")], 0
    for row in accounts:
        try:
            result = inbox.sync_account(row)
        except (VintedError, TransientError) as exc:
            failed += 1
            row.refresh_from_db()
            rows.append((f"#{row.pk} {row.label}", "-", "-",
                         f"{row.get_status_display()}: {getattr(exc, 'message', None) or exc}"))
            continue
        rows.append((f"#{row.pk} {row.label}", result["conversations"], result["messages"], "synced"))
    for line in table(rows):
        command.stdout.write(line)
    if failed:
        raise CommandError(f"{failed} of {len(accounts)} account(s) could not be synced.", returncode=1)
