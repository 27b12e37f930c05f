"""Reply suggestions and auto-replies (part 3): each new buyer message gets one ReplySuggestion
drafted from the listing's own facts (vinted.replies_text); the seller sends, edits or discards it;
chosen intents may be sent automatically.

Choices where the issue is silent:

- A suggestion is made for each buyer message (plain message or offer request) that the seller has
  not answered yet, right after the inbox sync stored it; a message the seller already answered
  (a reply of ours comes after it) gets none, so a first sync of an old inbox suggests nothing stale.
- Classification: the AI gateway (request type `inbox_reply`, charged to the account owner's
  budget) when a key is set; the keyword rule set when there is none, the gateway fails, the budget
  is spent or the answer is unusable. The amount of Vinted's own offer message always wins.
- The buyer's language (French or English) is the rule set's guess; with no clue, French unless the
  account is on an English-speaking Vinted site.
- A draft that part 1's validator refuses (contact details in the listing's measurements, say) is
  stored "refused" with the reason: it is shown, never sent as it is; the seller may send an edited
  body. Every body sent (drafted or edited) goes through inbox.clean_reply_body, the same validator.
- Auto-send (per account, the intents in AutomationSettings.auto_reply_intents, never offers):
  status "scheduled" with `send_at` = now + a random delay in [min, max], moved to the end of the
  night when it falls in the night. At send time (`send_due_replies`) everything is checked again:
  automation active, intent still chosen, per-conversation limit (Message.automatic), the seller
  has not answered by hand meanwhile, not night; the reply is written again from the listing as it
  is then (sold, archived, repriced meanwhile: current_draft) and must pass the validator. A check
  that fails turns the suggestion back into an ordinary one ("pending", with why) for the seller to decide, except
  night (postponed to the night's end plus a random delay) and the hourly write limit
  (rescheduled when the limit frees: not lost).
- Dry run: an account in dry run sends nothing automatically; the suggestion becomes pending
  ("dry run: not sent") and the outcome is recorded as dry_run. Sending by hand follows the inbox
  (part 2 sends a seller's own replies whatever the dry-run switch says).
"""

import logging
import random
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.roles import Action
from monitoring import ai

from .. import replies_text, site
from ..choices import AutomationFeature, AutomationOutcome, ReplyIntent, SuggestionStatus
from ..models import Conversation, Message, ReplySuggestion
from . import automation, inbox

logger = logging.getLogger(__name__)

REQUEST_TYPE = "inbox_reply"
ENGLISH_DOMAINS = ("vinted.co.uk", "vinted.com", "vinted.ie")
# Never sent automatically, whatever the settings say: an offer is the seller's decision.
NEVER_AUTOMATIC = frozenset({ReplyIntent.OFFER})
OPEN_STATUSES = (SuggestionStatus.PENDING, SuggestionStatus.SCHEDULED, SuggestionStatus.REFUSED)
AI_SCHEMA = {
    "type": "object",
    "properties": {
        "intent": {"type": "string", "enum": list(ReplyIntent.values)},
        "offer_amount": {"type": ["number", "null"], "description": "The amount offered, if the buyer offers one."},
        "language": {"type": "string", "enum": list(replies_text.LANGUAGES)},
    },
    "required": ["intent", "offer_amount", "language"],
    "additionalProperties": False,
}
AI_PROMPT = (
    "You sort messages that buyers send to a second-hand clothes seller on Vinted. Answer in JSON: `intent` "
    "is one of availability (is it still for sale), price (a question about the price), offer (the buyer "
    "proposes an amount), shipping, size (size or measurements), condition, bundle (several items together), "
    "greeting (hello / thanks only), other; `offer_amount` the amount offered or null; `language` fr or en."
)


# --- classifying ----------------------------------------------------------------------------------

def default_language(account) -> str:
    return replies_text.ENGLISH if account.domain in ENGLISH_DOMAINS else replies_text.FRENCH


def classify(message: Message) -> replies_text.Classification:
    """The buyer message's intent (AI when configured, else the rule set; see the module docstring)."""
    account = message.conversation.account
    vinted_offer = replies_text.money(site.offer_amount(message.kind, message.body))
    rules = replies_text.classify_by_rules(message.body, offer_amount=vinted_offer,
                                           default_language=default_language(account))
    if not ai.ai_enabled():
        return rules
    try:
        answer = ai.chat_json(user=account.owner, request_type=REQUEST_TYPE, json_schema=AI_SCHEMA, max_tokens=100,
                              messages=[{"role": "system", "content": AI_PROMPT},
                                        {"role": "user", "content": message.body[:2000]}])
    except ai.AIError as exc:  # no key, budget spent, outage, unusable answer: the rules decide
        logger.info("Reply classification by rules for message %s: %s", message.pk, exc)
        return rules
    intent = answer.get("intent")
    if intent not in ReplyIntent.values:
        return rules
    amount = vinted_offer or replies_text.money(answer.get("offer_amount"))
    if vinted_offer is not None:
        intent = ReplyIntent.OFFER
    language = answer.get("language") if answer.get("language") in replies_text.LANGUAGES else rules.language
    return replies_text.Classification(intent, amount if intent == ReplyIntent.OFFER else None, language, "ai")


# --- suggesting -------------------------------------------------------------------------------------

def unanswered_buyer_messages(conversation):
    """The buyer's messages after the seller's last one, that have no suggestion yet (oldest first)."""
    messages = conversation.messages.filter(is_mine=False, kind__in=inbox.UNREAD_KINDS, suggestion__isnull=True)
    last_mine = conversation.messages.filter(is_mine=True).order_by("-sent_at").values_list("sent_at", flat=True)
    if last_mine:
        messages = messages.filter(sent_at__gt=last_mine[0])
    return messages.order_by("sent_at", "pk")


def suggest_for_conversation(conversation, *, now=None) -> list[ReplySuggestion]:
    """inbox.sync_account's hook: one suggestion per new unanswered buyer message."""
    if conversation is None:
        return []
    return [suggest(message, now=now) for message in unanswered_buyer_messages(conversation)]


def suggest(message: Message, *, now=None) -> ReplySuggestion:
    """Classify the buyer's message, draft the reply, and schedule it when auto-send applies."""
    now = now or timezone.now()
    conversation = message.conversation
    account = conversation.account
    settings = automation.settings_for(account)
    found = classify(message)  # outside any transaction: it may call the AI gateway
    listing = conversation.listing
    body = replies_text.draft(found.intent, listing, amount=found.offer_amount, language=found.language,
                              tone=settings.reply_tone, buyer=conversation.other_user)
    suggestion = ReplySuggestion(message=message, conversation=conversation, intent=found.intent,
                                 offer_amount=found.offer_amount, classified_by=found.classified_by, body=body)
    try:
        suggestion.body = inbox.clean_reply_body(body)
    except ValidationError as exc:
        suggestion.status = SuggestionStatus.REFUSED
        suggestion.error = _error_text(exc)[:300]
    with transaction.atomic():
        # Two syncs at once: the conversation's row lock makes the second wait, then see the first's
        # suggestion (same message) and its scheduled reply (the per-conversation count).
        Conversation.objects.select_for_update().filter(pk=conversation.pk).first()
        if ReplySuggestion.objects.filter(message=message).exists():
            return ReplySuggestion.objects.get(message=message)
        if suggestion.status == SuggestionStatus.PENDING:
            _maybe_schedule(suggestion, settings, now)
        suggestion.save()
    return suggestion


def current_draft(suggestion) -> str:
    """The suggestion's reply written again against the listing as it is now: sold, archived,
    reposted or repriced since the buyer's message came in (what is sent is never stale). The
    language is the one the first draft was written in (the AI's guess is not stored; our own
    phrases tell it), else the rule set's guess from the buyer's message."""
    conversation = suggestion.conversation
    account = conversation.account
    buyer_language = replies_text.language_of(suggestion.message.body, default_language(account))
    language = replies_text.language_of(suggestion.body, buyer_language)
    return replies_text.draft(suggestion.intent, conversation.listing, amount=suggestion.offer_amount,
                              language=language, tone=automation.settings_for(account).reply_tone,
                              buyer=conversation.other_user)


def _maybe_schedule(suggestion, settings, now) -> None:
    account = suggestion.conversation.account
    if suggestion.intent in NEVER_AUTOMATIC or suggestion.intent not in (settings.auto_reply_intents or []):
        return
    reason = automation.inactive_reason(account, AutomationFeature.REPLIES)
    if not reason and _automatic_count(suggestion.conversation, exclude=suggestion) >= \
            settings.auto_replies_per_conversation:
        reason = (f"This conversation had its {settings.auto_replies_per_conversation} automatic "
                  f"repl{'y' if settings.auto_replies_per_conversation == 1 else 'ies'}.")
    if reason:
        automation.record(account, AutomationFeature.REPLIES, AutomationOutcome.SKIPPED,
                          f"Not sent automatically: {reason}", conversation=suggestion.conversation,
                          intent=suggestion.intent)
        suggestion.error = f"Not sent automatically: {reason}"[:300]
        return
    suggestion.send_at = _send_time(settings, now + _random_delay(settings))
    suggestion.status = SuggestionStatus.SCHEDULED


def _random_delay(settings) -> timedelta:
    low = settings.auto_reply_delay_min_seconds
    return timedelta(seconds=random.randint(low, max(low, settings.auto_reply_delay_max_seconds)))


def _send_time(settings, earliest):
    """`earliest`, or when it falls at night the night's end plus a new random delay (the morning's
    replies do not all leave at the same second)."""
    morning = automation.night_ends_after(settings, earliest)
    return morning if morning == earliest else morning + _random_delay(settings)


def _automatic_count(conversation, *, exclude=None) -> int:
    """Automatic replies of the conversation: sent ones and ones scheduled to be."""
    scheduled = conversation.suggestions.filter(status=SuggestionStatus.SCHEDULED)
    if exclude is not None and exclude.pk:
        scheduled = scheduled.exclude(pk=exclude.pk)
    return conversation.messages.filter(automatic=True).count() + scheduled.count()


def _error_text(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return " ".join(message for messages in exc.message_dict.values() for message in messages)
    return " ".join(exc.messages)


# --- the seller's decisions -----------------------------------------------------------------------------

def _open_for_change(suggestion, by_user) -> ReplySuggestion:
    if not ReplySuggestion.objects.permits(by_user, suggestion, Action.CHANGE):
        raise PermissionDenied("Only the account's owner or an admin may send or discard its suggestions.")
    locked = ReplySuggestion.objects.select_for_update().select_related("conversation__account").get(pk=suggestion.pk)
    if locked.status not in OPEN_STATUSES:
        raise ValidationError(f"This suggestion is {locked.get_status_display().lower()} already.")
    return locked


def send(suggestion: ReplySuggestion, *, by_user, body=None) -> ReplySuggestion:
    """Send the suggestion (or the seller's edited `body`) through inbox.send_reply: the validator,
    the hourly write limit (inbox.ReplyLimitReached) and the ledger apply."""
    with transaction.atomic():
        suggestion = _open_for_change(suggestion, by_user)
        # No body: the draft as the listing is now; an edited body, even empty, is what is checked.
        text = current_draft(suggestion) if body is None else body
        message = inbox.send_reply(suggestion.conversation, text, by_user=by_user)
        suggestion.reply, suggestion.status, suggestion.error = message, SuggestionStatus.SENT, ""
        suggestion.body, suggestion.decided_by, suggestion.decided_at = message.body, by_user, timezone.now()
        suggestion.send_at = None
        suggestion.save()
    return suggestion


def discard(suggestion: ReplySuggestion, *, by_user) -> ReplySuggestion:
    with transaction.atomic():
        suggestion = _open_for_change(suggestion, by_user)
        suggestion.status, suggestion.send_at = SuggestionStatus.DISCARDED, None
        suggestion.decided_by, suggestion.decided_at = by_user, timezone.now()
        suggestion.save()
    return suggestion


# --- auto-send ------------------------------------------------------------------------------------------

def upcoming(account, *, now, until) -> list:
    """Automatic replies scheduled for the account before `until` (automation.Planned rows)."""
    due = (ReplySuggestion.objects.filter(conversation__account=account, status=SuggestionStatus.SCHEDULED,
                                          send_at__lte=until).select_related("conversation").order_by("send_at"))
    return [automation.Planned(
        at=max(suggestion.send_at, now), feature=AutomationFeature.REPLIES,
        what=f"Automatic reply to {suggestion.conversation.other_user or 'the buyer'} "
             f"({suggestion.get_intent_display().lower()})",
        listing=suggestion.conversation.listing, conversation=suggestion.conversation,
        details={"suggestion": suggestion.pk, "intent": suggestion.intent}) for suggestion in due]


def send_due_replies(now=None) -> int:
    """Scheduler hook: send the scheduled automatic replies that are due; returns how many were queued."""
    now = now or timezone.now()
    queued = 0
    due = ReplySuggestion.objects.filter(status=SuggestionStatus.SCHEDULED, send_at__lte=now)
    for pk in due.order_by("send_at", "pk").values_list("pk", flat=True):
        try:
            queued += send_automatically(pk, now=now)
        except Exception:  # noqa: BLE001 - one bad row must not stop the others; it stays scheduled
            logger.exception("Automatic reply of suggestion %s failed", pk)
    return queued


def _back_to_seller(suggestion, outcome, message: str) -> bool:
    suggestion.status, suggestion.send_at, suggestion.error = SuggestionStatus.PENDING, None, message[:300]
    suggestion.save(update_fields=["status", "send_at", "error"])
    automation.record(suggestion.conversation.account, AutomationFeature.REPLIES, outcome, message,
                      conversation=suggestion.conversation, suggestion=suggestion.pk, intent=suggestion.intent)
    return False


def send_automatically(suggestion_id: int, *, now=None) -> bool:
    """One due automatic reply: every check again, then inbox.send_reply(automatic=True). Returns whether queued."""
    now = now or timezone.now()
    with transaction.atomic():
        suggestion = (ReplySuggestion.objects.select_for_update(skip_locked=True)
                      .select_related("conversation__account__owner", "message")
                      .filter(pk=suggestion_id, status=SuggestionStatus.SCHEDULED, send_at__lte=now).first())
        if suggestion is None:
            return False  # sent, discarded, or taken by another scheduler meanwhile
        conversation = suggestion.conversation
        account = conversation.account
        settings = automation.settings_for(account)
        reason = automation.inactive_reason(account, AutomationFeature.REPLIES)
        if reason:
            return _back_to_seller(suggestion, AutomationOutcome.SKIPPED, f"Not sent automatically: {reason}")
        if suggestion.intent in NEVER_AUTOMATIC or suggestion.intent not in settings.auto_reply_intents:
            return _back_to_seller(suggestion, AutomationOutcome.SKIPPED, "Not sent automatically: "
                                   f"{suggestion.get_intent_display()} replies are no longer sent automatically.")
        if conversation.messages.filter(is_mine=True, sent_at__gt=suggestion.message.sent_at).exists():
            return _back_to_seller(suggestion, AutomationOutcome.SKIPPED,
                                   "Not sent automatically: the buyer was answered meanwhile.")
        if conversation.messages.filter(automatic=True).count() >= settings.auto_replies_per_conversation:
            return _back_to_seller(suggestion, AutomationOutcome.SKIPPED, "Not sent automatically: this conversation "
                                   f"had its {settings.auto_replies_per_conversation} automatic replies.")
        if automation.is_night(settings, now):
            suggestion.send_at = _send_time(settings, now)
            suggestion.save(update_fields=["send_at"])
            automation.record(account, AutomationFeature.REPLIES, AutomationOutcome.SKIPPED,
                              f"Night in {settings.time_zone}: the automatic reply waits until "
                              f"{timezone.localtime(suggestion.send_at, automation.zone(settings)):%H:%M}.",
                              conversation=conversation, suggestion=suggestion.pk)
            return False
        if account.dry_run:
            return _back_to_seller(suggestion, AutomationOutcome.DRY_RUN, "Dry run: the automatic reply was not "
                                   "sent to Vinted; send it yourself if it is right.")
        suggestion.body = current_draft(suggestion)  # the listing may have sold or changed price since
        try:
            message = inbox.send_reply(conversation, suggestion.body, by_user=account.owner, automatic=True)
        except inbox.ReplyLimitReached as exc:
            # Not lost: it waits until the hour has room again.
            suggestion.send_at = now + timedelta(seconds=exc.retry_after)
            suggestion.error = f"Waiting for the hourly write limit: {exc.message}"[:300]
            suggestion.save(update_fields=["send_at", "error"])
            automation.record(account, AutomationFeature.REPLIES, AutomationOutcome.SKIPPED,
                              f"Hourly write limit reached: the automatic reply is retried in about "
                              f"{-(-exc.retry_after // 60)} min.", conversation=conversation, suggestion=suggestion.pk)
            return False
        except (ValidationError, PermissionDenied) as exc:
            suggestion.status, suggestion.send_at = SuggestionStatus.REFUSED, None
            suggestion.error = (_error_text(exc) if isinstance(exc, ValidationError) else str(exc))[:300]
            suggestion.save(update_fields=["status", "send_at", "error", "body"])
            automation.record(account, AutomationFeature.REPLIES, AutomationOutcome.FAILED,
                              f"Automatic reply refused: {suggestion.error}", conversation=conversation,
                              suggestion=suggestion.pk)
            return False
        suggestion.reply, suggestion.status, suggestion.error = message, SuggestionStatus.SENT, ""
        suggestion.decided_at = now
        suggestion.body = message.body
        suggestion.save(update_fields=["reply", "status", "error", "decided_at", "body"])
        automation.record(account, AutomationFeature.REPLIES, AutomationOutcome.DONE,
                          f"Sent automatically to {conversation.other_user or 'the buyer'} "
                          f"({suggestion.get_intent_display().lower()}).", conversation=conversation,
                          suggestion=suggestion.pk, reply=message.pk)
    return True
