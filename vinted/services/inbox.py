"""The Vinted inbox: syncing conversations and messages of each active account (a scheduler hook),
and replies (a mutating action: rate-limited and recorded by the ledger).

Choices where the issue is silent:

- A sync reads the inbox list newest first (vinted.site.INBOX_PATH, page by page) and stops at
  the first page on which nothing changed; it reads a conversation (CONVERSATION_PATH) only when
  it is new, flagged unread by Vinted, or its last message is newer than ours. Messages are
  stored once per Vinted id (a unique constraint too), so syncing twice adds nothing.
- "Unread" is ours, not Vinted's: the buyer's messages (plain messages and offer requests) not
  yet opened here. Vinted clears its own flag when a conversation is read, which our sync does,
  so its flag only tells us to look. Opening a conversation marks its messages read only for the
  account's owner: an admin reading it does not clear the seller's badge.
- A reply is stored first (status "sending", no Vinted id), then sent by the `vinted.send_reply`
  job through VintedClient.post_json (kind "write", action "reply": the ledger's hourly limit
  and waits apply, the job retries TransientError). It ends "sent" (with Vinted's id) or
  "failed" with the reason. Before queueing, the ledger's hourly count is read: a reply the
  account has no writes left for this hour is refused at once with when it may be sent. A retry
  first reads the conversation: a reply that reached Vinted before an answer was lost is not
  sent twice. A sync that finds our reply on Vinted before the job recorded it adopts it.
- Every reply body passes part 1's validator (the active ForbiddenPhrase rows: no e-mail address,
  phone number or messaging app), typed by a person or sent automatically.
- Part 3: after a sync stores new buyer messages, vinted.services.replies drafts a suggestion for
  each; its auto-send uses send_reply(..., automatic=True) (Message.automatic, no `sent_by`).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone

from accounts.roles import Action
from monitoring.events import record_event
from monitoring.jobs import TransientError, current_attempt, heartbeat

from .. import ledger, site
from ..choices import AccountStatus, MessageKind, MessageStatus
from ..models import Conversation, Listing, Message, VintedAccount
from ..validation import check_phrases

logger = logging.getLogger(__name__)

REPLY_MAX_CHARS = 2000
# The buyer's messages that count as unread until opened here (status and action lines do not).
UNREAD_KINDS = (MessageKind.MESSAGE, MessageKind.OFFER_REQUEST)


class ReplyLimitReached(Exception):
    """The account made its writes of the last hour: the reply was not queued."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.message, self.retry_after = message, retry_after


# --- sync -------------------------------------------------------------------------------------

def sync_account(account: VintedAccount) -> dict:
    """Read the account's inbox and store what is new: {"conversations": n_new, "messages": n_new}.

    Raises what the ledger raises (SessionExpired, Blocked, ... after setting the account's
    status; TransientError for the job wrapper to retry); what was stored before stays."""
    from ..http import VintedClient

    client = VintedClient(account)
    stored = dict(Conversation.objects.filter(account=account).values_list("vinted_id", "last_message_at"))
    totals = {"conversations": 0, "messages": 0}
    buyer_messages = 0
    page, pages = 1, 1
    while page <= min(pages, site.INBOX_MAX_PAGES):
        heartbeat(message=f"inbox page {page}")
        data = client.get_json(site.INBOX_PATH, action="inbox",
                               params={"page": page, "per_page": site.INBOX_PER_PAGE})
        rows, pages = site.parse_inbox_page(data)
        changed = [row for row in rows if _needs_reading(row, stored)]
        for row in changed:
            heartbeat()
            try:
                created, added, from_buyer = _sync_conversation(account, client, row)
            except ledger.VintedRefused as exc:
                # One conversation Vinted will not give (deleted, 404) must not stop the others.
                logger.warning("Inbox sync of account %s skipped conversation %s: %s", account.pk,
                               row["vinted_id"], exc.message)
                continue
            totals["conversations"] += created
            totals["messages"] += added
            buyer_messages += from_buyer
            if from_buyer:
                _suggest_replies(account, row["vinted_id"])
        if not changed:
            break  # newest first: older pages did not change either
        page += 1
    account.last_inbox_sync_at = timezone.now()
    account.save(update_fields=["last_inbox_sync_at", "updated_at"])
    if buyer_messages:
        record_event("vinted", "inbox.new_messages", "info",
                     f"{buyer_messages} new message(s) from buyers in the inbox of {account.label}.",
                     {"account": account.pk, "messages": buyer_messages}, user=account.owner, target=account)
    return totals


def _suggest_replies(account, conversation_vinted_id: str) -> None:
    """Part 3: a reply suggestion for each new buyer message (after the conversation's transaction:
    the classifier may call the AI gateway). A failure here never stops the sync."""
    from . import replies

    conversation = Conversation.objects.filter(account=account, vinted_id=conversation_vinted_id).first()
    try:
        replies.suggest_for_conversation(conversation)
    except Exception:  # noqa: BLE001 - the messages are stored; a suggestion can be missing, the sync goes on
        logger.exception("Reply suggestions failed for conversation %s of account %s", conversation_vinted_id,
                         account.pk)


def _needs_reading(row: dict, stored: dict) -> bool:
    if row["vinted_id"] not in stored or row["unread"]:
        return True
    last = stored[row["vinted_id"]]
    return last is None or row["updated_at"] is None or row["updated_at"] > last


def _is_mine(account, conversation, user_id: str) -> bool:
    if not user_id:
        return False  # Vinted's own status and action lines
    if account.vinted_user_id:
        return user_id == account.vinted_user_id
    return user_id != conversation.other_user_id


def _sync_conversation(account, client, row) -> tuple[int, int, int]:
    """Store one conversation and its new messages: (1 if new, messages added, of which the buyer's)."""
    detail = site.parse_conversation(client.get_json(site.CONVERSATION_PATH.format(id=row["vinted_id"]),
                                                     action="inbox"))
    now = timezone.now()
    with transaction.atomic():
        conversation, created = Conversation.objects.get_or_create(account=account, vinted_id=row["vinted_id"])
        # One sync at a time writes a conversation's messages (two workers on one account).
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        conversation.subject = detail["subject"] or row["subject"] or conversation.subject
        conversation.other_user = detail["other_user"] or row["other_user"] or conversation.other_user
        conversation.other_user_id = detail["other_user_id"] or row["other_user_id"] or conversation.other_user_id
        if detail["item_id"] and detail["item_id"] != conversation.vinted_item_id:
            conversation.vinted_item_id = detail["item_id"]
            conversation.listing = Listing.objects.filter(owner=account.owner_id,
                                                          vinted_item_id=detail["item_id"]).first()
        known = set(conversation.messages.exclude(vinted_id="").values_list("vinted_id", flat=True))
        new, from_buyer = [], 0
        for entry in detail["messages"]:
            if entry["vinted_id"] in known:
                continue
            known.add(entry["vinted_id"])
            mine = _is_mine(account, conversation, entry["user_id"])
            if mine and _adopt_reply(conversation, entry):
                continue
            buyers = not mine and entry["kind"] in UNREAD_KINDS
            from_buyer += buyers
            new.append(Message(
                conversation=conversation, vinted_id=entry["vinted_id"], kind=entry["kind"], body=entry["body"],
                sender=(account.vinted_login or "You") if mine else (
                    conversation.other_user if entry["user_id"] else "Vinted"),
                is_mine=mine, sent_at=entry["sent_at"] or row["updated_at"] or now,
                read_at=None if buyers else now))
        Message.objects.bulk_create(new)
        conversation.synced_at = now
        _refresh_counts(conversation)
    return int(created), len(new), from_buyer


def _adopt_reply(conversation, entry) -> bool:
    """Our reply found on Vinted before its job recorded Vinted's id: it is that message."""
    reply = (conversation.messages.filter(is_mine=True, vinted_id="", body=entry["body"])
             .order_by("sent_at", "pk").first())
    if reply is None:
        return False
    reply.vinted_id, reply.status, reply.error = entry["vinted_id"], MessageStatus.SENT, ""
    reply.sent_at = entry["sent_at"] or reply.sent_at
    reply.save(update_fields=["vinted_id", "status", "error", "sent_at"])
    return True


def _refresh_counts(conversation) -> None:
    messages = conversation.messages.all()
    conversation.unread_count = messages.filter(is_mine=False, kind__in=UNREAD_KINDS, read_at__isnull=True).count()
    conversation.last_message_at = messages.aggregate(last=Max("sent_at"))["last"] or conversation.last_message_at
    conversation.save()


def sync_account_id(account_id: int) -> dict:
    """The sync job's body: an account that is gone or not active (any more) is skipped."""
    account = VintedAccount.objects.filter(pk=account_id).first()
    if account is None or account.status != AccountStatus.ACTIVE:
        return {"skipped": account.status if account else "missing"}
    return sync_account(account)


def due_accounts(now=None):
    now = now or timezone.now()
    due_before = now - timedelta(minutes=settings.VINTED_INBOX_SYNC_MINUTES)
    return VintedAccount.objects.usable().filter(Q(last_inbox_sync_at__isnull=True)
                                                 | Q(last_inbox_sync_at__lte=due_before))


def sync_due_inboxes(now=None) -> int:
    """Scheduler hook: sync every active account whose inbox was last synced VINTED_INBOX_SYNC_MINUTES ago.

    Each account is claimed with a conditional UPDATE of `last_inbox_sync_at` (two schedulers never
    queue it twice), then one `vinted.sync_inbox` job is queued for it."""
    from .. import tasks

    now = now or timezone.now()
    queued = 0
    for account_id, last in due_accounts(now).values_list("pk", "last_inbox_sync_at"):
        with transaction.atomic():
            if not VintedAccount.objects.filter(pk=account_id, last_inbox_sync_at=last).update(
                    last_inbox_sync_at=now):
                continue  # another scheduler took it
            tasks.sync_inbox.enqueue(account_id)
        queued += 1
    return queued


def queue_sync(account: VintedAccount, *, by_user) -> bool:
    """"Sync now" of a seller: queue the account's sync job unless one is waiting or running already.
    Returns whether a job was queued."""
    from monitoring.choices import JobStatus
    from monitoring.models import JobRun

    from .. import tasks

    if not VintedAccount.objects.permits(by_user, account, Action.CHANGE):
        raise PermissionDenied("You may not sync this Vinted account.")
    if account.status != AccountStatus.ACTIVE:
        raise ValidationError(account.status_message
                              or f"The account {account.label} is {account.get_status_display().lower()}.")
    waiting = JobRun.objects.filter(name=tasks.sync_inbox.name, args=[account.pk], status__in=(
        JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.RETRYING))
    with transaction.atomic():
        if waiting.exists():
            return False
        tasks.sync_inbox.enqueue(account.pk)
    return True


# --- reading ----------------------------------------------------------------------------------

def mark_read(conversation: Conversation, by_user) -> int:
    """The owner opened the conversation: the buyer's messages are read. Returns how many were unread."""
    if by_user is None or conversation.account.owner_id != by_user.pk:
        return 0
    with transaction.atomic():
        marked = conversation.messages.filter(is_mine=False, read_at__isnull=True).update(read_at=timezone.now())
        if marked or conversation.unread_count:
            Conversation.objects.filter(pk=conversation.pk).update(unread_count=0)
            conversation.unread_count = 0
    return marked


def unread_total(user) -> int:
    """Unread buyer messages in the user's own conversations (the badge), under the queryset rule."""
    if user is None or not user.is_authenticated:
        return 0
    own = Conversation.objects.restrict(user, Action.VIEW).filter(account__owner=user)
    return own.aggregate(total=Sum("unread_count"))["total"] or 0


# --- replies ----------------------------------------------------------------------------------

def clean_reply_body(body) -> str:
    """The reply's text, or a ValidationError at `body`: empty, too long, or with what part 1's
    validator forbids (contact details, offers to trade outside Vinted: the active ForbiddenPhrase rows)."""
    text = (body or "").strip() if isinstance(body, str) else ""
    if not text:
        raise ValidationError({"body": "Write a message before sending."})
    if len(text) > REPLY_MAX_CHARS:
        raise ValidationError({"body": f"At most {REPLY_MAX_CHARS} characters (this one has {len(text)})."})
    report = check_phrases({"body": text})
    if not report.ok:
        raise report.as_validation_error()
    return text


def send_reply(conversation: Conversation, body, *, by_user, automatic: bool = False) -> Message:
    """Store the reply (status "sending") and queue the job that sends it; see the module docstring.
    `automatic`: sent by vinted.services.replies' auto-send for the owner (`by_user`), not typed by a person."""
    from .. import tasks

    if not Conversation.objects.permits(by_user, conversation, Action.CHANGE):
        raise PermissionDenied("You may not reply in this conversation.")
    text = clean_reply_body(body)
    account = conversation.account
    if account.status != AccountStatus.ACTIVE:
        raise ValidationError(account.status_message
                              or f"The account {account.label} is {account.get_status_display().lower()}.")
    usage = ledger.summary(account)
    if usage["writes_left"] <= 0:
        wait = max(60, int(usage.get("limit_frees_in_seconds") or 0))
        raise ReplyLimitReached(
            f"{account.label} made its {usage['write_limit']} writes of the last hour (Vinted blocks accounts "
            f"that write more); send this reply in about {-(-wait // 60)} min.", wait)
    now = timezone.now()
    with transaction.atomic():
        message = Message.objects.create(
            conversation=conversation, vinted_id="", kind=MessageKind.MESSAGE, body=text,
            sender=account.vinted_login or by_user.username, is_mine=True, sent_at=now, read_at=now,
            status=MessageStatus.SENDING, sent_by=None if automatic else by_user, automatic=automatic)
        Conversation.objects.filter(pk=conversation.pk).update(last_message_at=now)
        tasks.send_reply.enqueue(message.pk)
        record_event("vinted", "inbox.reply_queued", "info", f"Reply queued in {conversation} ({account.label}).",
                     {"conversation": conversation.pk, "message": message.pk, "chars": len(text),
                      "automatic": automatic},
                     user=by_user, target=conversation)
    return message


def deliver_reply(message_id: int) -> dict:
    """The `vinted.send_reply` job's body: send one queued reply to Vinted."""
    from .. import tasks
    from ..http import VintedClient

    message = Message.objects.select_related("conversation__account").filter(pk=message_id).first()
    if message is None or message.status != MessageStatus.SENDING:
        return {"status": message.status if message else "missing"}
    conversation = message.conversation
    client = VintedClient(conversation.account)
    try:
        if (current_attempt() or 1) > 1 and _reply_already_on_vinted(client, message):
            return {"status": MessageStatus.SENT, "adopted": True}
        answer = client.post_json(site.REPLY_PATH.format(id=conversation.vinted_id), {"body": message.body},
                                  action="reply")
    except TransientError as exc:
        last = (current_attempt() or tasks.send_reply.max_attempts) >= tasks.send_reply.max_attempts
        _set_reply(message, MessageStatus.FAILED if last else MessageStatus.SENDING,
                   str(exc) if last else f"Will retry: {exc}")
        raise
    except ledger.VintedError as exc:
        _set_reply(message, MessageStatus.FAILED, exc.message)
        raise
    parsed = site.parse_reply(answer)
    with transaction.atomic():
        vinted_id = parsed["vinted_id"] if parsed else ""
        if vinted_id:  # a sync stored it meanwhile under another body: ours is the one to keep
            conversation.messages.filter(vinted_id=vinted_id).exclude(pk=message.pk).delete()
        message.vinted_id = vinted_id
        if parsed and parsed["sent_at"]:
            message.sent_at = parsed["sent_at"]
        message.status, message.error = MessageStatus.SENT, ""
        message.save(update_fields=["vinted_id", "sent_at", "status", "error"])
        _refresh_counts(Conversation.objects.select_for_update().get(pk=conversation.pk))
    return {"status": MessageStatus.SENT, "vinted_id": vinted_id}


def _reply_already_on_vinted(client, message) -> bool:
    detail = site.parse_conversation(client.get_json(
        site.CONVERSATION_PATH.format(id=message.conversation.vinted_id), action="inbox"))
    account = message.conversation.account
    for entry in detail["messages"]:
        if (entry["body"] == message.body and _is_mine(account, message.conversation, entry["user_id"])
                and (entry["sent_at"] is None or entry["sent_at"] >= message.created_at - timedelta(minutes=1))):
            with transaction.atomic():
                return _adopt_reply(message.conversation, entry)
    return False


def _set_reply(message, status, error: str) -> None:
    message.status, message.error = status, (error or "")[:300]
    message.save(update_fields=["status", "error"])
    if status == MessageStatus.FAILED:
        record_event("vinted", "inbox.reply_failed", "failed", f"A reply in {message.conversation} was not sent: "
                     f"{message.error}", {"conversation": message.conversation_id, "message": message.pk},
                     user=message.sent_by, target=message.conversation)


def on_reply_worker_died(job_run) -> None:
    """monitoring's stale-job recovery: the reply may or may not have reached Vinted, so it is not
    sent again blindly; it fails, saying so (the next sync adopts it if Vinted has it)."""
    message_id = (job_run.args or [None])[0]
    message = Message.objects.select_related("conversation").filter(pk=message_id,
                                                                    status=MessageStatus.SENDING).first()
    if message is not None:
        _set_reply(message, MessageStatus.FAILED, "The worker stopped while sending: check the conversation on "
                                                  "Vinted before sending it again.")
