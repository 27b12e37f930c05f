"""`manage.py vinted draft --listing ID [--overwrite] [--user USERNAME]`: draft one listing with AI.

It acts as --user (default: the listing's owner), whose permission and AI budget apply."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import CommandError

from accounts.models import User
from lofisite.validation import error_text
from monitoring import ai

from ..models import Listing
from ..services import drafts

HELP = "Draft a listing from its photos with AI (offline: only the colours), keeping the seller's own edits."


def add_arguments(parser):
    parser.add_argument("--listing", type=int, required=True, metavar="ID", help="The listing's id.")
    parser.add_argument("--overwrite", action="store_true", help="Also replace the fields the seller set.")
    parser.add_argument("--user", metavar="USERNAME", help="Act as this user (default: the listing's owner).")


def handle(command, *, listing, overwrite=False, user=None, **options):
    row = Listing.objects.select_related("owner").filter(pk=listing).first()
    if row is None:
        raise CommandError(f"No listing #{listing}.")
    actor = row.owner
    if user:
        actor = User.objects.filter(username=user, is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user named {user!r}.")
    try:
        result = drafts.draft_listing(actor, row, overwrite=overwrite)
    except PermissionDenied as exc:
        raise CommandError(f"{actor.username} may not change listing #{row.pk}.") from exc
    except ValidationError as exc:
        raise CommandError(error_text(exc)) from exc
    except ai.AIError as exc:
        raise CommandError(drafts.ai_error_text(exc)) from exc
    row.refresh_from_db()
    labels = drafts.field_labels
    how = "offline (no AI key: colours from the pixels)" if result.offline else (
        f"with {result.model}, cost ${result.cost_usd:.6f}")
    out = command.stdout
    out.write(f"Listing #{row.pk} {str(row)!r} drafted {how}.")
    out.write(f"Filled: {', '.join(labels(result.filled)) or 'nothing'}")
    if result.kept:
        out.write(f"Kept (set by the seller): {', '.join(labels(result.kept))}")
    for name, reason in result.rejected.items():
        out.write(f"Rejected {labels([name])[0]}: {reason}")
    out.write(f"Needs you: {', '.join(labels(result.needs_user)) or 'nothing'}")
