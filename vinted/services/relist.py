"""Relist: duplicate a sold or stale listing as a new draft, optionally deleting the old item on Vinted.

Rules this module keeps (where the issue is silent, the choice is written here):

- **Who**: whoever may change the listing (`Listing.objects.permits(user, listing, "change")`) and may
  add listings (`Listing.objects.can_add(user)`). The new draft belongs to the old listing's owner
  (it is the same seller's item, also when an admin relists it).
- **What may be relisted**: a SOLD listing (the seller has another one like it), or a **stale** one:
  ARCHIVED, or PUBLISHED with `listed_at` (else `created_at`) more than settings.VINTED_STALE_DAYS
  days ago (default 30). Anything else (a draft, one being published, a fresh listing) is refused.
- **The copy** is a DRAFT with the content (title, description, catalogue ids, colours, hashtags,
  price, currency, package size), the inventory fields (purchase cost and date, source, SKU, storage
  location) and `edited_fields`; never the sale fields, the Vinted ids or account, the AI's draft
  record or the batch. `relisted_from` points at the old listing.
- **Photos are reused**, in their order, without a new upload or any re-processing: each new Photo row
  gets its own file names holding the same bytes (a hard link where the filesystem allows, else a
  copy), so deleting either listing or any one photo never takes the other's files (the delete paths
  in vinted.services.photos / .listings remove a photo's own names only).
- **Deleting the old item on Vinted** (`delete_old`): only for a listing on Vinted (a Vinted item id
  and an account the user may use), and never from an account in dry-run mode (dry run means nothing
  mutating reaches Vinted; the job checks it again when it runs). The draft is made at once; the
  deletion is a background job (`vinted.delete_item`, a mutating "write" call with action "delete"
  through vinted.http.VintedClient, so the ledger and the `vinted` breaker apply). When Vinted
  confirms (or answers 404: the item is already gone), the old listing is archived, unless it is
  sold (a sale is history the profit rests on, so it keeps its status). Its Vinted id stays, so
  conversations still find it. A block, an expired session or any other refusal fails the job,
  which the listing pages show with Vinted's reason; the new draft stays either way. Rate limits
  and Vinted's 5xx are retried by the job wrapper.
"""

import logging
import os
import shutil
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.roles import Action
from monitoring.events import record_event

from .. import site
from ..choices import ListingStatus, PhotoStatus
from ..models import Listing, Photo, VintedAccount
from ..photos import PHOTO_DIR, remove_files
from .listings import ARCHIVABLE, CONTENT_FIELDS, FACT_FIELDS, INVENTORY_FIELDS

logger = logging.getLogger(__name__)

DELETE_JOB = "vinted.delete_item"
DRY_RUN_MESSAGE = ("The Vinted account {account} is in dry-run mode: nothing is changed on Vinted from it (an admin "
                   "can turn dry run off on the account's page).")
COPIED_FIELDS = tuple(name for name in CONTENT_FIELDS + INVENTORY_FIELDS + FACT_FIELDS if name != "colours")


def stale_before(now=None, days=None):
    """Published before this moment = stale (`days`: another threshold than VINTED_STALE_DAYS, as the
    account's repost_after_days for automatic reposts)."""
    return (now or timezone.now()) - timedelta(days=settings.VINTED_STALE_DAYS if days is None else days)


def is_stale(listing, now=None, days=None) -> bool:
    if listing.status == ListingStatus.ARCHIVED:
        return True
    if listing.status != ListingStatus.PUBLISHED:
        return False
    return (listing.listed_at or listing.created_at) < stale_before(now, days)


def can_relist(listing, now=None, days=None) -> bool:
    """The listing's state allows a relist (the user's permission is asked separately)."""
    return listing.status == ListingStatus.SOLD or is_stale(listing, now, days)


def is_on_vinted(listing) -> bool:
    return bool(listing.vinted_item_id) and listing.account_id is not None


def permits_relist(user, listing) -> bool:
    """The permission half (for pages that hide the form): change the listing and add listings."""
    return Listing.objects.permits(user, listing, Action.CHANGE) and Listing.objects.can_add(user)


def refusal(listing, now=None, days=None) -> str:
    """Why this listing cannot be relisted now ("" when it can)."""
    if can_relist(listing, now, days):
        return ""
    if listing.status == ListingStatus.PUBLISHED:
        return (f"This listing was published less than {settings.VINTED_STALE_DAYS if days is None else days} "
                "days ago: "
                "only a sold, archived or stale listing can be relisted.")
    return (f"This listing is {listing.get_status_display().lower()}: only a sold, archived or stale "
            "listing can be relisted.")


def _check_delete_old(user, listing) -> VintedAccount:
    if not is_on_vinted(listing):
        raise ValidationError({"delete_old": ["This listing is not on Vinted (no Vinted item and account): "
                                              "there is nothing to delete there."]})
    account = VintedAccount.objects.get(pk=listing.account_id)
    if not VintedAccount.objects.permits(user, account, Action.CHANGE):
        raise ValidationError({"delete_old": ["You may not act on the Vinted account this listing is on."]})
    if account.dry_run:
        raise ValidationError({"delete_old": [DRY_RUN_MESSAGE.format(account=account)]})
    return account


# --- photos -------------------------------------------------------------------------------------------

def _same_bytes(name: str, new_name: str) -> None:
    """`new_name` holds the bytes of `name`: a hard link (no second copy on disk), else a copy."""
    root = Path(settings.MEDIA_ROOT)
    source, target = root / name, root / new_name
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        tmp = target.with_name(f".relist-{uuid.uuid4().hex}.part")
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)


def _reuse_photos(old: Listing, new: Listing, written: list[str]) -> int:
    photos = list(Photo.objects.filter(listing=old, status=PhotoStatus.READY).order_by("position", "id"))
    copies = []
    for position, photo in enumerate(photos):
        stem = f"{PHOTO_DIR}/{uuid.uuid4().hex}"
        names = {}
        for field, suffix in (("original", ".jpg"), ("display", "-display.jpg"), ("thumbnail", "-thumb.jpg")):
            name = getattr(photo, field).name
            if not name:
                names[field] = ""
                continue
            names[field] = f"{stem}{suffix}"
            _same_bytes(name, names[field])
            written.append(names[field])
        copies.append(Photo(
            owner=new.owner, listing=new, position=position, status=PhotoStatus.READY,
            content_type=photo.content_type, width=photo.width, height=photo.height, size_bytes=photo.size_bytes,
            sha256=photo.sha256, **names))
    Photo.objects.bulk_create(copies)
    return len(copies)


# --- relist ---------------------------------------------------------------------------------------------

def relist(listing, *, by_user, delete_old=False, stale_days=None) -> Listing:
    """A new DRAFT copy of `listing` (see the module docstring); with `delete_old`, a job deletes the old
    item on Vinted. Answers the new draft. PermissionDenied / ValidationError (field `delete_old`, or
    the listing's state) leave everything as it was. `stale_days`: the staleness threshold when not
    VINTED_STALE_DAYS (automatic reposts use the account's repost_after_days)."""
    if not Listing.objects.permits(by_user, listing, Action.CHANGE):
        raise PermissionDenied("You may not relist this listing: it belongs to another user.")
    if not Listing.objects.can_add(by_user):
        raise PermissionDenied("Your role does not allow adding listings.")
    written: list[str] = []
    try:
        with transaction.atomic():
            old = Listing.objects.select_for_update().get(pk=listing.pk)
            reason = refusal(old, days=stale_days)
            if reason:
                raise ValidationError(reason)
            account = _check_delete_old(by_user, old) if delete_old else None
            new = Listing(owner=old.owner, status=ListingStatus.DRAFT, relisted_from=old,
                          edited_fields=list(old.edited_fields or []),
                          **{name: getattr(old, name) for name in COPIED_FIELDS})
            new.hashtags = list(old.hashtags or [])
            new.save()
            new.colours.set(old.colours.all())
            photos = _reuse_photos(old, new, written)
            job_run = None
            if account is not None:
                from ..tasks import delete_item

                job_run = delete_item.enqueue(old.pk)
            record_event("vinted", "listing.relisted", "info",
                         f"{old} relisted as draft #{new.pk} by {by_user}"
                         f"{'; deleting the old item on Vinted' if job_run else ''}",
                         {"listing": old.pk, "new_listing": new.pk, "photos": photos, "delete_old": bool(job_run),
                          "job": getattr(job_run, "pk", None)}, user=by_user, target=new)
    except BaseException:
        remove_files(written)  # the rows rolled back: their files must not stay behind
        raise
    return new


# --- deleting the old item on Vinted (the job's body) ---------------------------------------------------

def delete_on_vinted(listing_id: int) -> dict:
    """Delete the listing's item on Vinted, then archive the listing (unless sold). Raises what Vinted's
    answer means (vinted.ledger): the job wrapper retries the transient ones and fails on the others."""
    from ..http import VintedClient
    from ..ledger import AccountUnavailable, VintedError, VintedRefused

    listing = Listing.objects.select_related("account").filter(pk=listing_id).first()
    if listing is None:
        return {"listing": listing_id, "deleted": False, "note": "The listing no longer exists."}
    if not is_on_vinted(listing):
        raise VintedRefused(f"{listing} is not on Vinted (no Vinted item id or account): nothing to delete.")
    if listing.account.dry_run:  # turned on after the relist was asked: still nothing mutating is sent
        exc = AccountUnavailable(DRY_RUN_MESSAGE.format(account=listing.account))
        _record_failure(listing, exc)
        raise exc
    path = site.DELETE_ITEM_PATH.format(id=listing.vinted_item_id)
    already_gone = False
    try:
        VintedClient(listing.account).post_json(path, {}, action="delete")
    except VintedRefused as exc:
        if exc.status_code != 404:
            _record_failure(listing, exc)
            raise
        already_gone = True  # deleted before (a retry after a lost answer, or by hand on Vinted)
    except VintedError as exc:
        _record_failure(listing, exc)
        raise
    with transaction.atomic():
        locked = Listing.objects.select_for_update().get(pk=listing.pk)
        archived = locked.status in ARCHIVABLE
        if archived:
            locked.status, locked.ready_at = ListingStatus.ARCHIVED, None
            locked.save(update_fields=["status", "ready_at", "updated_at"])
        record_event("vinted", "listing.deleted_on_vinted", "succeeded",
                     f"Item {locked.vinted_item_id} of {locked} deleted on Vinted"
                     f"{' (it was already gone)' if already_gone else ''}"
                     f"{'; the listing is archived' if archived else ''}.",
                     {"listing": locked.pk, "item": locked.vinted_item_id, "already_gone": already_gone},
                     target=locked)
    return {"listing": listing_id, "deleted": True, "already_gone": already_gone, "archived": archived}


def _record_failure(listing, exc) -> None:
    record_event("vinted", "listing.delete_on_vinted_failed", "failed",
                 f"Deleting item {listing.vinted_item_id} of {listing} on Vinted failed: {exc.message}",
                 {"listing": listing.pk, "item": listing.vinted_item_id, "status_code": exc.status_code},
                 target=listing)


def deletion_job(listing):
    """The latest `vinted.delete_item` run for this listing (None when none was asked)."""
    from monitoring.models import JobRun

    return JobRun.objects.filter(name=DELETE_JOB, args__0=listing.pk).order_by("-created_at", "-id").first()


def panel_state(user, listing) -> dict:
    """What the listing page's relist panel shows `user` (vinted/_relist_panel.html): whether the form is
    offered (and its "also delete it on Vinted" option), the deletion runs of this listing and of the
    listing it was relisted from, and the relists of this one the user can see."""
    from monitoring.choices import JOB_ACTIVE_STATUSES

    permitted = permits_relist(user, listing)
    offer = permitted and can_relist(listing)
    account = VintedAccount.objects.filter(pk=listing.account_id).first() if offer and is_on_vinted(listing) else None
    may_use = account is not None and VintedAccount.objects.permits(user, account, Action.CHANGE)
    can_delete_old = may_use and not account.dry_run
    deletion = deletion_job(listing)
    source = None
    if listing.relisted_from_id:
        source = Listing.objects.restrict(user).filter(pk=listing.relisted_from_id).first()
    source_deletion = deletion_job(source) if source is not None else None
    return {
        "listing": listing,
        "offer": offer,
        "refusal": refusal(listing) if permitted and listing.status == ListingStatus.PUBLISHED else "",
        "can_delete_old": can_delete_old,
        "dry_run_account": account if may_use and account.dry_run else None,
        "deletion": deletion,
        "source": source,
        "source_deletion": source_deletion,
        "relists": list(Listing.objects.restrict(user).filter(relisted_from=listing).order_by("-created_at", "-id")),
        "active": any(run is not None and run.status in JOB_ACTIVE_STATUSES for run in (deletion, source_deletion)),
        "stale_days": settings.VINTED_STALE_DAYS,
    }
