"""`manage.py vinted automation --account ID --dry-run [--hours 24]`: what automation of one account
would do in the next hours, as a table (local time in the account's time zone, feature, what), or
"Nothing scheduled" and why (paused, the account is not active, every feature off, nothing due).

It only previews: it writes nothing and sends nothing. Automation itself runs from the scheduler
hooks (settings.SCHEDULER_HOOKS), so without --dry-run the command refuses (exit status 2) rather
than suggest it would act. An unknown account id is a CommandError (exit status 1)."""

from django.core.management.base import CommandError

from lofisite.commands import table

from ..choices import AutomationFeature
from ..models import VintedAccount
from ..services import automation

HELP = "Show what automation of a Vinted account would do in the next 24 h (--dry-run; it only previews)."


def add_arguments(parser):
    parser.add_argument("--account", type=int, metavar="ID", required=True)
    parser.add_argument("--dry-run", action="store_true",
                        help="Only show what would happen (required: this command never acts).")
    parser.add_argument("--hours", type=int, default=24,
                        help=f"How far ahead, 1..{automation.UPCOMING_HOURS_MAX} (default 24).")


def planned_lines(account, planned) -> list[str]:
    """The table of planned actions, times in the account's time zone."""
    tz = automation.zone(automation.settings_for(account))
    rows = [("LOCAL TIME", "FEATURE", "WHAT")]
    rows += [(item.at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z"), AutomationFeature(item.feature).label,
              item.what) for item in planned]
    return table(rows)


def nothing_reason(account, hours: int) -> str:
    reason = automation.inactive_reason(account)
    if reason:
        return reason
    settings = automation.settings_for(account)
    if not any(automation.feature_on(settings, feature) for feature in AutomationFeature.values):
        return "every feature is off for this account (turn them on on its Automation page)."
    return f"nothing is due in the next {hours} h."


def handle(command, *, account, dry_run=False, hours=24, **options):
    if not dry_run:
        raise CommandError("This command only previews what automation would do: add --dry-run. "
                           "Automation itself runs from the scheduler.", returncode=2)
    if not 1 <= hours <= automation.UPCOMING_HOURS_MAX:
        raise CommandError(f"--hours must be from 1 to {automation.UPCOMING_HOURS_MAX}.", returncode=2)
    row = VintedAccount.objects.select_related("automation").filter(pk=account).first()
    if row is None:
        raise CommandError(f"No Vinted account #{account}.")
    command.stdout.write(f"Automation of #{row.pk} {row.label}, next {hours} h (dry run: nothing is sent):")
    planned = automation.upcoming(row, hours=hours)
    if not planned:
        command.stdout.write(f"Nothing scheduled: {nothing_reason(row, hours)}")
        return
    for line in planned_lines(row, planned):
        command.stdout.write(line)
