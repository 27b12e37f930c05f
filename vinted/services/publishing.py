"""Publishing a listing on Vinted: prepare -> confirm -> publish.

What the user confirmed is what is published, or nothing is:

- `request_prepare` queues a job that opens the account's "new item" page in Chromium
  (vinted.browser.prepare_form), fills it from the listing, reads the form back and takes a
  screenshot, and stops before submitting. `run_prepare` stores the read-back values and photo
  hashes as the publication's `snapshot`, its `snapshot_hash` (sha256 of canonical JSON) and the
  listing's `listing_fingerprint` at that moment.
- `issue_confirm_token` signs (publication id, snapshot hash) with django.core.signing; it is valid
  for settings.VINTED_CONFIRM_TOKEN_MINUTES.
- `request_publish` checks the token, the listing's fingerprint (any change since prepare refuses),
  dry run and "published once", records the Idempotency-Key and queues the publish job, which fills
  the form from the SNAPSHOT, compares the read-back with it before submitting
  (vinted.browser.publish_form raises ReadBackMismatch otherwise) and records Vinted's item id.

Choices where the issue is silent (written down here):

- Prepare starts from a ready, prepared or failed listing (a draft is marked ready first: that is
  the seller's review); it must pass `validation.check_ready` again.
- A prepare whose read-back differs from the listing (a field Vinted's form dropped, a photo that
  did not upload) fails with the difference: there is nothing right to confirm.
- A dry-run prepare leaves the listing ready (nothing was published); its publication says so.
- A prepare or publish that fails leaves the listing "failed" (editable, and preparable again).
- A worker that dies mid-publish fails the publication without retrying: Vinted may have received
  the item, so a person checks before publishing again.
"""

import hashlib
import json
import logging
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.roles import Action
from monitoring.events import record_event
from monitoring.jobs import TransientError, current_attempt, heartbeat

from .. import validation
from ..choices import AccountStatus, ListingStatus, PhotoStatus, PublicationStatus
from ..models import Listing, Photo, Publication, VintedAccount

logger = logging.getLogger(__name__)

TOKEN_SALT = "vinted.publication.confirm"
IDEMPOTENCY_KEY_MAX = 64
# Listing statuses prepare starts from.
PREPARABLE_STATUSES = frozenset({ListingStatus.READY, ListingStatus.PREPARED, ListingStatus.FAILED})
# Publications that are still "the" publication of their listing (not superseded).
LIVE_STATUSES = frozenset(set(PublicationStatus) - {PublicationStatus.SUPERSEDED})
BUSY_PUBLICATION_STATUSES = frozenset({PublicationStatus.PREPARING, PublicationStatus.PUBLISHING})
VALUE_KEYS = ("title", "description", "catalog_id", "brand_id", "size_id", "status_id", "color_ids", "price",
              "package_size_id")


class PublishRefused(Exception):
    """Prepare, confirm or publish refused; `message` is for the seller, `code` is stable, and
    `http_status` is what the API answers (400 bad request, 409 the state does not allow it)."""

    def __init__(self, code: str, message: str, http_status: int = 409, details: dict | None = None):
        super().__init__(message)
        self.code, self.message, self.http_status, self.details = code, message, http_status, details or {}


# --- what is published -------------------------------------------------------------------------

def listing_values(listing) -> dict:
    """The new-item form's values from the listing's catalogue ids (strings; color_ids a list)."""
    colours = sorted(listing.colours.all(), key=lambda colour: colour.vinted_id)
    return {
        "title": listing.title or "",
        "description": listing.description or "",
        "catalog_id": str(listing.category.vinted_id) if listing.category_id else "",
        "brand_id": "" if listing.no_brand or not listing.brand_id else str(listing.brand.vinted_id),
        "size_id": str(listing.size.vinted_id) if listing.size_id else "",
        "status_id": "" if listing.condition is None else str(listing.condition),
        "color_ids": [str(colour.vinted_id) for colour in colours],
        "price": "" if listing.price is None else f"{Decimal(str(listing.price)):.2f}",
        "package_size_id": "" if listing.package_size is None else str(listing.package_size),
    }


def ready_photos(listing) -> list[Photo]:
    return list(Photo.objects.filter(listing=listing, status=PhotoStatus.READY).order_by("position", "id"))


def photo_hash(photo: Photo) -> str:
    """The stored sha256 of the photo's original; computed from the file for a row without one."""
    if photo.sha256:
        return photo.sha256
    digest = hashlib.sha256()
    with photo.original.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def canonical_hash(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                          .encode()).hexdigest()


def listing_fingerprint(listing) -> str:
    """sha256 over the form values and the ready photos' hashes, in order: any change shows."""
    return canonical_hash({"values": listing_values(listing),
                           "photo_hashes": [photo_hash(photo) for photo in ready_photos(listing)]})


def snapshot_hash(snapshot: dict) -> str:
    return canonical_hash({"values": snapshot.get("values", {}), "photo_hashes": snapshot.get("photo_hashes", [])})


def current_publication(listing) -> Publication | None:
    """The listing's latest publication that is not superseded."""
    return (Publication.objects.filter(listing=listing, status__in=LIVE_STATUSES)
            .select_related("account", "prepare_job", "publish_job").order_by("-created_at", "-id").first())


def default_account(listing) -> VintedAccount | None:
    """The account to publish on when none is named: the listing's own, else the owner's only
    active account."""
    if listing.account_id and listing.account.owner_id == listing.owner_id:
        return listing.account
    active = list(VintedAccount.objects.filter(owner=listing.owner, status=AccountStatus.ACTIVE)[:2])
    return active[0] if len(active) == 1 else None


def dry_run_message(account) -> str:
    return (f"Dry run: the form was filled and checked, and nothing was published. Vinted account "
            f"{account.label} is in dry-run mode; an admin can turn dry run off for it on the account's page.")


# --- prepare -----------------------------------------------------------------------------------

def _require(by_user, listing, account):
    if not Listing.objects.permits(by_user, listing, Action.CHANGE):
        raise PermissionDenied("You may not change this listing.")
    if account is not None and not VintedAccount.objects.permits(by_user, account, Action.CHANGE):
        raise PermissionDenied("You may not use this Vinted account.")


def request_prepare(listing, account, *, by_user, enqueue: bool = True) -> Publication:
    """A new publication in "preparing" with its prepare job queued; an earlier prepared (or dry-run,
    or failed) publication of the listing is superseded. enqueue=False: the caller runs the job
    itself (`prepare_publication.call(publication.pk)`, as the publish command does)."""
    from ..tasks import prepare_publication

    _require(by_user, listing, account)
    if account is None:
        raise PublishRefused("ACCOUNT_REQUIRED", "Choose the Vinted account to publish on.", 400,
                             {"fields": {"account": ["Choose one of your Vinted accounts."]}})
    if account.owner_id != listing.owner_id:
        raise PublishRefused("ACCOUNT_NOT_OWNERS", "The account must belong to the listing's owner.", 400,
                             {"fields": {"account": ["This account is not the listing owner's."]}})
    if account.status != AccountStatus.ACTIVE:
        raise PublishRefused("ACCOUNT_UNAVAILABLE", account.status_message or
                             f"The Vinted account is {account.get_status_display().lower()}: "
                             "import a new session or wait for it to be active.", 409)
    with transaction.atomic():
        locked = Listing.objects.select_for_update().get(pk=listing.pk)
        if locked.status == ListingStatus.PUBLISHED or locked.vinted_item_id:
            raise PublishRefused("ALREADY_PUBLISHED", "This listing is already published on Vinted.")
        if locked.status in (ListingStatus.PREPARING, ListingStatus.PUBLISHING):
            raise PublishRefused("BUSY", f"This listing is {locked.get_status_display().lower()} already: "
                                         "wait for it to finish.")
        if locked.status not in PREPARABLE_STATUSES:
            raise PublishRefused("NOT_READY", f"This listing is {locked.get_status_display().lower()}: "
                                              "mark it ready before preparing it.", 409)
        from .listings import ready_queryset

        report = validation.check_ready(ready_queryset().get(pk=locked.pk))
        if not report.ok:
            raise PublishRefused("NOT_READY", "The listing is not ready: fix the fields named in details.fields.",
                                 400, {"fields": report.errors})
        Publication.objects.filter(listing=locked, status__in=LIVE_STATUSES).update(
            status=PublicationStatus.SUPERSEDED, updated_at=timezone.now())
        publication = Publication.objects.create(owner=locked.owner, listing=locked, account=account,
                                                 status=PublicationStatus.PREPARING)
        Listing.objects.filter(pk=locked.pk).update(status=ListingStatus.PREPARING, updated_at=timezone.now())
        if enqueue:
            publication.prepare_job = prepare_publication.enqueue(publication.pk)
            publication.save(update_fields=["prepare_job", "updated_at"])
        record_event("vinted", "publication.prepare_requested", "info",
                     f"Prepare of listing #{locked.pk} on {account.label} requested.",
                     {"publication": publication.pk, "listing": locked.pk, "account": account.pk},
                     user=by_user, target=publication)
    return publication


@contextmanager
def local_photo_files(photos):
    """Paths Chromium can upload: the files themselves on local storage, temporary copies otherwise."""
    paths, folder = [], None
    try:
        for photo in photos:
            try:
                paths.append(photo.original.path)
                continue
            except NotImplementedError:  # remote storage (S3): copy to a temp file
                pass
            folder = folder or tempfile.mkdtemp(prefix="vinted-photos-")
            target = os.path.join(folder, f"{len(paths):02d}{os.path.splitext(photo.original.name)[1]}")
            with photo.original.open("rb") as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)
            paths.append(target)
        yield paths
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


def _claim(publication_id: int, status: str) -> Publication | None:
    return (Publication.objects.select_related("listing", "account", "listing__owner")
            .filter(pk=publication_id, status=status).first())


def _fail(publication, message: str, *, difference: dict | None = None, listing_status=ListingStatus.FAILED,
          expected_status=None) -> None:
    """The publication failed with `message` (and the read-back difference); the listing says so."""
    expected_status = expected_status or publication.status
    with transaction.atomic():
        updated = Publication.objects.filter(pk=publication.pk, status=expected_status).update(
            status=PublicationStatus.FAILED, error=message[:2000], difference=difference or {},
            updated_at=timezone.now())
        if updated:
            Listing.objects.filter(pk=publication.listing_id).exclude(status=ListingStatus.PUBLISHED).update(
                status=listing_status, updated_at=timezone.now())
            record_event("vinted", "publication.failed", "failed",
                         f"Publication #{publication.pk} of listing #{publication.listing_id} failed: {message}",
                         {"publication": publication.pk, "listing": publication.listing_id,
                          "difference": sorted(difference or {})}, target=publication)


def _last_attempt() -> bool:
    from ..tasks import PUBLISHING_MAX_ATTEMPTS

    attempt = current_attempt()
    return attempt is None or attempt >= PUBLISHING_MAX_ATTEMPTS


def _differences(expected: dict, found: dict) -> dict:
    """Field -> {expected, found} where the form's values are not what was asked for."""

    def norm(key, value):
        if key == "color_ids":
            return sorted(str(item) for item in (value or []))
        if key == "price" and value not in (None, ""):
            try:
                return f"{Decimal(str(value).replace(',', '.')):.2f}"
            except ArithmeticError:
                return str(value)
        return "" if value is None else str(value).strip()

    return {key: {"expected": expected.get(key), "found": found.get(key)}
            for key in sorted(set(expected) | set(found)) if norm(key, expected.get(key)) != norm(key, found.get(key))}


def run_prepare(publication_id: int) -> Publication | None:
    """The prepare job's body (see the module docstring); None when the publication moved on."""
    from .. import browser
    from ..ledger import VintedError

    publication = _claim(publication_id, PublicationStatus.PREPARING)
    if publication is None:
        return None  # superseded or settled meanwhile
    listing, account = publication.listing, publication.account
    heartbeat(0.05, "Reading the listing")
    values = listing_values(listing)
    photos = ready_photos(listing)
    expected_hashes = [photo_hash(photo) for photo in photos]
    fingerprint = listing_fingerprint(listing)
    heartbeat(0.1, f"Filling Vinted's form ({len(photos)} photos)")
    try:
        with local_photo_files(photos) as paths:
            filled = browser.prepare_form(account, values, paths)
    except browser.ReadBackMismatch as exc:
        _fail(publication, exc.message, difference=exc.difference)
        raise  # the job run fails too (not retried: VintedError is not transient)
    except VintedError as exc:
        _fail(publication, exc.message)
        raise
    except TransientError as exc:
        if _last_attempt():
            _fail(publication, f"Vinted or the browser stayed unavailable: {exc}")
        raise
    except Exception as exc:
        logger.exception("Prepare of publication #%s failed", publication.pk)
        _fail(publication, f"Preparing failed: {type(exc).__name__}.")
        raise
    heartbeat(0.8, "Checking what the form holds")
    snapshot = {"values": dict(filled.values), "photo_hashes": list(filled.photo_hashes)}
    difference = _differences(values, snapshot["values"])
    if snapshot["photo_hashes"] != expected_hashes:
        difference["photo_hashes"] = {"expected": expected_hashes, "found": snapshot["photo_hashes"]}
    if difference:
        _fail(publication, "Vinted's form does not hold what was filled: " + ", ".join(sorted(difference)) + ".",
              difference=difference)
        return publication
    heartbeat(0.9, "Saving the screenshot")
    name = publication.screenshot.storage.save(
        f"vinted/screenshots/publication-{publication.pk}-{uuid.uuid4().hex[:12]}.png", ContentFile(filled.screenshot))
    dry_run = account.dry_run
    status = PublicationStatus.DRY_RUN if dry_run else PublicationStatus.PREPARED
    with transaction.atomic():
        updated = Publication.objects.filter(pk=publication.pk, status=PublicationStatus.PREPARING).update(
            status=status, snapshot=snapshot, snapshot_hash=snapshot_hash(snapshot), listing_fingerprint=fingerprint,
            screenshot=name, prepared_at=timezone.now(), error=dry_run_message(account) if dry_run else "",
            difference={}, updated_at=timezone.now())
        if updated:
            Listing.objects.filter(pk=listing.pk, status=ListingStatus.PREPARING).update(
                status=ListingStatus.READY if dry_run else ListingStatus.PREPARED, updated_at=timezone.now())
            record_event("vinted", "publication.prepared", "info",
                         f"Listing #{listing.pk} prepared on {account.label}"
                         f"{' (dry run: nothing published)' if dry_run else ''}.",
                         {"publication": publication.pk, "listing": listing.pk, "dry_run": dry_run},
                         target=publication)
    if not updated:  # superseded while Chromium worked: the screenshot belongs to no one
        publication.screenshot.storage.delete(name)
    heartbeat(1.0, "Prepared" if not dry_run else "Dry run: prepared, not published")
    publication.refresh_from_db()
    return publication


# --- confirm -----------------------------------------------------------------------------------

def _check_publishable(publication, listing) -> None:
    """What confirm and publish both demand of a prepared publication (PublishRefused otherwise)."""
    if publication.account.dry_run:
        raise PublishRefused("DRY_RUN", dry_run_message(publication.account))
    if publication.status == PublicationStatus.DRY_RUN:  # dry run was turned off since: a real prepare is due
        raise PublishRefused("DRY_RUN", "That preparation was a dry run; dry run is now off for the account: "
                                        "prepare the listing again, then confirm.")
    if Publication.objects.filter(listing_id=publication.listing_id, status=PublicationStatus.PUBLISHED).exists() \
            or listing.vinted_item_id or listing.status == ListingStatus.PUBLISHED:
        raise PublishRefused("ALREADY_PUBLISHED", "This listing is already published on Vinted.")
    if publication.status == PublicationStatus.SUPERSEDED:
        raise PublishRefused("SUPERSEDED", "This preparation was replaced (the listing changed or was prepared "
                                           "again): confirm the latest one.")
    if publication.status != PublicationStatus.PREPARED:
        raise PublishRefused("NOT_PREPARED", f"This publication is {publication.get_status_display().lower()}: "
                                             "only a prepared one can be confirmed and published.")
    if listing.status != ListingStatus.PREPARED:
        raise PublishRefused("NOT_PREPARED", f"The listing is {listing.get_status_display().lower()} now, not "
                                             "prepared: prepare it again.")
    if listing_fingerprint(listing) != publication.listing_fingerprint:
        raise PublishRefused("LISTING_CHANGED", "The listing changed after it was prepared: prepare it again "
                                                "and confirm what the new preparation shows.")


def issue_confirm_token(publication, *, by_user) -> tuple[str, datetime]:
    """The signed token that lets this publication's snapshot be published, and when it expires."""
    _require(by_user, publication.listing, publication.account)
    if not Publication.objects.permits(by_user, publication, Action.CHANGE):
        raise PermissionDenied("You may not confirm this publication.")
    publication = Publication.objects.select_related("account", "listing").get(pk=publication.pk)
    _check_publishable(publication, publication.listing)
    now = timezone.now()
    token = signing.dumps({"p": publication.pk, "h": publication.snapshot_hash}, salt=TOKEN_SALT, compress=True)
    Publication.objects.filter(pk=publication.pk).update(confirmed_at=now, confirmed_by=by_user, updated_at=now)
    return token, now + timedelta(minutes=settings.VINTED_CONFIRM_TOKEN_MINUTES)


def _check_token(publication, token: str) -> None:
    try:
        data = signing.loads(token or "", salt=TOKEN_SALT,
                             max_age=timedelta(minutes=settings.VINTED_CONFIRM_TOKEN_MINUTES))
    except signing.SignatureExpired:
        raise PublishRefused("CONFIRMATION_EXPIRED", f"The confirmation expired (it is valid for "
                                              f"{settings.VINTED_CONFIRM_TOKEN_MINUTES} minutes): confirm again.",
                             400) from None
    except signing.BadSignature:
        raise PublishRefused("CONFIRMATION_INVALID", "This is not a valid confirmation token: confirm the "
                                                     "listing first.", 400,
                             {"fields": {"token": ["Not a valid confirmation token."]}}) from None
    if not isinstance(data, dict) or data.get("p") != publication.pk:
        raise PublishRefused("CONFIRMATION_INVALID", "This confirmation is for another publication.", 400,
                             {"fields": {"token": ["This token confirms another publication."]}})
    if data.get("h") != publication.snapshot_hash:
        raise PublishRefused("LISTING_CHANGED", "What you confirmed is not what is prepared now: confirm again.")


def clean_idempotency_key(key) -> str:
    key = (key or "").strip()
    if not key:
        raise PublishRefused("IDEMPOTENCY_KEY_REQUIRED", "Send an Idempotency-Key (a unique value per publish "
                                                         "request) so that a retry publishes once.", 400,
                             {"fields": {"Idempotency-Key": ["This header is required."]}})
    if len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise PublishRefused("IDEMPOTENCY_KEY_INVALID", f"The Idempotency-Key must be at most {IDEMPOTENCY_KEY_MAX} "
                                                        "printable characters.", 400,
                             {"fields": {"Idempotency-Key": [f"At most {IDEMPOTENCY_KEY_MAX} printable characters."]}})
    return key


def _replay(publication, key) -> Publication | None:
    """The publication a key already started (the same request again), or a 409 for another one."""
    earlier = Publication.objects.filter(idempotency_key=key).first()
    if earlier is None:
        return None
    if earlier.pk == publication.pk:
        return earlier
    other = "listing" if earlier.listing_id != publication.listing_id else "publication"
    raise PublishRefused("IDEMPOTENCY_KEY_REUSED", f"This Idempotency-Key was already used for another {other}: "
                                                   "send a new key for a new publish.")


# --- publish -----------------------------------------------------------------------------------

def request_publish(publication, token: str, idempotency_key: str, *, by_user, enqueue: bool = True) -> Publication:
    """Start publishing the confirmed snapshot (status "publishing", job queued). The same key for the
    same publication answers it again without a second job. enqueue=False: the caller runs the job."""
    from ..tasks import publish_publication

    key = clean_idempotency_key(idempotency_key)
    _require(by_user, publication.listing, publication.account)
    if not Publication.objects.permits(by_user, publication, Action.CHANGE):
        raise PermissionDenied("You may not publish this publication.")
    earlier = _replay(publication, key)
    if earlier is not None:
        return earlier
    try:
        with transaction.atomic():
            listing = Listing.objects.select_for_update().get(pk=publication.listing_id)
            locked = Publication.objects.select_for_update().select_related("account").get(pk=publication.pk)
            if locked.idempotency_key == key:  # a concurrent double-click won the lock first
                return locked
            if locked.status in (PublicationStatus.PUBLISHING, PublicationStatus.PUBLISHED):
                published = locked.status == PublicationStatus.PUBLISHED
                raise PublishRefused("ALREADY_PUBLISHED" if published else "BUSY",
                                     f"This listing is already {'published' if published else 'publishing'}.")
            _check_token(locked, token)
            _check_publishable(locked, listing)
            if locked.account.status != AccountStatus.ACTIVE:
                raise PublishRefused("ACCOUNT_UNAVAILABLE", locked.account.status_message or
                                     f"The Vinted account is {locked.account.get_status_display().lower()}.")
            now = timezone.now()
            locked.status, locked.idempotency_key = PublicationStatus.PUBLISHING, key
            locked.confirmed_at = locked.confirmed_at or now
            locked.confirmed_by = locked.confirmed_by or by_user
            locked.error, locked.difference = "", {}
            locked.save()
            Listing.objects.filter(pk=listing.pk).update(status=ListingStatus.PUBLISHING, updated_at=now)
            if enqueue:
                locked.publish_job = publish_publication.enqueue(locked.pk)
                locked.save(update_fields=["publish_job", "updated_at"])
            record_event("vinted", "publication.publish_requested", "info",
                         f"Publish of listing #{listing.pk} on {locked.account.label} confirmed.",
                         {"publication": locked.pk, "listing": listing.pk}, user=by_user, target=locked)
    except IntegrityError:
        # The key's unique constraint: the same key raced in for another publication.
        earlier = _replay(publication, key)
        if earlier is not None:
            return earlier
        raise PublishRefused("ALREADY_PUBLISHED", "This listing is already published on Vinted.") from None
    return locked


def run_publish(publication_id: int) -> Publication | None:
    """The publish job's body: fill from the snapshot, check the read-back, submit, record the item."""
    from .. import browser
    from ..ledger import VintedError

    publication = _claim(publication_id, PublicationStatus.PUBLISHING)
    if publication is None:
        return None
    account = publication.account
    if account.dry_run:  # an admin turned dry run back on after the confirmation
        _fail(publication, dry_run_message(account), listing_status=ListingStatus.READY)
        return publication
    photos = ready_photos(publication.listing)
    if [photo_hash(photo) for photo in photos] != publication.snapshot.get("photo_hashes"):
        _fail(publication, "The listing's photos changed after it was prepared: prepare it again.",
              difference={"photo_hashes": {"expected": publication.snapshot.get("photo_hashes"),
                                     "found": [photo_hash(photo) for photo in photos]}})
        return publication
    heartbeat(0.1, "Filling Vinted's form from the confirmed snapshot")
    try:
        with local_photo_files(photos) as paths:
            result = browser.publish_form(account, {"values": publication.snapshot["values"],
                                                    "photo_hashes": publication.snapshot["photo_hashes"]}, paths)
    except browser.ReadBackMismatch as exc:
        _fail(publication, "Nothing was submitted: Vinted's form did not hold the confirmed values ("
                           + ", ".join(sorted(exc.difference)) + ").", difference=exc.difference)
        raise
    except VintedError as exc:
        _fail(publication, exc.message)
        raise
    except TransientError as exc:
        if _last_attempt():
            _fail(publication, f"Vinted or the browser stayed unavailable; nothing was published: {exc}")
        raise
    except Exception as exc:
        logger.exception("Publish of publication #%s failed", publication.pk)
        _fail(publication, f"Publishing failed ({type(exc).__name__}): check the account on Vinted before "
                           "trying again.")
        raise
    heartbeat(0.9, "Recording the Vinted item")
    item_id, url = str(result.get("item_id") or "")[:32], str(result.get("url") or "")[:200]
    now = timezone.now()
    with transaction.atomic():
        Publication.objects.filter(pk=publication.pk, status=PublicationStatus.PUBLISHING).update(
            status=PublicationStatus.PUBLISHED, vinted_item_id=item_id, vinted_url=url, published_at=now,
            error="", updated_at=now)
        listing = Listing.objects.select_for_update().get(pk=publication.listing_id)
        listing.status, listing.vinted_item_id, listing.vinted_url = ListingStatus.PUBLISHED, item_id, url
        listing.account = account
        listing.listed_at = listing.listed_at or now
        listing.save(update_fields=["status", "vinted_item_id", "vinted_url", "account", "listed_at", "updated_at"])
        record_event("vinted", "publication.published", "info",
                     f"Listing #{listing.pk} published on {account.label}: Vinted item {item_id}.",
                     {"publication": publication.pk, "listing": listing.pk, "item_id": item_id}, target=publication)
    heartbeat(1.0, f"Published: item {item_id}")
    publication.refresh_from_db()
    return publication


# --- dead workers ------------------------------------------------------------------------------

def on_prepare_worker_died(job_run) -> None:
    for publication in Publication.objects.filter(prepare_job=job_run, status=PublicationStatus.PREPARING):
        _fail(publication, "The worker stopped while preparing: prepare again.")


def on_publish_worker_died(job_run) -> None:
    # Not retried: the item may have reached Vinted before the worker stopped.
    for publication in Publication.objects.filter(publish_job=job_run, status=PublicationStatus.PUBLISHING):
        _fail(publication, "The worker stopped while publishing: check the account on Vinted before publishing "
                           "again (the item may be there).")


# --- after a listing edit (vinted.services.listings) ---------------------------------------------

def supersede_for_edit(listing) -> int:
    """The listing's content changed: its prepared (or dry-run) publication no longer shows it."""
    return Publication.objects.filter(
        listing=listing, status__in=(PublicationStatus.PREPARED, PublicationStatus.DRY_RUN)).update(
        status=PublicationStatus.SUPERSEDED, updated_at=timezone.now())
