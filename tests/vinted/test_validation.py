"""The "ready" validator: one message per problem, at its field; limits are settings."""

from decimal import Decimal

import pytest

from tests.factories import ListingFactory, PhotoFactory
from vinted import validation
from vinted.models import Brand, Category, Colour, ForbiddenPhrase, Listing, Size

pytestmark = pytest.mark.django_db


def _ready(**fields):
    listing = ListingFactory(complete=True, **fields)
    PhotoFactory(listing=listing)
    return listing


def check(listing):
    fresh = Listing.objects.select_related("category", "brand", "size").prefetch_related("colours", "photos")
    return validation.check_ready(fresh.get(pk=listing.pk))


def test_a_complete_listing_with_a_photo_passes():
    report = check(_ready())
    assert report.ok, report.errors
    assert report.warnings == {}


def test_an_empty_draft_names_every_missing_field():
    report = check(ListingFactory(title=""))
    assert set(report.errors) == {"title", "description", "category", "brand", "condition", "price", "colours",
                                  "photos"}
    assert report.errors["brand"] == ["Choose a brand, or tick “no brand”."]
    assert report.errors["photos"] == ["Add at least 1 photo."]


def test_no_brand_satisfies_the_brand_requirement():
    report = check(_ready(brand=None, no_brand=True))
    assert "brand" not in report.errors


def test_a_size_is_required_only_where_the_category_needs_one():
    jeans = Category.objects.get(vinted_id=1187)
    assert "size" in check(_ready(size=None)).errors
    bag = Category.objects.filter(size_group="").exclude(parent=None).first()
    assert bag is not None and not bag.needs_size
    assert "size" not in check(_ready(category=bag, size=None)).errors
    other_group = Size.objects.exclude(group=jeans.size_group).first()
    messages = check(_ready(size=other_group)).errors["size"]
    assert messages == [f"{other_group.name} is not a size for {jeans.name}; choose one of its sizes."]


@pytest.mark.parametrize("field,value,message", [
    ("title", "x" * 101, "At most 100 characters (this one has 101)."),
    ("description", "y" * 2001, "At most 2000 characters (this one has 2001)."),
    ("price", Decimal("0.99"), "Vinted's lowest price is 1.00."),
    ("hashtags", ["a", "b", "c", "d", "e", "f"], "At most 5 hashtags (there are 6)."),
    ("hashtags", ["two words"], "“two words” is not one word: a hashtag has letters, digits or _ only."),
])
def test_limits_are_named_at_their_field(field, value, message):
    assert check(_ready(**{field: value})).errors == {field: [message]}


def test_limits_follow_the_settings(settings):
    settings.VINTED_TITLE_MAX_CHARS = 10
    settings.VINTED_PRICE_MIN = "5.00"
    report = check(_ready(title="A title of 24 characters"[:24], price=Decimal("4")))
    assert report.errors["title"] == ["At most 10 characters (this one has 24)."]
    assert report.errors["price"] == ["Vinted's lowest price is 5.00."]


def test_one_or_two_colours():
    listing = _ready()
    listing.colours.set(Colour.objects.all()[:3])
    assert check(listing).errors == {"colours": ["Choose at most 2 colours."]}
    listing.colours.clear()
    assert check(listing).errors == {"colours": ["Choose one or two colours."]}


def test_photos_must_be_ready_and_at_most_the_limit(settings):
    listing = ListingFactory(complete=True)
    PhotoFactory(listing=listing, status="processing")
    assert check(listing).errors == {"photos": ["Add at least 1 photo."]}
    settings.VINTED_PHOTOS_MAX = 2
    PhotoFactory.create_batch(3, listing=listing)
    assert check(listing).errors == {"photos": ["At most 2 photos (there are 3)."]}


@pytest.mark.parametrize("field,text,found,reason", [
    ("description", "Also on eBay for less", "eBay", "another marketplace"),
    ("description", "Write me at seller@example.com", "seller@example.com", "e-mail address"),
    ("title", "Jeans call +33 6 12 34 56 78", "+33 6 12 34 56 78", "phone number"),
    ("description", "Ask me on WhatsApp", "WhatsApp", "messaging apps"),
])
def test_forbidden_phrases_are_named_with_their_reason(field, text, found, reason):
    errors = check(_ready(**{field: text})).errors
    assert list(errors) == [field]
    assert len(errors[field]) == 1 and f"“{found}”" in errors[field][0]
    assert reason in errors[field][0]


def test_forbidden_phrases_in_hashtags_and_phrase_rows_match_whole_words_only():
    ForbiddenPhrase.objects.create(pattern="fake", kind="phrase", reason="Counterfeits are not allowed.")
    assert check(_ready(hashtags=["fake"])).errors == {"hashtags": ["Counterfeits are not allowed: “fake”."]}
    assert check(_ready(title="Fakeless denim")).ok  # not a whole word


def test_inactive_or_broken_phrases_block_nothing():
    ForbiddenPhrase.objects.update(is_active=False)
    ForbiddenPhrase.objects.create(pattern="(unclosed", kind="regex", reason="Broken.")
    assert check(_ready(description="Also on eBay (unclosed")).ok


def test_price_far_from_the_ai_range_is_a_warning_not_a_block():
    low = check(_ready(price=Decimal("4"), ai_price_min=Decimal("10"), ai_price_max=Decimal("20")))
    assert low.ok and list(low.warnings) == ["price"]
    assert "below the suggested range (10.00–20.00)" in low.warnings["price"][0]
    high = check(_ready(price=Decimal("41"), ai_price_min=Decimal("10"), ai_price_max=Decimal("20")))
    assert high.ok and "above" in high.warnings["price"][0]
    near = check(_ready(price=Decimal("40"), ai_price_min=Decimal("10"), ai_price_max=Decimal("20")))
    assert near.warnings == {}


def test_brand_and_no_brand_together_is_an_error():
    assert check(_ready(no_brand=True, brand=Brand.objects.first())).errors == {
        "brand": ["Choose a brand or tick “no brand”, not both."]}


@pytest.mark.parametrize("raw,tags", [
    ("#Denim, vintage  90s", ["denim", "vintage", "90s"]),
    (["#A", "a", " b "], ["a", "b"]),
    (None, []),
])
def test_hashtags_are_normalised(raw, tags):
    assert validation.normalise_hashtags(raw) == tags
