"""A draft is written again against the listing as it is at send time (review #12 finding 1): sold,
archived or repriced in between; after a repost or relist the live copy answers (finding 13); the
automatic send time is shown in the account's zone (finding 14)."""

from datetime import UTC, datetime, time
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.fakes.vinted_inbox import replies
from tests.monitoring.worker import run_worker
from tests.vinted.replies_helpers import buyer_writes, live_account, published_listing
from vinted import replies_text
from vinted.choices import ListingStatus, ReplyIntent, SuggestionStatus
from vinted.models import Message, ReplySuggestion
from vinted.services import replies as services

pytestmark = pytest.mark.django_db

AUTO = {"auto_reply_intents": [ReplyIntent.AVAILABILITY, ReplyIntent.PRICE],
        "auto_reply_delay_min_seconds": 60, "auto_reply_delay_max_seconds": 120,
        "night_start": time(0, 0), "night_end": time(0, 0)}


def _sell(listing):
    listing.status, listing.sold_at = ListingStatus.SOLD, timezone.now()
    listing.save(update_fields=["status", "sold_at"])


def test_an_automatic_reply_about_an_item_sold_meanwhile_never_says_available(fake_vinted, operator):
    account = live_account(fake_vinted, operator, **AUTO)
    listing = published_listing(operator, account)
    conv_id, conversation = buyer_writes(fake_vinted, account, "Still available?")
    suggestion = conversation.suggestions.get()
    assert suggestion.status == SuggestionStatus.SCHEDULED and "still available" in suggestion.body
    _sell(listing)

    services.send_due_replies(now=suggestion.send_at)
    run_worker()
    (sent,) = replies(fake_vinted, conv_id)
    assert "available" not in sent and "sold" in sent
    suggestion.refresh_from_db()
    assert suggestion.body == sent


def test_an_automatic_reply_quotes_the_price_as_it_is_at_send_time(fake_vinted, operator):
    account = live_account(fake_vinted, operator, **AUTO)
    listing = published_listing(operator, account, price="25.00")
    conv_id, conversation = buyer_writes(fake_vinted, account, "What is the price?")
    suggestion = conversation.suggestions.get()
    assert "€25" in suggestion.body
    listing.price = Decimal("19.00")
    listing.save(update_fields=["price"])

    services.send_due_replies(now=suggestion.send_at)
    run_worker()
    (sent,) = replies(fake_vinted, conv_id)
    assert "€19" in sent and "€25" not in sent


def test_sending_without_a_body_sends_the_draft_of_the_listing_as_it_is_now(fake_vinted, operator):
    account = live_account(fake_vinted, operator)
    listing = published_listing(operator, account)
    conv_id, conversation = buyer_writes(fake_vinted, account, "Still available?")
    suggestion = conversation.suggestions.get()
    _sell(listing)
    services.send(suggestion, by_user=operator)
    run_worker()
    (sent,) = replies(fake_vinted, conv_id)
    assert "available" not in sent and "sold" in sent


def test_the_conversation_shows_the_current_draft_and_says_it_was_outdated(client, fake_vinted, operator):
    account = live_account(fake_vinted, operator)
    listing = published_listing(operator, account)
    _, conversation = buyer_writes(fake_vinted, account, "Still available?")
    suggestion = conversation.suggestions.get()
    client.force_login(operator)
    page = client.get(conversation.get_absolute_url()).content.decode()
    assert "still available" in page and "Outdated" not in page
    _sell(listing)
    page = client.get(conversation.get_absolute_url()).content.decode()
    assert f'id="suggestion-{suggestion.pk}"' in page
    assert "still available" not in page and "has been sold" in page
    assert "Outdated" in page


def _repost(old, *, item_id, status=ListingStatus.PUBLISHED, price=None):
    """What a repost leaves: the old listing archived, a copy relisted from it."""
    new = published_listing(old.owner, old.account, item_id=item_id, status=status, price=price or str(old.price))
    new.relisted_from = old
    new.save(update_fields=["relisted_from"])
    old.status = ListingStatus.ARCHIVED
    old.save(update_fields=["status"])
    return new


def test_after_a_repost_the_old_conversation_answers_from_the_live_copy(fake_vinted, operator):
    account = live_account(fake_vinted, operator)
    old = published_listing(operator, account)
    newer = _repost(old, item_id=5550002, price="22.00")
    newest = _repost(newer, item_id=5550003, price="20.00")
    old.refresh_from_db()
    assert replies_text.current_copy(old) == newest
    assert replies_text.availability(replies_text.current_copy(old)) == "available"
    body = replies_text.draft(ReplyIntent.AVAILABILITY, old, language=replies_text.ENGLISH)
    assert "still available" in body and "no longer for sale" not in body
    assert "€20" in replies_text.draft(ReplyIntent.PRICE, old, language=replies_text.ENGLISH)

    _, conversation = buyer_writes(fake_vinted, account, "Still available?")  # about the old item
    assert conversation.listing == old
    assert "still available" in conversation.suggestions.get().body


def test_a_relisted_copy_that_sold_or_is_still_a_draft(fake_vinted, operator):
    account = live_account(fake_vinted, operator)
    old = published_listing(operator, account)
    copy = _repost(old, item_id=5550002)
    _sell(copy)
    old.refresh_from_db()
    assert "sold" in replies_text.draft(ReplyIntent.AVAILABILITY, old, language=replies_text.ENGLISH)
    # A copy not on Vinted yet is not the item: the archived one answers ("no longer for sale").
    other = published_listing(operator, account, item_id=5550009)
    draft_copy = _repost(other, item_id=5550010, status=ListingStatus.DRAFT)
    other.refresh_from_db()
    assert replies_text.current_copy(other) == other != draft_copy
    assert "no longer for sale" in replies_text.draft(ReplyIntent.AVAILABILITY, other, language=replies_text.ENGLISH)


def test_the_send_time_is_shown_in_the_account_zone(client, fake_vinted, operator):
    account = live_account(fake_vinted, operator, **{**AUTO, "time_zone": "America/New_York"})
    published_listing(operator, account)
    _, conversation = buyer_writes(fake_vinted, account, "Still available?")
    suggestion = conversation.suggestions.get()
    suggestion.send_at = datetime(2026, 6, 1, 15, 30, tzinfo=UTC)  # 11:30 in New York (summer)
    suggestion.save(update_fields=["send_at"])
    client.force_login(operator)
    page = client.get(conversation.get_absolute_url()).content.decode()
    assert "2026-06-01 11:30" in page and "America/New_York" in page
    assert "2026-06-01 15:30" not in page


def test_a_redraft_keeps_the_language_of_the_first_draft(fake_vinted, operator):
    """An English draft for an ambiguous buyer message (the AI said English) stays English."""
    account = live_account(fake_vinted, operator)
    published_listing(operator, account)
    _, conversation = buyer_writes(fake_vinted, account, "Still available?")
    suggestion = conversation.suggestions.get()
    assert services.current_draft(suggestion) == suggestion.body
    suggestion.message.body = "?"  # no clue left in the buyer's words: the draft's own words tell
    assert services.current_draft(suggestion) == suggestion.body


@pytest.mark.skipif(not connection.features.has_select_for_update, reason="no row locks on this database")
def test_scheduling_locks_the_conversation_so_two_syncs_count_each_other(fake_vinted, operator):
    """Review #12 finding 12: the per-conversation count is read under the conversation's row lock,
    so a second sync at the same time waits and sees the first one's scheduled reply."""
    account = live_account(fake_vinted, operator, **AUTO)
    published_listing(operator, account)
    _, conversation = buyer_writes(fake_vinted, account, "Still available?")
    message = conversation.suggestions.get().message
    ReplySuggestion.objects.filter(message=message).delete()
    with CaptureQueriesContext(connection) as queries:
        services.suggest(Message.objects.get(pk=message.pk))
    locks = [query["sql"] for query in queries.captured_queries if "FOR UPDATE" in query["sql"]]
    assert any('"vinted_conversation"' in sql.split("FROM", 1)[1][:40] for sql in locks), locks
