"""One AI draft of a listing, through the local fake OpenAI server (and offline)."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from monitoring import ai
from monitoring.models import AIUsage
from tests.factories import ListingFactory, PhotoFactory, image_bytes
from vinted.models import Brand, Category, Colour, Listing, Size
from vinted.services.drafts import draft_listing

from .drafting_helpers import GOOD_ANSWER, good_answer, listing_with_photo

pytestmark = pytest.mark.django_db

CHAT = "/v1/chat/completions"


def test_ai_draft_fills_every_field_and_records_its_cost(fake_openai, operator):
    listing = listing_with_photo(operator)
    fake_openai.reply_next(GOOD_ANSWER)

    result = draft_listing(operator, listing)

    listing.refresh_from_db()
    jeans = Category.objects.get(vinted_id=1187)
    assert listing.title == GOOD_ANSWER["title"]
    assert listing.description == GOOD_ANSWER["description"]
    assert listing.category == jeans
    assert listing.brand == Brand.objects.get(vinted_id=53) and not listing.no_brand
    assert listing.size == Size.objects.get(group="women-jeans", name="W28")
    assert listing.condition == 2  # Vinted's status_id for "very good"
    assert list(listing.colours.values_list("name", flat=True)) == ["Blue"]
    assert listing.hashtags == ["levis", "denim", "straightleg"]
    assert (listing.ai_price_min, listing.ai_price_target, listing.ai_price_max) == (
        Decimal("15.00"), Decimal("22.50"), Decimal("30.00"))
    assert listing.price == Decimal("22.50")  # the target, since the seller set none
    assert listing.ai_confidence["title"] == 0.8 and listing.ai_model == "gpt-4o-mini"
    assert listing.ai_rejected == {} and listing.ai_drafted_at is not None
    assert set(result.filled) == set(GOOD_ANSWER) - {"confidence"}
    assert result.rejected == {} and result.needs_user == [] and not result.offline

    usage = AIUsage.objects.get()
    assert usage.request_type == "listing_draft" and usage.user == operator and usage.success
    assert usage.images == 1 and usage.prompt_tokens > 765 and usage.cost_usd > 0
    assert result.cost_usd == usage.cost_usd == listing.ai_cost_usd

    (sent,) = fake_openai.requests_to(CHAT)
    content = sent.json["messages"][0]["content"]
    assert content[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert "Women > Clothing > Jeans" in content[0]["text"] and "Levi's" in content[0]["text"]
    schema_format = sent.json["response_format"]
    assert schema_format["type"] == "json_schema" and schema_format["json_schema"]["strict"] is True
    properties = schema_format["json_schema"]["schema"]["properties"]
    assert "Red" in properties["colours"]["items"]["enum"]


def test_malformed_fields_are_rejected_one_by_one_and_the_valid_ones_kept(fake_openai, operator):
    listing = listing_with_photo(operator)
    fake_openai.reply_next(good_answer(
        title="x" * 101, category="Women > Spaceships", price={"min": 0, "target": -5, "max": 10},
        condition="Mint", hashtags="denim", brand="Levi's", colours=["Blue", "Ultraviolet"]))

    result = draft_listing(operator, listing)

    listing.refresh_from_db()
    assert set(result.rejected) == {"title", "category", "price", "condition", "hashtags", "colours", "size"}
    assert "at most 100" in result.rejected["title"]
    assert "'Women > Spaceships' is not a category" in result.rejected["category"]
    assert "above 0" in result.rejected["price"]
    assert "'Ultraviolet' is not a colour" in result.rejected["colours"]
    assert "several size groups" in result.rejected["size"]  # W28 without a category: women's or men's?
    assert listing.ai_rejected == result.rejected
    # Kept: what was valid.
    assert listing.brand.name == "Levi's" and listing.description == GOOD_ANSWER["description"]
    assert set(result.filled) == {"brand", "description"}
    # Left for the seller: nothing invented.
    assert listing.title == "" and listing.category is None and listing.price is None
    assert listing.ai_price_target is None and not listing.colours.exists()
    assert set(result.needs_user) >= {"title", "category", "price", "condition", "colours"}


def test_price_below_zero_and_out_of_order_ranges_are_rejected(fake_openai, operator):
    listing = listing_with_photo(operator)
    fake_openai.reply_next(good_answer(price={"min": 30, "target": 20, "max": 40}))
    result = draft_listing(operator, listing)
    assert "not in order" in result.rejected["price"]
    fake_openai.reply_next(good_answer(price={"min": 1, "target": "cheap", "max": 4}))
    result = draft_listing(operator, listing)
    assert "not a number" in result.rejected["price"]
    listing.refresh_from_db()
    assert listing.price is None


def test_an_answer_that_is_not_json_changes_nothing_but_its_cost_is_recorded(fake_openai, operator):
    listing = listing_with_photo(operator, title="My own title")
    fake_openai.reply_next("Sure! This looks like a pair of jeans.")

    with pytest.raises(ai.AIError, match="not usable JSON"):
        draft_listing(operator, listing)

    listing.refresh_from_db()
    assert listing.title == "My own title" and listing.ai_drafted_at is None
    usage = AIUsage.objects.get()
    assert usage.request_type == "listing_draft" and not usage.success


def test_budget_exceeded_is_a_clear_error_and_nothing_is_sent_or_lost(fake_openai, operator):
    operator.ai_monthly_budget_usd = Decimal("0.01")
    operator.save()
    AIUsage.objects.create(user=operator, request_type="listing_draft", model="gpt-4o-mini",
                           cost_usd=Decimal("0.02"))
    listing = listing_with_photo(operator, title="Keep me")

    with pytest.raises(ai.BudgetExceeded, match="AI budget reached"):
        draft_listing(operator, listing)

    assert fake_openai.requests_to(CHAT) == []
    listing.refresh_from_db()
    assert listing.title == "Keep me" and listing.ai_drafted_at is None
    assert AIUsage.objects.count() == 1


def test_a_redraft_keeps_the_sellers_edits_unless_asked_to_overwrite(fake_openai, operator):
    listing = listing_with_photo(operator)
    fake_openai.reply_next(GOOD_ANSWER)
    draft_listing(operator, listing)
    # The seller corrects the title and the price (the listing services mark them edited).
    Listing.objects.filter(pk=listing.pk).update(title="Levi's 501, W28", price="19.00",
                                                 edited_fields=["title", "price"])
    listing.refresh_from_db()

    fake_openai.reply_next(good_answer(title="Another title", description="Another description",
                                       price={"min": 30, "target": 35, "max": 40}))
    result = draft_listing(operator, listing)
    listing.refresh_from_db()
    assert listing.title == "Levi's 501, W28" and listing.price == Decimal("19.00")
    assert listing.description == "Another description"  # the AI's own earlier text is replaced
    assert listing.ai_price_target == Decimal("35.00")  # the suggestion beside the seller's price
    assert set(result.kept) == {"title", "price"} and "title" not in result.filled

    fake_openai.reply_next(good_answer(title="Another title", price={"min": 30, "target": 35, "max": 40}))
    result = draft_listing(operator, listing, overwrite=True)
    listing.refresh_from_db()
    assert listing.title == "Another title" and listing.price == Decimal("35.00")
    assert result.kept == [] and listing.edited_fields == []


def test_values_set_before_any_draft_are_the_sellers(fake_openai, operator):
    listing = listing_with_photo(operator, title="Typed by hand", condition=3)
    fake_openai.reply_next(GOOD_ANSWER)
    result = draft_listing(operator, listing)
    listing.refresh_from_db()
    assert listing.title == "Typed by hand" and listing.condition == 3
    assert {"title", "condition"} <= set(result.kept)


def test_size_is_checked_against_the_sellers_category(fake_openai, operator):
    mens_jeans = Category.objects.get(vinted_id=5)
    listing = listing_with_photo(operator, category=mens_jeans, edited_fields=["category"])
    fake_openai.reply_next(good_answer(size="W36"))  # only men's jeans have W36
    result = draft_listing(operator, listing)
    listing.refresh_from_db()
    assert listing.category == mens_jeans and listing.size == Size.objects.get(group="men-jeans", name="W36")
    assert "size" in result.filled and "category" in result.kept


def test_no_brand_answer(fake_openai, operator):
    listing = listing_with_photo(operator)
    fake_openai.reply_next(good_answer(brand="No brand"))
    draft_listing(operator, listing)
    listing.refresh_from_db()
    assert listing.no_brand and listing.brand is None


def test_a_ready_listing_goes_back_to_draft_when_the_draft_changes_it(fake_openai, operator):
    listing = ListingFactory(owner=operator, complete=True, status="ready")
    PhotoFactory(listing=listing)
    Listing.objects.filter(pk=listing.pk).update(hashtags=[])
    fake_openai.reply_next(GOOD_ANSWER)
    result = draft_listing(operator, listing)
    listing.refresh_from_db()
    assert result.filled == ["hashtags"] and listing.status == "draft" and listing.ready_at is None


def test_offline_draft_takes_only_the_colours_from_the_pixels(settings, operator):
    settings.OPENAI_API_KEY = ""
    listing = listing_with_photo(operator, colour=(200, 30, 30))

    result = draft_listing(operator, listing)

    listing.refresh_from_db()
    assert result.offline and result.filled == ["colours"] and result.cost_usd == 0
    assert list(listing.colours.values_list("name", flat=True)) == ["Red"]
    assert listing.ai_model == "offline" and listing.title == "" and listing.category is None
    assert listing.ai_price_target is None and listing.price is None
    assert result.needs_user == ["title", "description", "category", "brand", "size", "condition", "price"]
    assert not AIUsage.objects.exists()


def test_offline_colours_leave_out_a_plain_background(settings, operator):
    """A navy item photographed on a white sheet is navy, not white."""
    from io import BytesIO

    from PIL import Image, ImageDraw

    settings.OPENAI_API_KEY = ""
    picture = Image.new("RGB", (400, 300), (250, 250, 248))
    ImageDraw.Draw(picture).rectangle((120, 60, 300, 260), fill=(26, 42, 79))
    buffer = BytesIO()
    picture.save(buffer, "JPEG")
    listing = ListingFactory(owner=operator, title="")
    PhotoFactory(listing=listing, display__data=buffer.getvalue())

    draft_listing(operator, listing)

    assert list(listing.colours.values_list("name", flat=True)) == ["Navy"]


def test_two_colour_item_gives_two_colours(settings, operator):
    from io import BytesIO

    from PIL import Image, ImageDraw

    settings.OPENAI_API_KEY = ""
    picture = Image.new("RGB", (400, 300), (250, 250, 250))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((80, 40, 200, 260), fill=(20, 20, 20))
    draw.rectangle((200, 40, 320, 260), fill=(253, 216, 53))
    buffer = BytesIO()
    picture.save(buffer, "PNG")
    listing = ListingFactory(owner=operator, title="")
    PhotoFactory(listing=listing, display__data=buffer.getvalue())

    result = draft_listing(operator, listing)

    assert set(listing.colours.values_list("name", flat=True)) == {"Black", "Yellow"}
    assert result.filled == ["colours"]


def test_offline_keeps_colours_the_seller_chose(settings, operator):
    settings.OPENAI_API_KEY = ""
    listing = listing_with_photo(operator, colour=(200, 30, 30))
    listing.colours.set([Colour.objects.get(name="Pink")])
    Listing.objects.filter(pk=listing.pk).update(edited_fields=["colours"])
    listing.refresh_from_db()
    result = draft_listing(operator, listing)
    assert list(listing.colours.values_list("name", flat=True)) == ["Pink"] and result.kept == ["colours"]


def test_a_listing_without_photos_cannot_be_drafted(fake_openai, operator):
    listing = ListingFactory(owner=operator)
    with pytest.raises(ValidationError) as caught:
        draft_listing(operator, listing)
    assert "photo" in caught.value.message_dict["photos"][0]
    assert fake_openai.requests == []


def test_only_someone_who_may_change_the_listing_drafts_it(fake_openai, operator, other_operator, viewer):
    listing = listing_with_photo(operator)
    for user in (other_operator, viewer):
        with pytest.raises(PermissionDenied):
            draft_listing(user, listing)
    assert fake_openai.requests == []


def test_a_published_listing_is_not_drafted(fake_openai, operator):
    listing = listing_with_photo(operator, status="published")
    with pytest.raises(ValidationError, match="cannot be drafted"):
        draft_listing(operator, listing)


def test_image_sent_is_downsized_jpeg(fake_openai, operator):
    import base64
    from io import BytesIO

    from PIL import Image

    listing = ListingFactory(owner=operator, title="")
    PhotoFactory(listing=listing, display__data=image_bytes(2000, 1500, (10, 200, 10), fmt="PNG"))
    fake_openai.reply_next(GOOD_ANSWER)
    draft_listing(operator, listing)
    url = fake_openai.requests_to(CHAT)[0].json["messages"][0]["content"][1]["image_url"]["url"]
    sent = Image.open(BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert sent.format == "JPEG" and max(sent.size) == 768


def test_the_prompt_asks_for_prices_in_the_listings_currency(fake_openai, operator):
    listing = listing_with_photo(operator, currency="GBP")
    fake_openai.reply_next(GOOD_ANSWER)
    draft_listing(operator, listing)
    prompt = fake_openai.requests_to(CHAT)[0].json["messages"][0]["content"][0]["text"]
    assert "prices are in GBP" in prompt


def test_rejections_of_fields_the_seller_filled_are_not_shown_as_left_for_them(fake_openai, operator):
    listing = listing_with_photo(operator, title="Mine", edited_fields=["title"])
    fake_openai.reply_next(good_answer(title="x" * 300, brand="Gucci"))
    result = draft_listing(operator, listing)
    assert set(result.rejected) == {"brand"}
    listing.refresh_from_db()
    assert listing.ai_rejected == result.rejected and listing.title == "Mine"


def test_a_listing_published_during_the_call_is_left_alone(fake_openai, operator, monkeypatch):
    from vinted import drafting

    listing = listing_with_photo(operator)
    fake_openai.reply_next(GOOD_ANSWER)
    real_call = drafting.ask_model

    def call_then_publish(*args, **kwargs):
        # The real call to the fake; meanwhile (another request) the listing was published.
        answer = real_call(*args, **kwargs)
        Listing.objects.filter(pk=listing.pk).update(status="published")
        return answer

    monkeypatch.setattr(drafting, "ask_model", call_then_publish)
    with pytest.raises(ValidationError, match="became published while it was being drafted"):
        draft_listing(operator, listing)
    listing.refresh_from_db()
    assert listing.title == "" and listing.ai_drafted_at is None
    assert AIUsage.objects.get().success  # the call itself was paid for and recorded


def test_a_large_brand_list_is_asked_as_text_and_still_checked(fake_openai, operator):
    from vinted.drafting import MAX_ENUM_VALUES

    Brand.objects.bulk_create([Brand(name=f"Brand {n}", vinted_id=900000 + n) for n in range(MAX_ENUM_VALUES)])
    listing = listing_with_photo(operator)
    fake_openai.reply_next(good_answer(brand="Brand 7"), good_answer(brand="Brand 9999"))
    draft_listing(operator, listing)
    brand_schema = fake_openai.requests_to(CHAT)[0].json["response_format"]["json_schema"]["schema"][
        "properties"]["brand"]
    assert brand_schema == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert Listing.objects.get(pk=listing.pk).brand.name == "Brand 7"
    result = draft_listing(operator, listing)
    assert "'Brand 9999' is not a brand" in result.rejected["brand"]
