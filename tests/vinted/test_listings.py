"""Listing services: partial drafts, edits recorded, ready, archive, sold, delete, bulk actions."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tests.factories import ListingFactory, PhotoFactory
from vinted.choices import ListingStatus
from vinted.models import Brand, Colour, Listing, Photo
from vinted.services import listings as services

pytestmark = pytest.mark.django_db


def ready_listing(owner, **fields):
    listing = ListingFactory(owner=owner, complete=True, **fields)
    PhotoFactory(listing=listing)
    return listing


def test_a_draft_saves_with_just_a_title_or_nothing(operator):
    only_title = services.create_listing(operator, title="  Levi's 501  ")
    assert only_title.status == ListingStatus.DRAFT and only_title.title == "Levi's 501"
    assert only_title.edited_fields == ["title"]
    empty = services.create_listing(operator)
    assert empty.pk and empty.owner == operator and empty.edited_fields == []


def test_a_draft_still_respects_the_limits(operator):
    with pytest.raises(ValidationError) as caught:
        services.create_listing(operator, title="x" * 101, price=Decimal("0.5"), hashtags="a b c d e f")
    assert set(caught.value.message_dict) == {"title", "price", "hashtags"}
    assert not Listing.objects.exists()


def test_edits_are_recorded_and_only_changed_fields_count(operator):
    listing = services.create_listing(operator, title="Jacket")
    blue = Colour.objects.get(name="Blue")
    services.update_listing(operator, listing, title="Jacket", description="Warm", colours=[blue],
                            hashtags="#Denim", sku="A-1")
    listing.refresh_from_db()
    assert listing.edited_fields == ["colours", "description", "hashtags", "title"]  # sku is inventory
    assert listing.hashtags == ["denim"] and listing.sku == "A-1"
    assert list(listing.colours.all()) == [blue]


def test_editing_a_ready_listing_sends_it_back_to_draft_but_inventory_does_not(operator):
    listing = ready_listing(operator)
    services.mark_ready(operator, listing)
    services.update_listing(operator, listing, storage_location="Shelf B")
    listing.refresh_from_db()
    assert listing.status == ListingStatus.READY and listing.ready_at is not None
    services.update_listing(operator, listing, price=Decimal("30"))
    listing.refresh_from_db()
    assert listing.status == ListingStatus.DRAFT and listing.ready_at is None


def test_content_of_a_sold_listing_is_not_editable_but_its_inventory_is(operator):
    listing = ListingFactory(owner=operator, status=ListingStatus.SOLD)
    with pytest.raises(ValidationError, match="content cannot be edited"):
        services.update_listing(operator, listing, title="New")
    services.update_listing(operator, listing, purchase_cost=Decimal("3.50"))
    listing.refresh_from_db()
    assert listing.purchase_cost == Decimal("3.50")


def test_mark_ready_refuses_with_the_problems_and_changes_nothing(operator):
    listing = ListingFactory(owner=operator, complete=True, description="")
    with pytest.raises(services.ListingNotReady) as caught:
        services.mark_ready(operator, listing)
    assert set(caught.value.message_dict) == {"description", "photos"}
    listing.refresh_from_db()
    assert listing.status == ListingStatus.DRAFT


def test_mark_ready_passes_with_a_price_warning(operator):
    listing = ready_listing(operator, price=Decimal("5"), ai_price_min=Decimal("20"), ai_price_max=Decimal("30"))
    report = services.mark_ready(operator, listing)
    assert list(report.warnings) == ["price"]
    listing.refresh_from_db()
    assert listing.status == ListingStatus.READY and listing.ready_at is not None
    with pytest.raises(ValidationError, match="Only a draft"):
        services.mark_ready(operator, listing)


def test_another_operator_and_a_viewer_may_not_change_it(operator, other_operator, viewer):
    listing = ready_listing(operator)
    for user in (other_operator, viewer):
        for call in (lambda u: services.update_listing(u, listing, title="Mine"),
                     lambda u: services.mark_ready(u, listing), lambda u: services.archive_listing(u, listing),
                     lambda u: services.delete_listing(u, listing)):
            with pytest.raises(PermissionDenied):
                call(user)
    with pytest.raises(PermissionDenied):
        services.create_listing(viewer, title="No")


def test_admin_may_change_anyones(admin_user, operator):
    listing = ready_listing(operator)
    services.archive_listing(admin_user, listing)
    assert Listing.objects.get(pk=listing.pk).status == ListingStatus.ARCHIVED


def test_archive_and_unarchive(operator):
    listing = ListingFactory(owner=operator)
    services.archive_listing(operator, listing)
    with pytest.raises(ValidationError, match="cannot be archived"):
        services.archive_listing(operator, listing)
    restored = services.unarchive_listing(operator, listing)
    assert restored.status == ListingStatus.DRAFT
    with pytest.raises(ValidationError, match="Only an archived listing"):
        services.unarchive_listing(operator, listing)


def test_mark_sold_by_hand(operator):
    listing = ListingFactory(owner=operator, purchase_cost=Decimal("5"))
    sold_at = timezone.now() - timedelta(days=1)
    sold = services.mark_sold(operator, listing, sale_price=Decimal("20"), sale_fees=Decimal("2.5"), sold_at=sold_at)
    assert sold.status == ListingStatus.SOLD and sold.sold_at == sold_at
    assert sold.profit == Decimal("12.50")
    with pytest.raises(ValidationError, match="cannot be marked sold"):
        services.mark_sold(operator, listing, sale_price=Decimal("20"))


def test_mark_sold_names_bad_fields(operator):
    listing = ListingFactory(owner=operator)
    with pytest.raises(ValidationError) as caught:
        services.mark_sold(operator, listing, sale_price=Decimal("-1"), sale_fees=Decimal("-1"),
                           sold_at=timezone.now() + timedelta(days=1))
    assert set(caught.value.message_dict) == {"sale_price", "sale_fees", "sold_at"}
    assert Listing.objects.get(pk=listing.pk).status == ListingStatus.DRAFT


def test_delete_removes_photos_and_files_but_not_a_sold_listing(operator, django_capture_on_commit_callbacks):
    listing = ready_listing(operator)
    photo = Photo.objects.get(listing=listing)
    from django.core.files.storage import default_storage
    assert default_storage.exists(photo.thumbnail.name)
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_listing(operator, listing)
    assert not Listing.objects.filter(pk=listing.pk).exists() and not Photo.objects.filter(pk=photo.pk).exists()
    assert not default_storage.exists(photo.thumbnail.name)
    sold = ListingFactory(owner=operator, status=ListingStatus.SOLD)
    with pytest.raises(ValidationError, match="archive it instead"):
        services.delete_listing(operator, sold)
    on_vinted = ListingFactory(owner=operator, status=ListingStatus.ARCHIVED, vinted_item_id="123")
    with pytest.raises(ValidationError, match="on Vinted"):
        services.delete_listing(operator, on_vinted)


def test_bulk_actions_are_per_listing(operator, other_operator):
    good = ready_listing(operator)
    incomplete = ListingFactory(owner=operator)
    theirs = ready_listing(other_operator)
    result = services.bulk_action(operator, "mark_ready", [good.pk, incomplete.pk, theirs.pk])
    assert result.succeeded == [good.pk]
    assert set(result.failed) == {incomplete.pk, theirs.pk}
    assert result.failed[theirs.pk] == "Not found."
    assert "description:" in result.failed[incomplete.pk]
    assert Listing.objects.get(pk=good.pk).status == ListingStatus.READY
    assert Listing.objects.get(pk=theirs.pk).status == ListingStatus.DRAFT
    archived = services.bulk_action(operator, "archive", [good.pk, incomplete.pk])
    assert sorted(archived.succeeded) == sorted([good.pk, incomplete.pk])


def test_bulk_redraft_hands_the_editable_listings_to_one_batch(operator, monkeypatch):
    from vinted.services import drafts

    calls = []
    monkeypatch.setattr(drafts, "start_batch", lambda user, listings: calls.append((user, listings)) or "batch")
    draft = ListingFactory(owner=operator)
    sold = ListingFactory(owner=operator, status=ListingStatus.SOLD)
    result = services.bulk_action(operator, "redraft", [draft.pk, sold.pk])
    assert calls == [(operator, [draft])]
    assert result.succeeded == [draft.pk] and list(result.failed) == [sold.pk] and result.batch == "batch"


def test_bulk_refuses_an_unknown_action_or_no_ids(operator):
    with pytest.raises(ValidationError):
        services.bulk_action(operator, "explode", [1])
    with pytest.raises(ValidationError):
        services.bulk_action(operator, "archive", [])


def test_choosing_a_brand_clears_no_brand(operator):
    listing = services.create_listing(operator, no_brand=True)
    services.update_listing(operator, listing, brand=Brand.objects.get(vinted_id=53))
    listing.refresh_from_db()
    assert listing.brand.vinted_id == 53 and listing.no_brand is False
