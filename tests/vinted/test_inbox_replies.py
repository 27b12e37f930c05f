"""Replies: stored at once as "sending", sent by a job through the ledger as a write, refused
beyond the account's hourly limit, failed visibly when Vinted says no, never sent twice."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from monitoring.choices import JobStatus
from monitoring.models import JobRun
from tests.fakes.vinted_inbox import add_conversation, add_message, replies
from tests.monitoring.worker import make_due, run_worker
from tests.vinted.inbox_helpers import account_on_fake
from vinted.choices import AccountStatus, CallKind, CallOutcome, MessageStatus
from vinted.models import Conversation, Message, VintedCall
from vinted.services import inbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(fake_vinted, operator):
    return account_on_fake(fake_vinted, operator)


@pytest.fixture
def conversation(fake_vinted, account):
    conv_id = add_conversation(fake_vinted, buyer="marie")
    add_message(fake_vinted, conv_id, "Is it still available?")
    inbox.sync_account(account)
    return Conversation.objects.get(vinted_id=str(conv_id))


def test_a_reply_is_sent_by_the_job_and_recorded_as_a_write(fake_vinted, conversation, operator):
    message = inbox.send_reply(conversation, "  Yes, it is!  ", by_user=operator)
    assert (message.status, message.body, message.vinted_id) == (MessageStatus.SENDING, "Yes, it is!", "")
    assert replies(fake_vinted) == []  # nothing is sent before the worker runs the job

    run_worker()

    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.vinted_id and message.error == ""
    assert replies(fake_vinted, int(conversation.vinted_id)) == ["Yes, it is!"]
    call = VintedCall.objects.get(account=conversation.account, action="reply")
    assert (call.kind, call.outcome, call.what) == (
        CallKind.WRITE, CallOutcome.OK, f"POST /api/v2/conversations/{conversation.vinted_id}/messages")
    assert JobRun.objects.get(name="vinted.send_reply").status == JobStatus.SUCCEEDED
    # The next sync sees our reply on Vinted and does not store it a second time.
    assert inbox.sync_account(conversation.account)["messages"] == 0
    assert conversation.messages.count() == 2


def test_a_reply_beyond_the_hourly_write_limit_is_refused_before_anything_is_queued(
        settings, fake_vinted, conversation, operator):
    settings.VINTED_WRITES_PER_HOUR = 1
    inbox.send_reply(conversation, "First", by_user=operator)
    run_worker()
    with pytest.raises(inbox.ReplyLimitReached) as refused:
        inbox.send_reply(conversation, "Second", by_user=operator)
    assert "1 writes of the last hour" in refused.value.message and "min" in refused.value.message
    assert refused.value.retry_after >= 60
    assert list(conversation.messages.filter(is_mine=True).values_list("body", flat=True)) == ["First"]
    assert JobRun.objects.filter(name="vinted.send_reply").count() == 1
    assert replies(fake_vinted) == ["First"]


@pytest.mark.parametrize("body,error", [("", "Write a message"), ("   ", "Write a message"),
                                        ("x" * (inbox.REPLY_MAX_CHARS + 1), "At most"), (None, "Write a message")])
def test_bad_reply_bodies_are_refused_at_the_field(conversation, operator, body, error):
    with pytest.raises(ValidationError) as refused:
        inbox.send_reply(conversation, body, by_user=operator)
    assert error in " ".join(refused.value.message_dict["body"])
    assert not Message.objects.filter(is_mine=True).exists()


def test_only_the_owner_or_an_admin_may_reply(conversation, other_operator, viewer, admin_user):
    for user in (other_operator, viewer):
        with pytest.raises(PermissionDenied):
            inbox.send_reply(conversation, "Hi", by_user=user)
    assert inbox.send_reply(conversation, "Hi", by_user=admin_user).sent_by == admin_user


def test_an_account_that_needs_login_cannot_reply(conversation, operator):
    account = conversation.account
    account.status, account.status_message = AccountStatus.NEEDS_LOGIN, "Import a new session."
    account.save()
    with pytest.raises(ValidationError, match="Import a new session"):
        inbox.send_reply(Conversation.objects.get(pk=conversation.pk), "Hi", by_user=operator)


def test_an_expired_session_fails_the_reply_and_says_why(fake_vinted, conversation, operator):
    message = inbox.send_reply(conversation, "Hello", by_user=operator)
    fake_vinted.fail_next("expired", paths=r"/messages$")
    run_worker()
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and "session expired" in message.error
    assert JobRun.objects.get(name="vinted.send_reply").status == JobStatus.FAILED
    conversation.account.refresh_from_db()
    assert conversation.account.status == AccountStatus.NEEDS_LOGIN
    assert replies(fake_vinted) == []


def test_a_server_error_is_retried_and_the_reply_is_sent_once(fake_vinted, conversation, operator):
    message = inbox.send_reply(conversation, "Hello", by_user=operator)
    fake_vinted.fail_next("server_error", paths=r"/messages$")
    run_worker()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENDING and message.error.startswith("Will retry")
    make_due()
    run_worker()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert replies(fake_vinted) == ["Hello"]


def test_a_retry_does_not_send_again_a_reply_that_reached_vinted(fake_vinted, conversation, operator):
    """The first attempt's answer was lost after Vinted stored the reply: the retry finds it."""
    message = inbox.send_reply(conversation, "Hello there", by_user=operator)
    add_message(fake_vinted, int(conversation.vinted_id), "Hello there", from_buyer=False)  # what Vinted kept
    fake_vinted.fail_next("server_error", paths=r"/messages$")
    run_worker()
    make_due()
    run_worker()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.vinted_id
    assert replies(fake_vinted) == []  # the POST never went through a second time
    assert conversation.messages.filter(body="Hello there").count() == 1


def test_a_reply_whose_worker_died_fails_without_being_sent_again(conversation, operator):
    message = inbox.send_reply(conversation, "Hello", by_user=operator)
    inbox.on_reply_worker_died(JobRun.objects.get(name="vinted.send_reply"))
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and "check the conversation on Vinted" in message.error


def test_opening_marks_read_only_for_the_owner(conversation, operator, admin_user):
    assert inbox.unread_total(operator) == 1
    assert inbox.mark_read(conversation, admin_user) == 0
    assert inbox.unread_total(operator) == 1
    assert inbox.unread_total(admin_user) == 0  # the admin's own badge counts only the admin's inbox
    assert inbox.mark_read(conversation, operator) == 1
    assert inbox.unread_total(operator) == 0
    assert Conversation.objects.get(pk=conversation.pk).unread_count == 0
