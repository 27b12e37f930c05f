"""Reply suggestions from real inbox syncs against the fake Vinted: classified, drafted from the
listing's own facts, never "available" when sold, offers countered at the floor, contact details
refused; the seller sends (edited) or discards them through the inbox's send path."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from monitoring.models import AIUsage
from tests.fakes.vinted_inbox import add_conversation, add_message, replies
from tests.monitoring.worker import run_worker
from tests.vinted.replies_helpers import buyer_writes, live_account, published_listing
from vinted import replies_text
from vinted.choices import CallKind, Condition, ListingStatus, ReplyIntent, ReplyTone, SuggestionStatus
from vinted.models import ReplySuggestion, VintedCall
from vinted.services import inbox
from vinted.services import replies as services

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(fake_vinted, operator):
    return live_account(fake_vinted, operator)


def only_suggestion(conversation) -> ReplySuggestion:
    (suggestion,) = conversation.suggestions.all()
    return suggestion


@pytest.mark.parametrize("text,intent", [
    ("Bonjour, toujours dispo ?", ReplyIntent.AVAILABILITY), ("Hi, is it still available?", ReplyIntent.AVAILABILITY),
    ("C'est quoi votre dernier prix ?", ReplyIntent.PRICE), ("What's the best price?", ReplyIntent.PRICE),
    ("Je propose 15€", ReplyIntent.OFFER), ("Would you take 15?", ReplyIntent.OFFER),
    ("Envoi rapide possible ?", ReplyIntent.SHIPPING), ("How much is shipping to Lyon", ReplyIntent.PRICE),
    ("Vous pouvez me donner les mesures ?", ReplyIntent.SIZE), ("What size is it?", ReplyIntent.SIZE),
    ("Il est en quel état ?", ReplyIntent.CONDITION), ("Any stains or flaws?", ReplyIntent.CONDITION),
    ("Je peux faire un lot avec la veste ?", ReplyIntent.BUNDLE), ("Merci beaucoup !", ReplyIntent.GREETING),
    ("Thanks!", ReplyIntent.GREETING), ("Quelle couleur exactement ?", ReplyIntent.OTHER),
])
def test_the_offline_rules_know_french_and_english(text, intent):
    assert replies_text.classify_by_rules(text).intent == intent


@pytest.mark.parametrize("text,amount,language", [
    ("Je propose 15€", "15.00", "fr"), ("je vous propose 12,50 euros", "12.50", "fr"),
    ("offer 15", "15.00", "en"), ("Would you accept €18.5?", "18.50", "en")])
def test_offer_amounts_and_language_come_from_the_text(text, amount, language):
    found = replies_text.classify_by_rules(text)
    assert (found.intent, found.offer_amount, found.language) == (ReplyIntent.OFFER, Decimal(amount), language)


def test_still_available_gets_the_listings_real_size_and_condition(fake_vinted, account, operator):
    published_listing(operator, account, size="W30", condition=Condition.GOOD)
    _, conversation = buyer_writes(fake_vinted, account, "Hi, is it still available?")
    suggestion = only_suggestion(conversation)
    assert (suggestion.intent, suggestion.classified_by, suggestion.status) == (
        ReplyIntent.AVAILABILITY, "rules", SuggestionStatus.PENDING)
    assert "still available" in suggestion.body and "W30" in suggestion.body and "good" in suggestion.body
    assert " M." not in suggestion.body and "Bon état" not in suggestion.body


def test_french_buyer_gets_french_facts_and_no_invented_defaults(fake_vinted, account, operator):
    published_listing(operator, account, size=None, condition=None)
    _, conversation = buyer_writes(fake_vinted, account, "Bonjour, toujours disponible ?")
    body = only_suggestion(conversation).body
    assert "toujours disponible" in body
    assert "Taille" not in body and "État" not in body and "Bon état" not in body


@pytest.mark.parametrize("status", [ListingStatus.SOLD, ListingStatus.ARCHIVED])
@pytest.mark.parametrize("text", ["Is it still available?", "Toujours dispo ?", "What size?", "Dernier prix ?"])
def test_a_sold_or_archived_item_is_never_available(fake_vinted, account, operator, status, text):
    published_listing(operator, account, status=status)
    _, conversation = buyer_writes(fake_vinted, account, text)
    body = only_suggestion(conversation).body.lower()
    assert "available" not in body and "disponible" not in body
    assert ("sold" in body or "vendu" in body) if status == ListingStatus.SOLD else (
        "no longer" in body or "plus en vente" in body)


def test_an_offer_below_the_floor_is_countered_at_the_floor(fake_vinted, account, operator):
    published_listing(operator, account, price="25.00", min_price="20.00")
    _, conversation = buyer_writes(fake_vinted, account, "", kind="offer_request_message", price="15.0")
    suggestion = only_suggestion(conversation)
    assert (suggestion.intent, suggestion.offer_amount) == (ReplyIntent.OFFER, Decimal("15.00"))
    assert "lowest I can accept is €20" in suggestion.body or "plus bas que je puisse accepter est 20 €" in \
        suggestion.body


def test_an_offer_in_the_text_at_or_above_the_floor_is_accepted(fake_vinted, account, operator):
    published_listing(operator, account, price="25.00", min_price="20.00")
    _, conversation = buyer_writes(fake_vinted, account, "Bonjour, je propose 22€")
    suggestion = only_suggestion(conversation)
    assert suggestion.offer_amount == Decimal("22.00")
    assert "je l'accepte" in suggestion.body and "22 €" in suggestion.body


def test_without_a_minimum_price_the_listing_price_is_the_floor(fake_vinted, account, operator):
    published_listing(operator, account, price="25.00")
    _, conversation = buyer_writes(fake_vinted, account, "Would you take 18?")
    assert "lowest I can accept is €25" in only_suggestion(conversation).body


@pytest.mark.parametrize("tone,starts,ends", [(ReplyTone.FRIENDLY, "Hi marie!", "Have a nice day!"),
                                              (ReplyTone.PROFESSIONAL, "Hello,", "Kind regards."),
                                              (ReplyTone.CONCISE, "Size: W32.", "102 cm.")])
def test_the_accounts_tone_wraps_the_facts(fake_vinted, operator, tone, starts, ends):
    account = live_account(fake_vinted, operator, reply_tone=tone)
    published_listing(operator, account, measurements="waist 41 cm, length 102 cm")
    _, conversation = buyer_writes(fake_vinted, account, "What size is it?")
    body = only_suggestion(conversation).body
    assert body.startswith(starts) and body.endswith(ends)
    assert "Measurements: waist 41 cm, length 102 cm." in body


def test_one_suggestion_per_buyer_message_and_none_for_the_sellers_own(fake_vinted, account, operator):
    published_listing(operator, account)
    conv_id, conversation = buyer_writes(fake_vinted, account, "Still available?")
    inbox.sync_account(account)  # syncing again adds nothing
    assert conversation.suggestions.count() == 1
    buyer_writes(fake_vinted, account, "Merci !", conv_id=conv_id)
    assert sorted(conversation.suggestions.values_list("intent", flat=True)) == [
        ReplyIntent.AVAILABILITY, ReplyIntent.GREETING]
    assert not ReplySuggestion.objects.filter(message__is_mine=True).exists()


def test_a_draft_with_contact_details_is_refused_not_sendable(fake_vinted, account, operator):
    published_listing(operator, account, measurements="ask me at seller@example.com")
    _, conversation = buyer_writes(fake_vinted, account, "Measurements please?")
    suggestion = only_suggestion(conversation)
    assert suggestion.status == SuggestionStatus.REFUSED and "e-mail" in suggestion.error
    with pytest.raises(ValidationError):
        services.send(suggestion, by_user=operator)
    assert replies(fake_vinted) == []


def test_sending_an_edited_suggestion_goes_to_vinted_through_the_ledger(fake_vinted, account, operator):
    published_listing(operator, account)
    conv_id, conversation = buyer_writes(fake_vinted, account, "Still available?")
    suggestion = services.send(only_suggestion(conversation), by_user=operator, body="Yes! Size W32.")
    assert suggestion.status == SuggestionStatus.SENT and suggestion.reply.body == "Yes! Size W32."
    assert suggestion.decided_by == operator and not suggestion.reply.automatic
    run_worker()
    assert replies(fake_vinted, conv_id) == ["Yes! Size W32."]
    assert VintedCall.objects.filter(account=account, action="reply", kind=CallKind.WRITE).count() == 1
    with pytest.raises(ValidationError, match="sent already"):
        services.send(suggestion, by_user=operator)


@pytest.mark.parametrize("body,error", [("", "Write a message"), ("x" * 2001, "At most"),
                                        ("call me 06 12 34 56 78", "phone"), ("mail: a.b@example.org", "e-mail")])
def test_bad_edited_bodies_are_refused_and_nothing_is_sent(fake_vinted, account, operator, body, error):
    published_listing(operator, account)
    _, conversation = buyer_writes(fake_vinted, account, "Still available?")
    suggestion = only_suggestion(conversation)
    with pytest.raises(ValidationError, match=error):
        services.send(suggestion, by_user=operator, body=body)
    suggestion.refresh_from_db()
    assert suggestion.status == SuggestionStatus.PENDING and not conversation.messages.filter(is_mine=True).exists()


def test_a_full_hourly_limit_refuses_a_manual_send_and_keeps_the_suggestion(settings, fake_vinted, account, operator):
    settings.VINTED_WRITES_PER_HOUR = 0
    published_listing(operator, account)
    _, conversation = buyer_writes(fake_vinted, account, "Still available?")
    with pytest.raises(inbox.ReplyLimitReached):
        services.send(only_suggestion(conversation), by_user=operator)
    assert only_suggestion(conversation).status == SuggestionStatus.PENDING


def test_discard_and_permissions(fake_vinted, account, operator, other_operator, viewer, admin_user):
    published_listing(operator, account)
    _, conversation = buyer_writes(fake_vinted, account, "Still available?")
    suggestion = only_suggestion(conversation)
    for user in (other_operator, viewer):
        with pytest.raises(PermissionDenied):
            services.discard(suggestion, by_user=user)
        with pytest.raises(PermissionDenied):
            services.send(suggestion, by_user=user)
    assert services.discard(suggestion, by_user=admin_user).status == SuggestionStatus.DISCARDED
    with pytest.raises(ValidationError):
        services.send(suggestion, by_user=operator)


def test_with_an_ai_key_the_gateway_classifies_and_is_charged_to_the_owner(fake_vinted, fake_openai, account,
                                                                           operator):
    published_listing(operator, account, price="25.00", min_price="20.00")
    fake_openai.reply_next({"intent": "offer", "offer_amount": 19, "language": "en"})
    _, conversation = buyer_writes(fake_vinted, account, "could u do nineteen")
    suggestion = only_suggestion(conversation)
    assert (suggestion.classified_by, suggestion.intent, suggestion.offer_amount) == ("ai", "offer", Decimal("19"))
    assert "lowest I can accept is €20" in suggestion.body
    usage = AIUsage.objects.get(request_type="inbox_reply")
    assert usage.user == operator and usage.success


def test_when_the_gateway_fails_the_rules_classify(fake_vinted, fake_openai, account, operator):
    published_listing(operator, account)
    fake_openai.fail_next(1, status=400)
    _, conversation = buyer_writes(fake_vinted, account, "Still available?")
    suggestion = only_suggestion(conversation)
    assert (suggestion.classified_by, suggestion.intent) == ("rules", ReplyIntent.AVAILABILITY)


def test_an_exhausted_budget_falls_back_to_the_rules(fake_vinted, fake_openai, account, operator):
    operator.ai_monthly_budget_usd = Decimal("0")
    operator.save()
    published_listing(operator, account)
    _, conversation = buyer_writes(fake_vinted, account, "Toujours dispo ?")
    assert only_suggestion(conversation).classified_by == "rules"
    assert fake_openai.requests_to("/v1/chat/completions") == []


def test_without_a_known_listing_nothing_is_confirmed(fake_vinted, account):
    _, conversation = buyer_writes(fake_vinted, account, "Still available?", item_id=None)
    body = only_suggestion(conversation).body
    assert "available" not in body.lower() and "check" in body


def test_a_message_the_seller_already_answered_gets_no_suggestion(fake_vinted, account, operator):
    published_listing(operator, account)
    conv_id = add_conversation(fake_vinted, buyer="marie", item_id=5550001)
    add_message(fake_vinted, conv_id, "Still available?")
    add_message(fake_vinted, conv_id, "Yes!", from_buyer=False)
    inbox.sync_account(account)
    assert not ReplySuggestion.objects.exists()
