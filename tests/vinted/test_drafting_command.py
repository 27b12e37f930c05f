"""`manage.py vinted draft --listing ID [--overwrite] [--user U]`."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from monitoring.models import AIUsage
from tests.factories import ListingFactory
from vinted.models import Listing

from .drafting_helpers import GOOD_ANSWER, good_answer, listing_with_photo

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command("vinted", "draft", *args, stdout=out)
    return out.getvalue()


def test_drafts_as_the_owner_and_prints_what_it_did(operator, fake_openai):
    listing = listing_with_photo(operator, title="Mine", edited_fields=["title"])
    fake_openai.reply_next(good_answer(brand="Gucci"))

    out = run("--listing", str(listing.pk))

    usage = AIUsage.objects.get()
    assert usage.user == operator and usage.request_type == "listing_draft"
    assert f"Listing #{listing.pk} 'Mine' drafted with gpt-4o-mini, cost ${usage.cost_usd:.6f}." in out
    assert "Filled: Description, Category, Size, Condition, Colours, Price, Hashtags" in out
    assert "Kept (set by the seller): Title" in out
    assert "Rejected Brand: 'Gucci' is not a brand in the catalogue." in out
    assert "Needs you: Brand" in out


def test_overwrite(operator, fake_openai):
    listing = listing_with_photo(operator, title="Mine", edited_fields=["title"])
    fake_openai.reply_next(GOOD_ANSWER)
    run("--listing", str(listing.pk), "--overwrite")
    assert Listing.objects.get(pk=listing.pk).title == GOOD_ANSWER["title"]


def test_offline(operator, settings):
    settings.OPENAI_API_KEY = ""
    listing = listing_with_photo(operator, colour=(200, 30, 30))
    out = run("--listing", str(listing.pk))
    assert "drafted offline (no AI key: colours from the pixels)." in out
    assert "Filled: Colours" in out and "Needs you: Title, Description" in out


def test_a_missing_listing_is_a_clear_error(db):
    with pytest.raises(CommandError, match="No listing #999."):
        run("--listing", "999")


def test_another_user_who_may_not_change_it(operator, other_operator, fake_openai):
    listing = listing_with_photo(operator)
    with pytest.raises(CommandError, match="oona may not change listing"):
        run("--listing", str(listing.pk), "--user", other_operator.username)
    with pytest.raises(CommandError, match="No active user named 'nobody'"):
        run("--listing", str(listing.pk), "--user", "nobody")
    assert fake_openai.requests == []


def test_ai_errors_are_command_errors(operator, fake_openai):
    listing = listing_with_photo(operator)
    fake_openai.reply_next("oops")
    with pytest.raises(CommandError, match="not usable JSON"):
        run("--listing", str(listing.pk))
    fake_openai.fail_next(1, status=500)
    with pytest.raises(CommandError, match="unavailable right now"):
        run("--listing", str(listing.pk))


def test_no_photo_is_a_command_error(operator, fake_openai):
    listing = ListingFactory(owner=operator)
    with pytest.raises(CommandError, match="photos: Add at least one photo"):
        run("--listing", str(listing.pk))
