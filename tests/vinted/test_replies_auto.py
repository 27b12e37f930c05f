"""Auto-replies: only chosen intents (never offers), one per conversation, after the random delay,
never at night, only while automation is active, through the ledger (hourly limit: retried later,
not lost), recorded in the automation history and marked "sent automatically"."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from tests.fakes.vinted_inbox import replies
from tests.monitoring.worker import run_worker
from tests.vinted.replies_helpers import buyer_writes, live_account, published_listing
from vinted.choices import AutomationFeature, AutomationOutcome, CallKind, ReplyIntent, SuggestionStatus
from vinted.models import AutomationEvent, Message, VintedCall
from vinted.services import automation
from vinted.services import replies as services

pytestmark = pytest.mark.django_db

AUTO = {"auto_reply_intents": [ReplyIntent.AVAILABILITY, ReplyIntent.SHIPPING, ReplyIntent.OFFER],
        "auto_reply_delay_min_seconds": 60, "auto_reply_delay_max_seconds": 120,
        "night_start": time(0, 0), "night_end": time(0, 0)}  # no night unless a test sets one


@pytest.fixture
def account(fake_vinted, operator):
    account = live_account(fake_vinted, operator, **AUTO)
    published_listing(operator, account)
    return account


def events(account, outcome=None):
    rows = AutomationEvent.objects.filter(account=account, feature=AutomationFeature.REPLIES)
    return list(rows.filter(outcome=outcome) if outcome else rows)


def test_an_availability_question_is_sent_once_after_the_delay(fake_vinted, account):
    before = timezone.now()
    conv_id, conversation = buyer_writes(fake_vinted, account, "Still available?")
    (suggestion,) = conversation.suggestions.all()
    assert suggestion.status == SuggestionStatus.SCHEDULED
    assert before + timedelta(seconds=60) <= suggestion.send_at <= timezone.now() + timedelta(seconds=120)

    assert services.send_due_replies(now=suggestion.send_at - timedelta(seconds=1)) == 0
    run_worker()
    assert replies(fake_vinted) == []

    assert services.send_due_replies(now=suggestion.send_at) == 1
    run_worker()
    suggestion.refresh_from_db()
    assert suggestion.status == SuggestionStatus.SENT
    assert replies(fake_vinted, conv_id) == [suggestion.body] and "still available" in suggestion.body
    reply = Message.objects.get(pk=suggestion.reply_id)
    assert reply.automatic and reply.sent_by is None and reply.vinted_id
    assert VintedCall.objects.filter(account=account, action="reply", kind=CallKind.WRITE).count() == 1
    (done,) = events(account, AutomationOutcome.DONE)
    assert done.conversation == conversation and "automatically" in done.message
    # Nothing sends it twice.
    assert services.send_due_replies(now=suggestion.send_at + timedelta(hours=1)) == 0


def test_at_most_one_automatic_reply_per_conversation(fake_vinted, account):
    conv_id, conversation = buyer_writes(fake_vinted, account, "Still available?")
    first = conversation.suggestions.get()
    services.send_due_replies(now=first.send_at)
    run_worker()
    buyer_writes(fake_vinted, account, "And shipping to Lyon, how does it work?", conv_id=conv_id)
    second = conversation.suggestions.exclude(pk=first.pk).get()
    assert (second.intent, second.status, second.send_at) == (ReplyIntent.SHIPPING, SuggestionStatus.PENDING, None)
    assert "1 automatic reply" in second.error
    assert events(account, AutomationOutcome.SKIPPED)
    services.send_due_replies(now=timezone.now() + timedelta(hours=1))
    run_worker()
    assert len(replies(fake_vinted, conv_id)) == 1


def test_offers_are_never_sent_automatically(fake_vinted, account):
    _, conversation = buyer_writes(fake_vinted, account, "", kind="offer_request_message", price="30.0")
    suggestion = conversation.suggestions.get()
    assert (suggestion.intent, suggestion.status) == (ReplyIntent.OFFER, SuggestionStatus.PENDING)
    assert "accept" in suggestion.body
    assert services.send_due_replies(now=timezone.now() + timedelta(days=1)) == 0
    assert replies(fake_vinted) == []


def test_intents_not_chosen_stay_suggestions(fake_vinted, account):
    _, conversation = buyer_writes(fake_vinted, account, "What size is it?")
    assert conversation.suggestions.get().status == SuggestionStatus.PENDING


def test_never_at_night_in_the_accounts_time_zone(fake_vinted, account):
    settings = automation.settings_for(account)
    settings.time_zone = "Asia/Tokyo"
    local_now = timezone.localtime(timezone.now(), automation.zone(settings))
    settings.night_start = (local_now - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    settings.night_end = (local_now + timedelta(hours=3)).time().replace(second=0, microsecond=0)
    settings.save()
    _, conversation = buyer_writes(fake_vinted, account, "Still available?")
    suggestion = conversation.suggestions.get()
    assert suggestion.status == SuggestionStatus.SCHEDULED
    assert suggestion.send_at >= timezone.now() + timedelta(hours=2, minutes=58)  # the night's end
    assert not automation.is_night(settings, suggestion.send_at)
    # Due but still night (the night moved to cover it): postponed to the morning, not sent.
    settings.night_end = (timezone.localtime(suggestion.send_at, automation.zone(settings))
                          + timedelta(hours=1)).time().replace(second=0, microsecond=0)
    settings.save()
    assert services.send_due_replies(now=suggestion.send_at) == 0
    suggestion.refresh_from_db()
    assert suggestion.status == SuggestionStatus.SCHEDULED and not automation.is_night(settings, suggestion.send_at)
    assert "Night" in events(account, AutomationOutcome.SKIPPED)[0].message
    assert replies(fake_vinted) == []


def test_a_paused_account_sends_nothing_even_what_was_scheduled(fake_vinted, account, operator):
    _, conversation = buyer_writes(fake_vinted, account, "Still available?")
    suggestion = conversation.suggestions.get()
    automation.pause(account, by_user=operator)
    assert services.send_due_replies(now=suggestion.send_at) == 0
    run_worker()
    suggestion.refresh_from_db()
    assert suggestion.status == SuggestionStatus.PENDING and "paused" in suggestion.error
    assert replies(fake_vinted) == []
    assert any("paused" in event.message for event in events(account, AutomationOutcome.SKIPPED))
    # A message arriving while paused is not scheduled at all.
    _, other = buyer_writes(fake_vinted, account, "Still available?", buyer="paul")
    assert other.suggestions.get().status == SuggestionStatus.PENDING


def test_dry_run_sends_nothing_and_records_dry_run(fake_vinted, account):
    account.dry_run = True
    account.save(update_fields=["dry_run"])
    _, conversation = buyer_writes(fake_vinted, account, "Still available?")
    suggestion = conversation.suggestions.get()
    assert services.send_due_replies(now=suggestion.send_at) == 0
    run_worker()
    suggestion.refresh_from_db()
    assert suggestion.status == SuggestionStatus.PENDING and "Dry run" in suggestion.error
    assert replies(fake_vinted) == [] and len(events(account, AutomationOutcome.DRY_RUN)) == 1


def test_a_full_hourly_limit_delays_the_reply_without_losing_it(settings, fake_vinted, account):
    _, conversation = buyer_writes(fake_vinted, account, "Still available?")
    suggestion = conversation.suggestions.get()
    settings.VINTED_WRITES_PER_HOUR = 0
    assert services.send_due_replies(now=suggestion.send_at) == 0
    suggestion.refresh_from_db()
    assert suggestion.status == SuggestionStatus.SCHEDULED and "hourly write limit" in suggestion.error
    assert "limit" in events(account, AutomationOutcome.SKIPPED)[0].message
    settings.VINTED_WRITES_PER_HOUR = 20
    assert services.send_due_replies(now=suggestion.send_at) == 1
    run_worker()
    assert replies(fake_vinted) == [suggestion.body]


def test_the_automatic_write_counts_against_the_hourly_limit(settings, fake_vinted, account, operator):
    settings.VINTED_WRITES_PER_HOUR = 1
    conv_id, conversation = buyer_writes(fake_vinted, account, "Still available?")
    suggestion = conversation.suggestions.get()
    services.send_due_replies(now=suggestion.send_at)
    run_worker()
    _, other = buyer_writes(fake_vinted, account, "What size?", buyer="paul", item_id=None)
    with pytest.raises(services.inbox.ReplyLimitReached):
        services.send(other.suggestions.get(), by_user=operator)


def test_a_seller_who_answered_by_hand_is_not_answered_for_again(fake_vinted, account, operator):
    _, conversation = buyer_writes(fake_vinted, account, "Still available?")
    suggestion = conversation.suggestions.get()
    services.inbox.send_reply(conversation, "Yes it is", by_user=operator)
    assert services.send_due_replies(now=suggestion.send_at) == 0
    suggestion.refresh_from_db()
    assert suggestion.status == SuggestionStatus.PENDING and "answered" in suggestion.error


def test_upcoming_lists_the_scheduled_replies(fake_vinted, account):
    _, conversation = buyer_writes(fake_vinted, account, "Still available?")
    suggestion = conversation.suggestions.get()
    (planned,) = automation.upcoming(account)
    assert (planned.feature, planned.conversation, planned.at) == (
        AutomationFeature.REPLIES, conversation, suggestion.send_at)
    assert "marie" in planned.what
    assert services.upcoming(account, now=timezone.now(), until=suggestion.send_at - timedelta(seconds=1)) == []
