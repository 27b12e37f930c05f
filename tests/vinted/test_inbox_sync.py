"""Inbox sync against the fake Vinted over HTTP: idempotent, incremental, linked to listings,
stopped by an expired session; the scheduler hook queues one job per due account."""

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.choices import JobStatus
from monitoring.models import JobRun
from tests.factories import ListingFactory
from tests.fakes.vinted_inbox import add_conversation, add_message
from tests.monitoring.worker import run_worker
from tests.vinted.inbox_helpers import account_on_fake
from vinted import tasks
from vinted.choices import AccountStatus, CallKind, CallOutcome, MessageKind
from vinted.models import Conversation, Message, VintedCall
from vinted.services import inbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(fake_vinted, operator):
    return account_on_fake(fake_vinted, operator)


def test_sync_twice_stores_each_conversation_and_message_once(fake_vinted, account):
    first = add_conversation(fake_vinted, buyer="marie", description="Levi's 501")
    add_message(fake_vinted, first, "Is it still available?")
    add_message(fake_vinted, first, "Sure!", from_buyer=False)
    second = add_conversation(fake_vinted, buyer="paul", description="Nike hoodie")
    add_message(fake_vinted, second, "", kind="offer_request_message", price="15.0")
    add_message(fake_vinted, second, "Paul paid for the item", kind="status_message")

    assert inbox.sync_account(account) == {"conversations": 2, "messages": 4}
    assert inbox.sync_account(account) == {"conversations": 0, "messages": 0}

    assert Conversation.objects.filter(account=account).count() == 2
    assert Message.objects.filter(conversation__account=account).count() == 4
    marie = Conversation.objects.get(vinted_id=str(first))
    assert (marie.other_user, marie.subject, marie.unread_count) == ("marie", "Levi's 501", 1)
    bodies = list(marie.messages.values_list("body", "is_mine", "sender"))
    assert bodies == [("Is it still available?", False, "marie"), ("Sure!", True, "fake-seller")]
    paul = Conversation.objects.get(vinted_id=str(second))
    kinds = list(paul.messages.values_list("kind", "body", "sender"))
    assert kinds == [(MessageKind.OFFER_REQUEST, "Offer: 15.0 EUR", "paul"),
                     (MessageKind.STATUS, "Paul paid for the item", "Vinted")]
    assert paul.unread_count == 1  # the offer counts, Vinted's status line does not
    account.refresh_from_db()
    assert account.last_inbox_sync_at is not None


def test_second_sync_reads_only_what_changed_and_adds_the_new_message(fake_vinted, account):
    quiet = add_conversation(fake_vinted, buyer="quiet")
    add_message(fake_vinted, quiet, "Hello")
    busy = add_conversation(fake_vinted, buyer="busy")
    add_message(fake_vinted, busy, "Hi")
    inbox.sync_account(account)
    fake_vinted.requests.clear()

    add_message(fake_vinted, busy, "Can you do 20?")
    assert inbox.sync_account(account) == {"conversations": 0, "messages": 1}

    read = [r.path for r in fake_vinted.requests_to(r"^/api/v2/conversations/")]
    assert read == [f"/api/v2/conversations/{busy}"]
    conversation = Conversation.objects.get(vinted_id=str(busy))
    assert list(conversation.messages.values_list("body", flat=True)) == ["Hi", "Can you do 20?"]
    assert conversation.unread_count == 2
    assert conversation.last_message_at == conversation.messages.last().sent_at


def test_sync_reads_every_page_of_a_long_inbox(fake_vinted, account):
    for number in range(25):  # two pages of 20
        add_message(fake_vinted, add_conversation(fake_vinted, buyer=f"buyer-{number}"), f"Message {number}")
    assert inbox.sync_account(account) == {"conversations": 25, "messages": 25}
    pages = [r.query["page"] for r in fake_vinted.requests_to(r"^/api/v2/inbox$")]
    assert pages == [["1"], ["2"]]


def test_a_conversation_about_our_item_is_linked_to_the_listing(fake_vinted, account, operator, other_operator):
    ListingFactory(owner=other_operator, vinted_item_id="5551")  # same id, not this seller's: never linked
    listing = ListingFactory(owner=operator, vinted_item_id="5551", title="Otto's jeans")
    conv = add_conversation(fake_vinted, item_id=5551)
    add_message(fake_vinted, conv, "Hello")
    inbox.sync_account(account)
    conversation = Conversation.objects.get(vinted_id=str(conv))
    assert (conversation.vinted_item_id, conversation.listing) == ("5551", listing)


def test_conversations_of_another_seller_are_not_ours(fake_vinted, account):
    add_message(fake_vinted, add_conversation(fake_vinted, seller_id=9999), "Not for you")
    assert inbox.sync_account(account) == {"conversations": 0, "messages": 0}


def test_an_expired_session_during_sync_sets_needs_login_and_stops_the_job(fake_vinted, account):
    conv = add_conversation(fake_vinted)
    add_message(fake_vinted, conv, "Hello")
    fake_vinted.fail_next("expired", paths=r"^/api/v2/conversations/")
    tasks.sync_inbox.enqueue(account.pk)
    run_worker()

    run = JobRun.objects.get(name="vinted.sync_inbox")
    assert run.status == JobStatus.FAILED and "SessionExpired" in run.error
    account.refresh_from_db()
    assert account.status == AccountStatus.NEEDS_LOGIN
    assert "Import a new session" in account.status_message
    assert VintedCall.objects.filter(account=account, outcome=CallOutcome.NEEDS_LOGIN, action="inbox").count() == 1
    assert not Message.objects.exists()
    # The account is not active any more: the scheduler leaves it alone, and so does a queued job.
    assert inbox.sync_due_inboxes(timezone.now() + timedelta(days=1)) == 0
    assert inbox.sync_account_id(account.pk) == {"skipped": AccountStatus.NEEDS_LOGIN}
    with pytest.raises(Exception):  # noqa: B017 - the ledger refuses before calling (AccountUnavailable)
        inbox.sync_account(account)


def test_sync_records_every_call_as_a_read_in_the_ledger(fake_vinted, account):
    add_message(fake_vinted, add_conversation(fake_vinted), "Hello")
    inbox.sync_account(account)
    calls = list(VintedCall.objects.filter(account=account).order_by("at", "id").values_list("kind", "what"))
    assert calls[0] == (CallKind.READ, "GET /api/v2/inbox")
    assert calls[1][0] == CallKind.READ and calls[1][1].startswith("GET /api/v2/conversations/")


def test_rate_limit_during_sync_is_retried_by_the_job(fake_vinted, account):
    add_message(fake_vinted, add_conversation(fake_vinted), "Hello")
    fake_vinted.fail_next("rate_limit", paths=r"^/api/v2/inbox$", retry_after=0)
    tasks.sync_inbox.enqueue(account.pk)
    run_worker()
    run = JobRun.objects.get(name="vinted.sync_inbox")
    assert run.status == JobStatus.RETRYING
    from tests.monitoring.worker import make_due

    make_due()
    run_worker()
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED
    assert Message.objects.filter(conversation__account=account).count() == 1


def test_scheduler_queues_one_job_per_due_active_account(fake_vinted, operator, other_operator):
    due = account_on_fake(fake_vinted, operator)
    recent = account_on_fake(fake_vinted, other_operator, label="Recent")
    recent.last_inbox_sync_at = timezone.now()
    recent.save()
    asleep = account_on_fake(fake_vinted, other_operator, label="Asleep")
    asleep.status = AccountStatus.NEEDS_LOGIN
    asleep.save()

    assert inbox.sync_due_inboxes() == 1
    assert inbox.sync_due_inboxes() == 0  # claimed: the next tick does not queue it again
    assert list(JobRun.objects.filter(name="vinted.sync_inbox").values_list("args", flat=True)) == [[due.pk]]


def test_sync_is_guarded_against_a_bad_answer_shape(fake_vinted, account):
    from vinted import site

    assert site.parse_inbox_page({"conversations": [{"id": "x"}, "junk", {"id": 5}], "pagination": "?"}) == (
        [{"vinted_id": "5", "subject": "", "other_user": "", "other_user_id": "", "unread": False,
          "updated_at": None}], 1)
    assert site.parse_conversation(None)["messages"] == []
    assert site.parse_message({"id": 3, "entity_type": "new_kind", "created_at_ts": "yesterday"})["kind"] == \
        MessageKind.ACTION


def test_a_conversation_vinted_refuses_does_not_stop_the_others(fake_vinted, account):
    gone = add_conversation(fake_vinted, buyer="gone")
    add_message(fake_vinted, gone, "Deleted soon")
    kept = add_conversation(fake_vinted, buyer="kept")
    add_message(fake_vinted, kept, "Still here")
    fake_vinted.state["inbox"]["conversations"][gone]["gone"] = True  # listed, but its page answers 404
    assert inbox.sync_account(account) == {"conversations": 1, "messages": 1}
    assert list(Conversation.objects.values_list("other_user", flat=True)) == ["kept"]
    assert VintedCall.objects.filter(account=account, outcome=CallOutcome.ERROR, status_code=404).count() == 1


def test_sync_respects_the_vinted_breaker(settings, fake_vinted, account):
    """Vinted down: after the breaker's threshold of 5xx answers, a sync is refused without a request
    (BreakerOpen is transient: the job wrapper retries later)."""
    from monitoring.breakers import BreakerOpen
    from vinted.ledger import VintedUnavailable

    add_message(fake_vinted, add_conversation(fake_vinted), "Hello")
    threshold = settings.CIRCUIT_BREAKERS["vinted"]["failure_threshold"]
    fake_vinted.fail_next("server_error", count=threshold)
    for _ in range(threshold):
        with pytest.raises(VintedUnavailable):
            inbox.sync_account(account)
    fake_vinted.requests.clear()
    with pytest.raises(BreakerOpen):
        inbox.sync_account(account)
    assert fake_vinted.requests == []
    assert not Message.objects.exists()
