"""Vinted accounts and publications made directly in each state, for the publishing pages' tests
(the prepare job's own work is tested in tests/vinted/test_publishing.py)."""

import hashlib
import json

from django.core.files.base import ContentFile
from django.utils import timezone

from tests.factories import image_bytes
from vinted.choices import AccountStatus, ListingStatus, PublicationStatus
from vinted.models import Listing, Publication, VintedAccount
from vinted.services import publishing

PNG = image_bytes(80, 60, fmt="PNG")


def make_account(owner, label="Otto on vinted.fr", **fields):
    fields = {"status": AccountStatus.ACTIVE, "dry_run": False, **fields}
    return VintedAccount.objects.create(owner=owner, label=label, cookies=json.dumps({"access_token_web": "t"}),
                                        **fields)


def make_publication(listing, account, status, *, screenshot=True, **fields):
    """A publication as the prepare job leaves it: the snapshot of the listing's values, its hash,
    the listing's fingerprint and the screenshot; the listing in the status that goes with it."""
    snapshot = {"values": publishing.listing_values(listing),
                "photo_hashes": list(listing.photos.order_by("position").values_list("sha256", flat=True))}
    publication = Publication.objects.create(
        owner=listing.owner, listing=listing, account=account, status=status, snapshot=snapshot,
        snapshot_hash=hashlib.sha256(json.dumps(snapshot, sort_keys=True).encode()).hexdigest(),
        listing_fingerprint=publishing.listing_fingerprint(listing), prepared_at=timezone.now(), **fields)
    if screenshot:
        publication.screenshot.save(f"publication-{publication.pk}.png", ContentFile(PNG))
    listing_status = {PublicationStatus.PUBLISHED: ListingStatus.PUBLISHED,
                      PublicationStatus.FAILED: ListingStatus.FAILED,
                      PublicationStatus.DRY_RUN: ListingStatus.READY}.get(status, ListingStatus.PREPARED)
    Listing.objects.filter(pk=listing.pk).update(status=listing_status, account=account,
                                                 vinted_item_id=fields.get("vinted_item_id", ""),
                                                 vinted_url=fields.get("vinted_url", ""))
    listing.refresh_from_db()
    return publication
