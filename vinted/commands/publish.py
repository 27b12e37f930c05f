"""`manage.py vinted publish LISTING [--account ID] [--yes] [--user USERNAME]`: prepare a listing on
Vinted here and now (Chromium fills the form and stops), show the values read back from the form,
ask "Publish? [y/N]", then publish the confirmed snapshot.

Exit status: 0 published, or prepared on a dry-run account (which stops there and says so);
1 an error (not ready, no account, Vinted refused, the read-back differed: nothing was submitted);
2 not confirmed (answered no, or no terminal to ask in and no --yes).
"""

import sys
import uuid

from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError

from accounts.models import User
from lofisite.commands import table
from monitoring.jobs import TransientError

from ..choices import PublicationStatus
from ..models import Listing, VintedAccount
from ..services import publishing

HELP = ("Prepare a listing on Vinted, show what the form holds, and publish it once confirmed "
        "(exit 0 published or dry run, 1 error, 2 not confirmed).")
NOT_CONFIRMED = 2
LABELS = {"title": "Title", "description": "Description", "catalog_id": "Category id", "brand_id": "Brand id",
          "size_id": "Size id", "status_id": "Condition id", "color_ids": "Colour ids", "price": "Price",
          "package_size_id": "Package size id"}


def add_arguments(parser):
    parser.add_argument("listing", type=int, metavar="LISTING", help="The listing's id.")
    parser.add_argument("--account", type=int, metavar="ID",
                        help="The Vinted account to publish on (default: the owner's only active account).")
    parser.add_argument("--yes", action="store_true", help="Publish without asking (the values are still shown).")
    parser.add_argument("--user", metavar="USERNAME", help="Act as this user (default: the listing's owner).")


def _actor(row, username):
    if not username:
        return row.owner
    actor = User.objects.filter(username=username, is_active=True).first()
    if actor is None:
        raise CommandError(f"No active user named {username!r}.")
    return actor


def _account(row, account_id):
    if account_id is None:
        account = publishing.default_account(row)
        if account is None:
            raise CommandError(f"Name the Vinted account with --account: {row.owner.username} has none active, "
                               "or more than one.")
        return account
    account = VintedAccount.objects.filter(pk=account_id).first()
    if account is None:
        raise CommandError(f"No Vinted account #{account_id}.")
    return account


def _show(out, snapshot):
    values = snapshot.get("values", {})
    rows = [("Field", "Value")]
    for key, label in LABELS.items():
        value = values.get(key, "")
        value = ", ".join(value) if isinstance(value, list) else str(value)
        rows.append((label, (value.replace("\n", " ")[:77] + "...") if len(value) > 80 else value.replace("\n", " ")))
    rows.append(("Photos", f"{len(snapshot.get('photo_hashes', []))} (in order)"))
    for line in table(rows):
        out.write(line)


def _failed(publication) -> CommandError:
    lines = [f"Publication #{publication.pk} failed: {publication.error}"]
    for name, diff in (publication.difference or {}).items():
        lines.append(f"  {name}: expected {diff.get('expected')!r}, the form held {diff.get('found')!r}")
    return CommandError("\n".join(lines))


def _confirmed(command, yes) -> bool:
    if yes:
        return True
    stdin = sys.stdin
    if stdin is None or not stdin.isatty():
        command.stderr.write("Not published: no terminal to ask in. Run it in a terminal, or add --yes.")
        return False
    command.stdout.write("Publish? [y/N] ", ending="")
    command.stdout.flush()
    answer = stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def _run(job, publication) -> None:
    """Run the job here (retries sleep in place); its failure is on the publication."""
    try:
        job.call(publication.pk)
    except Exception as exc:
        publication.refresh_from_db()
        if publication.status == PublicationStatus.FAILED:
            raise _failed(publication) from exc
        if isinstance(exc, TransientError):
            raise CommandError(f"Vinted or the browser is unavailable: {exc}") from exc
        raise CommandError(f"{type(exc).__name__}: {exc}") from exc
    publication.refresh_from_db()


def handle(command, *, listing, account=None, yes=False, user=None, **options):
    from ..tasks import prepare_publication, publish_publication

    row = Listing.objects.select_related("owner", "account").filter(pk=listing).first()
    if row is None:
        raise CommandError(f"No listing #{listing}.")
    actor = _actor(row, user)
    chosen = _account(row, account)
    out = command.stdout
    try:
        publication = publishing.request_prepare(row, chosen, by_user=actor, enqueue=False)
        out.write(f"Preparing listing #{row.pk} {str(row)!r} on {chosen.label} (Chromium)...")
        _run(prepare_publication, publication)
        if publication.status == PublicationStatus.FAILED:
            raise _failed(publication)
        _show(out, publication.snapshot)
        out.write(f"Screenshot: {publication.screenshot.name}")
        if publication.status == PublicationStatus.DRY_RUN:
            out.write(publication.error)
            return
        if not _confirmed(command, yes):
            raise CommandError("Not published.", returncode=NOT_CONFIRMED)
        token, _expires = publishing.issue_confirm_token(publication, by_user=actor)
        publication = publishing.request_publish(publication, token, f"cli-{uuid.uuid4()}", by_user=actor,
                                                 enqueue=False)
        out.write("Publishing...")
        _run(publish_publication, publication)
    except PermissionDenied as exc:
        raise CommandError(f"{actor.username} may not publish listing #{row.pk} on {chosen.label}: {exc}") from exc
    except publishing.PublishRefused as exc:
        fields = exc.details.get("fields") or {}
        extra = "".join(f"\n  {name}: {' '.join(messages)}" for name, messages in fields.items())
        raise CommandError(f"{exc.message}{extra}") from exc
    publication.refresh_from_db()
    if publication.status != PublicationStatus.PUBLISHED:
        raise _failed(publication)
    out.write(f"Published: Vinted item {publication.vinted_item_id} {publication.vinted_url}")
