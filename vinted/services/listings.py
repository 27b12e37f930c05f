"""Listings: create and edit (partial saves), mark ready, archive, mark sold, delete, bulk actions.

Every change asks the listing's queryset rule (`permits` / `can_add`) first, so pages, the API and
commands share one guard. Rules this module keeps (the issue is silent on them):

- A draft saves with any subset of its fields; every save respects `validation.check_limits`;
  only `mark_ready` demands everything (`validation.check_ready`).
- The content fields a seller sets by hand are recorded in `edited_fields`: an AI re-draft keeps
  them unless the seller asks it to overwrite (vinted.services.drafts).
- Editing the content of a READY listing sends it back to DRAFT (it must pass the validator
  again). Content is editable in draft, ready and failed; inventory fields in every status.
- Archive: any listing that is not sold, archived, or busy with Vinted (preparing, publishing).
  Unarchive: back to draft.
- Mark sold by hand: from any status except sold and the busy ones; sale price >= 0, fees >= 0,
  sold time not in the future.
- The seller's own facts, `min_price` ("the lowest price you accept": offers, the price drop floor;
  >= 0 and not above the price) and `measurements`, are never sent to Vinted: editable in every status.
- The price stays editable on a published listing (Vinted lets sellers change it): the change is
  sent to Vinted by a job (vinted.services.price_drops.push_price). Every price change by hand writes
  a PriceChange(manual), which also stops a price drop rule that had lowered it.
- Delete: only a listing that never reached Vinted and was never sold (draft, ready, failed or
  archived, without a Vinted item id); its photos' files go with it. A sold listing is history
  the profit figures rest on: archive it instead.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from accounts.roles import Action

from .. import validation
from ..choices import EDITABLE_STATUSES, ListingStatus
from ..models import Listing, Photo

CONTENT_FIELDS = ("title", "description", "category", "brand", "no_brand", "size", "condition", "colours",
                  "price", "currency", "package_size", "hashtags")
INVENTORY_FIELDS = ("purchase_cost", "purchase_date", "source", "sku", "storage_location")
# What the seller knows of the item beyond the listing (replies quote them; never sent to Vinted).
FACT_FIELDS = ("min_price", "measurements")
EDITABLE_FIELDS = CONTENT_FIELDS + INVENTORY_FIELDS + FACT_FIELDS
BUSY_STATUSES = frozenset({ListingStatus.PREPARING, ListingStatus.PUBLISHING})
DELETABLE_STATUSES = frozenset({ListingStatus.DRAFT, ListingStatus.READY, ListingStatus.FAILED,
                                ListingStatus.ARCHIVED})
BULK_ACTIONS = ("archive", "mark_ready", "redraft")


class ListingNotReady(ValidationError):
    """mark_ready refused: the validator's problems per field (and its warnings, for the page)."""

    def __init__(self, report: validation.Report):
        super().__init__({name: list(messages) for name, messages in report.errors.items()})
        self.report = report


def status_counts(queryset) -> list[dict]:
    """Listings per status among `queryset` (the user's visible rows), every status listed, one query."""
    counts = dict(queryset.order_by().values_list("status").annotate(n=Count("id")))
    return [{"status": value, "label": label, "count": counts.get(value, 0)}
            for value, label in ListingStatus.choices]


def require(user, listing, action=Action.CHANGE):
    if not Listing.objects.permits(user, listing, action):
        raise PermissionDenied("You may not change this listing: it belongs to another user.")


def _clean(fields: dict) -> dict:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: ["This field cannot be set here."] for name in sorted(unknown)})
    fields = dict(fields)
    if "hashtags" in fields:
        fields["hashtags"] = validation.normalise_hashtags(fields["hashtags"])
    for name in ("title", "description", "source", "sku", "storage_location", "measurements"):
        if name in fields:
            fields[name] = (fields[name] or "").strip()
    if "colours" in fields:
        fields["colours"] = list(fields["colours"] or [])
    if fields.get("brand") is not None and "no_brand" not in fields:
        fields["no_brand"] = False  # choosing a brand clears "no brand"
    if fields.get("no_brand") and "brand" not in fields:
        fields["brand"] = None
    return fields


def _check(listing, fields):
    """The limits for the listing as it will be after `fields` are applied."""
    values = validation.listing_values(listing) if listing.pk else {"colours": [], "hashtags": []}
    values.update({name: value for name, value in fields.items() if name in values or name in CONTENT_FIELDS})
    report = validation.check_limits(values)
    if fields.get("purchase_cost") is not None and Decimal(fields["purchase_cost"]) < 0:
        report.error("purchase_cost", "A cost cannot be negative.")
    if fields.get("purchase_date") and fields["purchase_date"] > timezone.localdate():
        report.error("purchase_date", "The purchase date is in the future.")
    min_price = fields["min_price"] if "min_price" in fields else listing.min_price
    price = fields["price"] if "price" in fields else listing.price
    if min_price is not None and Decimal(min_price) < 0:
        report.error("min_price", "A minimum price cannot be negative.")
    elif min_price is not None and price is not None and Decimal(min_price) > Decimal(price):
        report.error("min_price", f"The minimum price ({Decimal(min_price):.2f}) is above the price "
                                  f"({Decimal(price):.2f}): lower it, or raise the price.")
    if not report.ok:
        raise report.as_validation_error()


def _changed(listing, fields) -> list[str]:
    changed = []
    for name, value in fields.items():
        if name == "colours":
            before = {colour.pk for colour in listing.colours.all()} if listing.pk else set()
            if before != {getattr(colour, "pk", colour) for colour in value}:
                changed.append(name)
        elif getattr(listing, name) != value:
            changed.append(name)
    return changed


def _apply(listing, fields, changed):
    for name in changed:
        if name != "colours":
            setattr(listing, name, fields[name])
    edited = [name for name in changed if name in CONTENT_FIELDS]
    listing.edited_fields = sorted(set(listing.edited_fields or []) | set(edited))
    return edited


@transaction.atomic
def create_listing(user, **fields) -> Listing:
    """A new draft with whatever fields were given (none at all is fine)."""
    if not Listing.objects.can_add(user):
        raise PermissionDenied("Your role does not allow adding listings.")
    fields = _clean(fields)
    listing = Listing(owner=user)
    _check(listing, fields)
    changed = _changed(listing, fields)  # against the defaults: an untouched currency is no edit
    _apply(listing, fields, changed)
    listing.save()
    if "colours" in fields:
        listing.colours.set(fields["colours"])
    return listing


@transaction.atomic
def update_listing(user, listing, **fields) -> Listing:
    """A partial save: only the given fields change; editing a ready listing's content sends it
    back to draft. Answers the listing as saved."""
    require(user, listing)
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    fields = _clean(fields)
    changed = _changed(listing, fields)
    content = [name for name in changed if name in CONTENT_FIELDS]
    if listing.status == ListingStatus.PUBLISHED:  # its price may still change (sent to Vinted)
        content = [name for name in content if name != "price"]
    if content and listing.status not in EDITABLE_STATUSES:
        raise ValidationError(f"This listing is {listing.get_status_display().lower()}: its content cannot be "
                              "edited (only its inventory fields).")
    _check(listing, fields)
    if not changed:
        return listing
    old_price = listing.price
    _apply(listing, fields, changed)
    if content and listing.status == ListingStatus.READY:
        listing.status, listing.ready_at = ListingStatus.DRAFT, None
    if content and listing.status == ListingStatus.PREPARED:
        listing.status = ListingStatus.READY  # what was prepared is no longer the listing: prepare again
    if content:
        from .publishing import supersede_for_edit

        supersede_for_edit(listing)
    listing.save()
    if "colours" in changed:
        listing.colours.set(fields["colours"])
    if "price" in changed:
        from .price_drops import record_manual_change

        record_manual_change(listing, old_price, listing.price, user)
    return listing


def ready_queryset():
    return Listing.objects.select_related("category", "brand", "size").prefetch_related("colours", "photos")


@transaction.atomic
def mark_ready(user, listing) -> validation.Report:
    """Draft (or failed) -> ready when the validator passes; else ListingNotReady with the problems.
    Answers the report (its warnings, such as a price far from the AI's range, do not block)."""
    require(user, listing)
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    if listing.status not in (ListingStatus.DRAFT, ListingStatus.FAILED):
        raise ValidationError(f"Only a draft can be marked ready (this one is {listing.get_status_display()}).")
    report = validation.check_ready(ready_queryset().get(pk=listing.pk))
    if not report.ok:
        raise ListingNotReady(report)
    Listing.objects.filter(pk=listing.pk).update(status=ListingStatus.READY, ready_at=timezone.now(),
                                                 updated_at=timezone.now())
    return report


def _set_status(user, listing, allowed, status, message, **extra) -> Listing:
    require(user, listing)
    with transaction.atomic():
        locked = Listing.objects.select_for_update().get(pk=listing.pk)
        if locked.status not in allowed:
            raise ValidationError(message.format(status=locked.get_status_display().lower()))
        locked.status = status
        for name, value in extra.items():
            setattr(locked, name, value)
        locked.save()
    return locked


ARCHIVABLE = frozenset(ListingStatus) - {ListingStatus.SOLD, ListingStatus.ARCHIVED} - BUSY_STATUSES


def archive_listing(user, listing) -> Listing:
    return _set_status(user, listing, ARCHIVABLE, ListingStatus.ARCHIVED,
                       "This listing is {status}: it cannot be archived.", ready_at=None)


def unarchive_listing(user, listing) -> Listing:
    return _set_status(user, listing, {ListingStatus.ARCHIVED}, ListingStatus.DRAFT,
                       "Only an archived listing can be restored (this one is {status}).")


def mark_sold(user, listing, *, sale_price, sale_fees=None, sold_at=None) -> Listing:
    """Sold by hand (outside the desk, or before part 2 syncs orders)."""
    report = validation.Report()
    if sale_price is None:
        report.error("sale_price", "Give the price it sold for.")
    elif Decimal(sale_price) < 0:
        report.error("sale_price", "A sale price cannot be negative.")
    if sale_fees is not None and Decimal(sale_fees) < 0:
        report.error("sale_fees", "Fees cannot be negative.")
    sold_at = sold_at or timezone.now()
    if sold_at > timezone.now():
        report.error("sold_at", "The sale time is in the future.")
    if not report.ok:
        raise report.as_validation_error()
    allowed = frozenset(ListingStatus) - {ListingStatus.SOLD} - BUSY_STATUSES
    return _set_status(user, listing, allowed, ListingStatus.SOLD,
                       "This listing is {status}: it cannot be marked sold.",
                       sale_price=Decimal(sale_price), sale_fees=None if sale_fees is None else Decimal(sale_fees),
                       sold_at=sold_at)


def _delete_files(names):
    from django.core.files.storage import default_storage

    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            pass  # a missing file is already what we want


def delete_listing(user, listing) -> None:
    require(user, listing, Action.DELETE)
    with transaction.atomic():
        locked = Listing.objects.select_for_update().get(pk=listing.pk)
        if locked.status not in DELETABLE_STATUSES or locked.vinted_item_id:
            raise ValidationError(f"This listing is {locked.get_status_display().lower()}"
                                  f"{' and on Vinted' if locked.vinted_item_id else ''}: it cannot be deleted; "
                                  "archive it instead.")
        names = [name for photo in Photo.objects.filter(listing=locked)
                 for name in (photo.original.name, photo.display.name, photo.thumbnail.name) if name]
        locked.delete()
        transaction.on_commit(lambda: _delete_files(names))


@dataclass
class BulkResult:
    action: str
    succeeded: list[int]
    failed: dict[int, str]  # listing id -> why
    batch: object = None  # the DraftBatch of a re-draft


def bulk_action(user, action, ids) -> BulkResult:
    """One action over many listings, each on its own: one refusal never blocks the others. Ids the
    user may not change (or that do not exist) are reported as not found."""
    if action not in BULK_ACTIONS:
        raise ValidationError({"action": [f"Choose one of: {', '.join(BULK_ACTIONS)}."]})
    ids = list(dict.fromkeys(int(pk) for pk in ids))
    if not ids:
        raise ValidationError({"ids": ["Select at least one listing."]})
    listings = {listing.pk: listing for listing in Listing.objects.restrict(user, Action.CHANGE).filter(pk__in=ids)}
    result = BulkResult(action, [], {pk: "Not found." for pk in ids if pk not in listings})
    if action == "redraft":
        from .drafts import start_batch

        draftable = [listing for listing in listings.values() if listing.status in EDITABLE_STATUSES]
        for listing in listings.values():
            if listing.status not in EDITABLE_STATUSES:
                result.failed[listing.pk] = (f"This listing is {listing.get_status_display().lower()}: "
                                             "it is not re-drafted.")
        if draftable:
            result.batch = start_batch(user, draftable)
            result.succeeded = [listing.pk for listing in draftable]
        return result
    act = {"archive": archive_listing, "mark_ready": mark_ready}[action]
    for pk in ids:
        if pk not in listings:
            continue
        try:
            act(user, listings[pk])
        except ValidationError as exc:
            result.failed[pk] = validation_text(exc)
        else:
            result.succeeded.append(pk)
    return result


def validation_text(exc: ValidationError) -> str:
    from lofisite.validation import error_text

    return error_text(exc)
