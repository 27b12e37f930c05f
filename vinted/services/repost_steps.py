"""The steps of one repost (the `vinted.repost` job's body, `advance`), moved on from the Repost row:

    scheduled --(relist + prepare)--> relisting --(publish, automatically)--> deleting --(delete old)--> done

- **Start** (scheduled): right before acting, automation.inactive_reason(account, reposts) and the listing
  still live and unsold are checked again. Then part 2's relist makes the new listing (delete_old=False),
  it is marked ready and the publishing service's prepare job fills Vinted's form (Chromium).
- **Publish** (relisting, once the prepare finished): the seller opted in, so no person confirms: the
  token is issued internally (on behalf of the account's owner) and the Idempotency-Key is
  `repost-<id>`, so a retried step publishes once. The human path of vinted.services.publishing is unchanged.
- **Delete the old** (deleting): only once the new listing has its Vinted item id, relist.delete_on_vinted.
- A failure before the new listing is live leaves the old one live and untouched (status failed, with
  why). A failure deleting the old one leaves both live (failed, with why); a retry only deletes.
- Every Vinted write goes through the ledger (the browser's submit, the client's delete). A dry-run
  account sends nothing: the outcome is dry_run. Each step and outcome is recorded (automation.record).
"""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from monitoring.jobs import TransientError, current_attempt

from ..choices import AutomationOutcome, ListingStatus, PublicationStatus, RepostStatus
from ..models import Listing, Repost
from . import automation, listings, publishing, relist
from .reposts import FEATURE

logger = logging.getLogger(__name__)

OLD_STAYS = "The old listing is still live on Vinted, untouched."


def _record(repost, outcome, message, **details):
    automation.record(repost.account, FEATURE, outcome, message, listing=repost.listing, repost=repost.pk, **details)


def _fail(repost, message: str, *, expected=None) -> None:
    now = timezone.now()
    updated = Repost.objects.filter(pk=repost.pk, status=expected or repost.status).update(
        status=RepostStatus.FAILED, error=message[:2000], finished_at=now, updated_at=now)
    if updated:
        repost.status, repost.error = RepostStatus.FAILED, message
        _record(repost, AutomationOutcome.FAILED, message)


def _end(repost, status, message: str, outcome) -> None:
    now = timezone.now()
    if Repost.objects.filter(pk=repost.pk, status=repost.status).update(status=status, error=message[:2000],
                                                                        finished_at=now, updated_at=now):
        repost.status = status
        _record(repost, outcome, message)


def _last_attempt() -> bool:
    from ..tasks import REPOST_MAX_ATTEMPTS  # the job's own max_attempts (tasks imports no service at load)

    attempt = current_attempt()
    return attempt is None or attempt >= REPOST_MAX_ATTEMPTS


def _stopped(repost) -> str:
    """Why the repost may not act now ("" when it may); recorded, the row stays as it is."""
    reason = automation.inactive_reason(repost.account, FEATURE)
    if reason:
        paused = automation.settings_for(repost.account).paused
        outcome = AutomationOutcome.PAUSED if paused else AutomationOutcome.SKIPPED
        _record(repost, outcome, f"The repost of {repost.listing} waits: {reason}")
    return reason


def advance(repost_id: int) -> dict:
    """Run the repost's next step(s) as far as they go now; answers what happened (the job's result)."""
    repost = Repost.objects.select_related("account", "account__owner", "listing", "new_listing").filter(
        pk=repost_id).first()
    if repost is None or repost.status not in (RepostStatus.SCHEDULED, RepostStatus.RELISTING,
                                               RepostStatus.DELETING):
        return {"repost": repost_id, "status": getattr(repost, "status", None), "note": "Nothing to do."}
    if _stopped(repost):
        return {"repost": repost.pk, "status": repost.status, "note": "Automation may not act now."}
    if repost.status == RepostStatus.SCHEDULED:
        _start(repost)
    elif repost.status == RepostStatus.RELISTING:
        _publish(repost)
    if repost.status == RepostStatus.DELETING:
        _delete_old(repost)
    return {"repost": repost.pk, "status": repost.status}


# --- start: relist and prepare -----------------------------------------------------------------------------

def _start(repost) -> None:
    listing = Listing.objects.get(pk=repost.listing_id)
    repost.listing = listing
    if listing.status != ListingStatus.PUBLISHED or not listing.vinted_item_id or listing.sold_at:
        _end(repost, RepostStatus.CANCELLED, f"Not reposted: {listing} is {listing.get_status_display().lower()} "
                                             "now, no longer live and unsold.", AutomationOutcome.SKIPPED)
        return
    if repost.account.dry_run:
        _end(repost, RepostStatus.CANCELLED,
             f"Dry run: nothing was sent to Vinted. {listing} would have been relisted as a new listing, published, "
             f"then its item {listing.vinted_item_id} deleted.", AutomationOutcome.DRY_RUN)
        return
    if not Repost.objects.filter(pk=repost.pk, status=RepostStatus.SCHEDULED).update(
            status=RepostStatus.RELISTING, updated_at=timezone.now()):
        return  # another worker took it
    repost.status = RepostStatus.RELISTING
    owner = repost.account.owner
    try:
        with transaction.atomic():
            new = relist.relist(listing, by_user=owner, delete_old=False,
                                stale_days=automation.settings_for(repost.account).repost_after_days)
            Repost.objects.filter(pk=repost.pk).update(new_listing=new, updated_at=timezone.now())
        repost.new_listing = new
    except (ValidationError, PermissionDenied) as exc:
        _fail(repost, f"The listing could not be relisted: {' '.join(getattr(exc, 'messages', [str(exc)]))} "
                      f"{OLD_STAYS}")
        return
    except Exception as exc:  # failed, not retried from the row at every tick
        logger.exception("Relist of repost #%s failed", repost.pk)
        _fail(repost, f"The listing could not be relisted ({type(exc).__name__}). {OLD_STAYS}")
        return
    _record(repost, AutomationOutcome.DONE, f"{listing} relisted as new listing #{new.pk}; publishing it on Vinted.",
            new_listing=new.pk)
    _prepare(repost)


def _prepare(repost) -> None:
    new, owner = repost.new_listing, repost.account.owner
    try:
        with transaction.atomic():
            if Listing.objects.get(pk=new.pk).status in (ListingStatus.DRAFT, ListingStatus.FAILED):
                listings.mark_ready(owner, new)
        publishing.request_prepare(Listing.objects.get(pk=new.pk), repost.account, by_user=owner)
    except ValidationError as exc:
        _fail(repost, f"The new listing #{new.pk} is not ready to publish: {' '.join(exc.messages)} {OLD_STAYS}")
    except publishing.PublishRefused as exc:
        _fail(repost, f"The new listing #{new.pk} could not be prepared: {exc.message} {OLD_STAYS}")
    except Exception as exc:
        logger.exception("Prepare of repost #%s failed", repost.pk)
        _fail(repost, f"The new listing #{new.pk} could not be prepared ({type(exc).__name__}). {OLD_STAYS}")


# --- publish the new listing ------------------------------------------------------------------------------

def _publish(repost) -> None:
    new = repost.new_listing
    if new is None:  # stopped between the claim and the relist (nothing was made): start again
        Repost.objects.filter(pk=repost.pk, status=RepostStatus.RELISTING, new_listing__isnull=True).update(
            status=RepostStatus.SCHEDULED, updated_at=timezone.now())
        repost.status = RepostStatus.SCHEDULED
        return
    new.refresh_from_db()
    if new.vinted_item_id:
        _to_deleting(repost, new)
        return
    publication = publishing.current_publication(new)
    if publication is None:
        _prepare(repost)
    elif publication.status == PublicationStatus.PREPARED:
        owner = repost.account.owner
        try:
            token, _ = publishing.issue_confirm_token(publication, by_user=owner)
            publishing.request_publish(publication, token, f"repost-{repost.pk}", by_user=owner)
        except publishing.PublishRefused as exc:
            _fail(repost, f"The new listing #{new.pk} could not be published: {exc.message} {OLD_STAYS}")
        except PermissionDenied as exc:
            _fail(repost, f"The new listing #{new.pk} could not be published: {exc} {OLD_STAYS}")
    elif publication.status == PublicationStatus.DRY_RUN:
        _end(repost, RepostStatus.CANCELLED, f"Dry run: the new listing #{new.pk} was prepared and nothing was "
                                             f"published. {OLD_STAYS}", AutomationOutcome.DRY_RUN)
    elif publication.status == PublicationStatus.FAILED:
        _fail(repost, f"Publishing the new listing #{new.pk} failed: {publication.error} {OLD_STAYS}")
    elif publication.status == PublicationStatus.PUBLISHED:
        _to_deleting(repost, new)
    # preparing / publishing: its job is on it; the scheduler hook moves on when it finishes


def _to_deleting(repost, new) -> None:
    if Repost.objects.filter(pk=repost.pk, status=RepostStatus.RELISTING).update(
            status=RepostStatus.DELETING, updated_at=timezone.now()):
        repost.status = RepostStatus.DELETING
        _record(repost, AutomationOutcome.DONE, f"New listing #{new.pk} is live on Vinted (item "
                                                f"{new.vinted_item_id}); deleting the old item.",
                new_listing=new.pk, item=new.vinted_item_id)


# --- delete the old listing ---------------------------------------------------------------------------------

def _delete_old(repost) -> None:
    from ..ledger import VintedError

    new = repost.new_listing
    both = (f"Both listings are live: the new one (item {getattr(new, 'vinted_item_id', '?')}) and the old one "
            f"(item {repost.listing.vinted_item_id}). Retry to delete the old one only.")
    try:
        result = relist.delete_on_vinted(repost.listing_id)
    except TransientError as exc:
        if _last_attempt():
            _fail(repost, f"Deleting the old item on Vinted failed: {exc}. {both}")
        raise
    except VintedError as exc:
        _fail(repost, f"Deleting the old item on Vinted failed: {exc.message} {both}")
        raise
    except Exception as exc:  # failed, so the hook does not try the delete again at every tick
        _fail(repost, f"Deleting the old item on Vinted failed ({type(exc).__name__}). {both}")
        raise
    now = timezone.now()
    gone = " (it was already gone)" if result.get("already_gone") else ""
    if Repost.objects.filter(pk=repost.pk, status=RepostStatus.DELETING).update(
            status=RepostStatus.DONE, error="", finished_at=now, updated_at=now):
        repost.status = RepostStatus.DONE
        _record(repost, AutomationOutcome.DONE,
                f"Reposted: new listing #{new.pk} is live (item {new.vinted_item_id}); the old item "
                f"{repost.listing.vinted_item_id} was deleted{gone}.", new_listing=new.pk)
