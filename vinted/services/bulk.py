"""Bulk mode, before drafting: many photos uploaded at once to a DraftBatch (no listing yet), then
grouped into items, each group becoming one draft Listing with its photos in order. Drafting the
grouped listings is vinted.services.drafts' (start_batch)."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from monitoring.events import record_event

from ..models import DraftBatch, Listing, Photo
from .photos import require_change


def start_bulk_upload(user) -> DraftBatch:
    """A new, empty bulk upload of this user's."""
    if not DraftBatch.objects.can_add(user):
        raise PermissionDenied("Your role may not start a bulk upload.")
    return DraftBatch.objects.create(owner=user)


def ungrouped_photos(batch: DraftBatch):
    """The batch's photos not yet in an item, in upload order."""
    return Photo.objects.filter(batch=batch, listing__isnull=True).order_by("position", "id")


def groups_every(photo_ids: list[int], every: int) -> list[list[int]]:
    """The ids cut into groups of `every` (the last may be shorter)."""
    if every < 1 or every > settings.VINTED_PHOTOS_MAX:
        raise ValidationError({"every": f"Choose between 1 and {settings.VINTED_PHOTOS_MAX} photos per item."})
    return [photo_ids[i:i + every] for i in range(0, len(photo_ids), every)]


@transaction.atomic
def group_photos(user, batch: DraftBatch, groups) -> list[Listing]:
    """One draft Listing per group of photo ids (each group in its given order, the first its cover).
    Every id must be one of the batch's ungrouped photos, in at most one group; photos left out stay
    ungrouped for later. Empty groups are skipped."""
    require_change(user, batch, "bulk upload")
    DraftBatch.objects.select_for_update().filter(pk=batch.pk).first()
    available = {p.pk: p for p in ungrouped_photos(batch)}
    groups = [[int(pk) for pk in group] for group in groups]
    groups = [group for group in groups if group]
    if not groups:
        raise ValidationError({"groups": "Put at least one photo into an item."})
    seen = set()
    for number, group in enumerate(groups, start=1):
        unknown = [pk for pk in group if pk not in available]
        if unknown:
            raise ValidationError({"groups": f"Item {number}: photo(s) {unknown} are not ungrouped photos of "
                                             "this bulk upload."})
        twice = seen.intersection(group) | {pk for pk in group if group.count(pk) > 1}
        if twice:
            raise ValidationError({"groups": f"Item {number}: photo(s) {sorted(twice)} are in more than one place."})
        if len(group) > settings.VINTED_PHOTOS_MAX:
            raise ValidationError({"groups": f"Item {number} has {len(group)} photos; an item has at most "
                                             f"{settings.VINTED_PHOTOS_MAX}."})
        seen.update(group)
    listings = []
    for group in groups:
        listing = Listing.objects.create(owner=batch.owner, batch=batch)
        photos = [available[pk] for pk in group]
        for position, photo in enumerate(photos):
            photo.listing, photo.position = listing, position
        Photo.objects.bulk_update(photos, ["listing", "position"])
        listings.append(listing)
    record_event("vinted", "bulk.grouped", "info",
                 f"{len(listings)} item(s) made from {len(seen)} photos of {batch} by {user}",
                 {"batch": batch.pk, "listings": [listing.pk for listing in listings]}, user=user, target=batch)
    return listings


def group_every(user, batch: DraftBatch, every: int) -> list[Listing]:
    """Every `every` ungrouped photos (in upload order) become one item."""
    ids = list(ungrouped_photos(batch).values_list("pk", flat=True))
    if not ids:
        raise ValidationError({"every": "There are no ungrouped photos left in this bulk upload."})
    return group_photos(user, batch, groups_every(ids, every))


def grouped_listings(batch: DraftBatch):
    return Listing.objects.filter(batch=batch).prefetch_related("photos").order_by("id")
