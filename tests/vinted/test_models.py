from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import ListingFactory, PhotoFactory
from vinted.models import Category, Listing

pytestmark = pytest.mark.django_db


def test_catalogue_is_shipped_with_vinted_ids():
    assert str(Category.objects.get(vinted_id=5)) == "Men › Clothing › Jeans"
    assert Category.objects.get(vinted_id=1187).needs_size


def test_profit_and_days_to_sell():
    now = timezone.now()
    listing = ListingFactory(purchase_cost="4.00", sale_price="20.00", sale_fees="2.50",
                             listed_at=now - timezone.timedelta(days=9), sold_at=now)
    assert listing.profit == Decimal("13.50")
    assert listing.days_to_sell == 9


def test_operators_see_only_their_own_listings(operator, other_operator, viewer, admin_user):
    mine = ListingFactory(owner=operator)
    theirs = ListingFactory(owner=other_operator)
    PhotoFactory(listing=theirs)
    assert list(Listing.objects.restrict(operator)) == [mine]
    assert set(Listing.objects.restrict(viewer)) == {mine, theirs}
    assert not Listing.objects.permits(viewer, mine, "change")
    assert Listing.objects.permits(admin_user, theirs, "delete")
    assert not Listing.objects.permits(operator, theirs, "view")
    assert ListingFactory(complete=True).colours.count() == 1
