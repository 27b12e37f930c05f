"""Test data for publishing: an active Vinted account with a session on the fake, a ready listing
with photos whose hashes are stored, and a publication left as a finished prepare job leaves it
(for the confirm/publish rules that need no browser)."""

import hashlib
import json

from django.utils import timezone

from tests.factories import ListingFactory, PhotoFactory, image_bytes
from vinted.choices import AccountStatus, ListingStatus, PublicationStatus
from vinted.models import Publication, VintedAccount
from vinted.services import publishing


def account_for(owner, *, label="Main shop", dry_run=False, cookies=None, status=AccountStatus.ACTIVE):
    return VintedAccount.objects.create(
        owner=owner, label=label, dry_run=dry_run, status=status,
        cookies=json.dumps(cookies or {"access_token_web": "not-checked"}), user_agent="pytest")


def ready_listing(owner, *, photos=2, **fields):
    listing = ListingFactory(owner=owner, complete=True, status=ListingStatus.READY, **fields)
    for position in range(photos):
        data = image_bytes(64 + position, 48, colour=(30 + 40 * position, 99, 199))
        PhotoFactory(listing=listing, position=position, original__data=data, original__filename=f"p{position}.jpg",
                     sha256=hashlib.sha256(data).hexdigest())
    return listing


def prepared(listing, account, *, status=PublicationStatus.PREPARED) -> Publication:
    """A publication in the state run_prepare leaves after a form that held exactly the listing."""
    snapshot = {"values": publishing.listing_values(listing),
                "photo_hashes": [publishing.photo_hash(p) for p in publishing.ready_photos(listing)]}
    publication = Publication.objects.create(
        owner=listing.owner, listing=listing, account=account, status=status, snapshot=snapshot,
        snapshot_hash=publishing.snapshot_hash(snapshot), listing_fingerprint=publishing.listing_fingerprint(listing),
        prepared_at=timezone.now())
    listing.status = ListingStatus.PREPARED if status == PublicationStatus.PREPARED else ListingStatus.READY
    listing.save(update_fields=["status"])
    return publication
