"""Notifications end to end: a recorded Event -> Delivery rows -> the real job worker -> the
local mail outbox and a real HTTP webhook receiver (tests/fakes/webhook_server.py)."""

import json
import socket
import time
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from accounts.models import LoginEvent
from monitoring import ai, notifications
from monitoring.events import record_event
from monitoring.models import Delivery, Event, JobRun, NotificationPreference
from tests.factories import AIUsageFactory
from tests.fakes.webhook_server import WebhookReceiver
from tests.monitoring.worker import make_due, run_worker

pytestmark = pytest.mark.django_db

SECRET = "a-shared-secret-of-some-length"


@pytest.fixture
def allow_local_webhooks(settings):
    settings.NOTIFICATION_WEBHOOK_ALLOW_PRIVATE = True
    settings.NOTIFICATION_WEBHOOK_TIMEOUT_SECONDS = 2
    return settings


@pytest.fixture
def receiver(allow_local_webhooks):
    with WebhookReceiver() as fake:
        yield fake


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/hook"


def subscribe(user, *, url="", email=True, kinds=None):
    return NotificationPreference.objects.create(
        user=user, email_enabled=email, webhook_url=url, webhook_secret=SECRET if url else "",
        kinds=list(notifications.kinds()) if kinds is None else kinds)


def run_failed(user, capture, message="Run #7 failed: Render failed: ffmpeg exited 1"):
    with capture(execute=True):
        record_event("pipeline", "run.failed", "failed", message, {"run": 7}, user=user)
    return Event.objects.get(kind="run.failed")


def work(capture):
    """One pass of the real worker; events it records (job.retrying) are written too."""
    with capture(execute=True):
        run_worker()


# --- signatures -------------------------------------------------------------------------------


def test_signature_verifies_and_refuses_tampering_other_secrets_and_old_timestamps():
    body = b'{"id":1,"kind":"pipeline/run.failed"}'
    now = int(time.time())
    signature = notifications.sign(SECRET, str(now), body)
    assert signature.startswith("sha256=") and len(signature) == len("sha256=") + 64
    assert notifications.verify(SECRET, str(now), body, signature)
    assert not notifications.verify(SECRET, str(now), body + b" ", signature)
    assert not notifications.verify("another secret", str(now), body, signature)
    assert not notifications.verify(SECRET, str(now + 1), body, signature)  # the timestamp is signed too
    # Replay: the same request 5 minutes and 1 second later is refused.
    assert notifications.verify(SECRET, str(now), body, signature, now=now + 300)
    assert not notifications.verify(SECRET, str(now), body, signature, now=now + 301)
    assert not notifications.verify(SECRET, "not a number", body, signature)


# --- delivering -------------------------------------------------------------------------------


def test_event_is_mailed_and_posted_signed_to_the_users_webhook(receiver, operator, django_capture_on_commit_callbacks):
    subscribe(operator, url=receiver.url("/hook?token=abc"))
    event = run_failed(operator, django_capture_on_commit_callbacks)

    deliveries = Delivery.objects.filter(event=event).order_by("channel")
    assert [(d.channel, d.status, d.recipient) for d in deliveries] == [
        ("email", "queued", operator), ("webhook", "queued", operator)]
    webhook = deliveries[1]
    assert webhook.destination == receiver.url("/hook")  # the query (a token) is not logged
    assert webhook.job_run.name == "monitoring.deliver_notification"

    work(django_capture_on_commit_callbacks)

    (sent_mail,) = mail.outbox
    assert sent_mail.to == [operator.email]
    assert sent_mail.subject == "[lofisite] Pipeline run failed"
    assert "ffmpeg exited 1" in sent_mail.body

    (request,) = receiver.received
    assert request.path == "/hook?token=abc"
    assert request.headers["content-type"] == "application/json"
    assert request.verify(SECRET)
    assert not request.verify("wrong secret")
    body = request.json()
    assert body == {"id": webhook.pk, "kind": "pipeline/run.failed", "title": "Pipeline run failed",
                    "message": "Run #7 failed: Render failed: ffmpeg exited 1",
                    "occurred_at": event.created_at.isoformat(), "target": None}
    assert request.headers["x-lofisite-signature"] == notifications.sign(
        SECRET, request.headers["x-lofisite-timestamp"], request.body)
    for delivery in deliveries:
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.error) == ("succeeded", 1, "")
        assert delivery.delivered_at is not None
    webhook.refresh_from_db()
    assert webhook.response_code == 200


def test_failing_webhook_is_retried_with_backoff_and_each_attempt_logged(
        receiver, operator, django_capture_on_commit_callbacks):
    subscribe(operator, url=receiver.url(), email=False)
    receiver.fail_next(2, status=503)
    event = run_failed(operator, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(event=event)

    work(django_capture_on_commit_callbacks)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("retrying", 1, 503)
    assert "answered 503" in delivery.error
    job_run = JobRun.objects.get(pk=delivery.job_run_id)
    assert job_run.status == "retrying" and job_run.run_after is not None  # backoff: not before run_after

    run_worker()  # not due yet: nothing is sent
    assert len(receiver.received) == 1

    make_due()
    work(django_capture_on_commit_callbacks)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("retrying", 2)

    make_due()
    work(django_capture_on_commit_callbacks)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code, delivery.error) == ("succeeded", 3, 200, "")
    assert len(receiver.received) == 3
    assert all(request.verify(SECRET) for request in receiver.received)
    # Every attempt carries the same delivery id, so a receiver can drop duplicates.
    assert {request.json()["id"] for request in receiver.received} == {delivery.pk}
    assert Event.objects.filter(source="jobs", kind="job.retrying").count() == 2


def test_unreachable_webhook_fails_after_the_last_attempt_and_never_blocks_the_event(
        allow_local_webhooks, operator, django_capture_on_commit_callbacks):
    subscribe(operator, url=closed_port_url(), email=False)
    event = run_failed(operator, django_capture_on_commit_callbacks)  # no exception reaches the caller
    delivery = Delivery.objects.get(event=event)
    for _ in range(5):
        make_due()
        work(django_capture_on_commit_callbacks)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 5)
    assert "did not answer" in delivery.error and "ConnectError" in delivery.error
    assert JobRun.objects.get(pk=delivery.job_run_id).status == "failed"
    assert Event.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize("status", [400, 404, 410])
def test_refusing_webhook_fails_at_once(receiver, operator, status, django_capture_on_commit_callbacks):
    subscribe(operator, url=receiver.url(), email=False)
    receiver.fail_next(1, status=status)
    delivery = Delivery.objects.get(event=run_failed(operator, django_capture_on_commit_callbacks))
    work(django_capture_on_commit_callbacks)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 1, status)
    make_due()
    run_worker()
    assert len(receiver.received) == 1  # not retried


def test_redirects_are_not_followed(receiver, operator, django_capture_on_commit_callbacks):
    with WebhookReceiver() as elsewhere:
        receiver.redirect_to(elsewhere.url("/stolen"))
        subscribe(operator, url=receiver.url(), email=False)
        delivery = Delivery.objects.get(event=run_failed(operator, django_capture_on_commit_callbacks))
        work(django_capture_on_commit_callbacks)
        assert elsewhere.received == []
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_code) == ("failed", 302)
    assert "redirects are not followed" in delivery.error


# --- who gets what -------------------------------------------------------------------------------


def test_preferences_choose_the_kinds_and_channels(receiver, operator, other_operator,
                                                   django_capture_on_commit_callbacks):
    subscribe(operator, url=receiver.url(), email=False, kinds=["pipeline/run.failed"])
    subscribe(other_operator, kinds=["backups/backup.failed"])
    run_failed(operator, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        record_event("pipeline", "run.failed", "failed", "Run #8 failed", user=other_operator)  # not chosen
        record_event("pipeline", "run.succeeded", "succeeded", "Run #9 succeeded", user=operator)  # not listed
    assert list(Delivery.objects.values_list("recipient__username", "channel")) == [("otto", "webhook")]


def test_without_preferences_a_person_gets_every_kind_by_email(operator, django_capture_on_commit_callbacks):
    run_failed(operator, django_capture_on_commit_callbacks)
    assert list(Delivery.objects.values_list("channel", flat=True)) == ["email"]
    work(django_capture_on_commit_callbacks)
    assert mail.outbox[0].to == [operator.email]


def test_system_kinds_go_to_admins(personas, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        record_event("breakers", "breaker.opened", "failed", "vinted opened after 5 failures in a row",
                     {"breaker": "vinted"})
    assert [d.recipient for d in Delivery.objects.all()] == [personas["admin"]]
    work(django_capture_on_commit_callbacks)
    assert mail.outbox[0].subject == "[lofisite] Circuit breaker opened"


def test_inactive_users_get_nothing(operator, django_capture_on_commit_callbacks):
    operator.is_active = False
    operator.save()
    run_failed(operator, django_capture_on_commit_callbacks)
    assert not Delivery.objects.exists()


def test_target_is_named_with_a_link(receiver, operator, django_capture_on_commit_callbacks, settings):
    from tests.factories import UserFactory

    settings.SITE_URL = "https://lofi.example.com"
    subscribe(operator, url=receiver.url(), email=False)
    # Any saved model may be the target; a user has no page of its own, so the link is empty.
    target = UserFactory(username="someone")
    with django_capture_on_commit_callbacks(execute=True):
        record_event("backups", "backup.failed", "failed", "Backup #3 failed: disk full", user=operator,
                     target=target)
    work(django_capture_on_commit_callbacks)
    body = receiver.received[0].json()
    assert body["target"] == {"type": "accounts.user", "id": str(target.pk), "url": ""}


# --- webhook addresses ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hook", "http://localhost:8000/hook", "http://10.1.2.3/", "http://192.168.0.10/",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/",
])
def test_private_and_loopback_addresses_are_refused(url):
    with pytest.raises(ValidationError) as caught:
        notifications.validate_webhook_url(url)
    assert caught.value.code == "private"


@pytest.mark.parametrize("url, code", [
    ("ftp://example.com/hook", "scheme"), ("javascript:alert(1)", "scheme"), ("https:///nohost", "scheme"),
    ("https://user:pass@example.com/", "credentials"),
])
def test_malformed_addresses_are_refused(url, code):
    with pytest.raises(ValidationError) as caught:
        notifications.validate_webhook_url(url)
    assert caught.value.code == code


def test_public_addresses_pass_and_the_setting_allows_local_ones(settings):
    notifications.validate_webhook_url("https://93.184.215.14/hook")  # a public address, no DNS needed
    settings.NOTIFICATION_WEBHOOK_ALLOW_PRIVATE = True
    notifications.validate_webhook_url("http://127.0.0.1:9/hook")


def test_an_address_refused_at_send_time_fails_the_delivery(operator, settings, django_capture_on_commit_callbacks):
    settings.NOTIFICATION_WEBHOOK_ALLOW_PRIVATE = True
    subscribe(operator, url="http://127.0.0.1:9/hook", email=False)
    settings.NOTIFICATION_WEBHOOK_ALLOW_PRIVATE = False
    delivery = Delivery.objects.get(event=run_failed(operator, django_capture_on_commit_callbacks))
    work(django_capture_on_commit_callbacks)
    delivery.refresh_from_db()
    assert delivery.status == "failed" and "local or private network" in delivery.error


# --- the events that notify -------------------------------------------------------------------


def test_sign_in_from_a_new_device_is_an_event(operator, django_capture_on_commit_callbacks):
    def sign_in(device):
        return LoginEvent.objects.create(user=operator, device_hash=device, is_new_device=device != "known",
                                         user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
                                         ip_address="203.0.113.9")

    with django_capture_on_commit_callbacks(execute=True):
        LoginEvent.objects.create(user=operator, device_hash="known", is_new_device=True)  # the first ever
        sign_in("known")
    assert not Event.objects.filter(kind="login.new_device").exists()
    with django_capture_on_commit_callbacks(execute=True):
        sign_in("new")
    event = Event.objects.get(source="accounts", kind="login.new_device")
    assert event.user == operator and "203.0.113.9" in event.message and "Firefox" in event.message
    assert Delivery.objects.get(event=event).recipient == operator


@pytest.fixture
def prices(settings):
    settings.AI_PRICES = {"chat-test": {"input_per_million": 2.0, "output_per_million": 8.0}}
    settings.OPENAI_CHAT_MODEL = "chat-test"
    settings.AI_MONTHLY_BUDGET_USD = 20.0


def test_ai_budget_at_80_and_100_percent_are_events(fake_openai, prices, operator, django_capture_on_commit_callbacks):
    messages = [{"role": "user", "content": "A title as JSON."}]
    AIUsageFactory(user=operator, model="chat-test", request_type="seed", cost_usd=Decimal("15.99999"))
    with django_capture_on_commit_callbacks(execute=True):
        ai.chat_json(user=operator, request_type="t", messages=messages)  # crosses 16.00 = 80 %
        ai.chat_json(user=operator, request_type="t", messages=messages)  # logged once a month
    warning = Event.objects.get(source="ai", kind="budget.warning")
    assert warning.user == operator and "80%" in warning.message
    assert not Event.objects.filter(kind="budget.exceeded").exists()

    top_up = Decimal("19.99999") - ai.month_spend(operator)
    AIUsageFactory(user=operator, model="chat-test", request_type="seed", cost_usd=top_up)
    with django_capture_on_commit_callbacks(execute=True):
        ai.chat_json(user=operator, request_type="t", messages=messages)  # crosses 20.00
        with pytest.raises(ai.BudgetExceeded):
            ai.chat_json(user=operator, request_type="t", messages=messages)
    assert Event.objects.filter(source="ai", kind="budget.exceeded", user=operator).count() == 1
    assert sorted(Delivery.objects.values_list("kind", flat=True)) == ["ai/budget.exceeded", "ai/budget.warning"]


def test_every_listed_kind_has_a_title(settings):
    assert all(isinstance(title, str) and title for title in settings.NOTIFICATION_EVENTS.values())
    assert set(settings.NOTIFICATION_SYSTEM_EVENTS) <= set(settings.NOTIFICATION_EVENTS)
    json.dumps(settings.NOTIFICATION_EVENTS)


def test_vinted_account_trouble_reaches_its_owner_and_the_breaker_the_admins(
        operator, admin_user, django_capture_on_commit_callbacks):
    from vinted import ledger
    from vinted.models import VintedAccount

    account = VintedAccount.objects.create(owner=operator, label="main")
    with django_capture_on_commit_callbacks(execute=True):
        ledger.apply_outcome(account, ledger.Blocked("Vinted showed a captcha.", status_code=403, block="captcha"))
    event = Event.objects.get(source="vinted", kind="account.cooling_down")
    assert event.user == operator
    assert Delivery.objects.get(event=event).recipient == operator
    held_open = Event.objects.get(source="breakers", kind="breaker.tripped")
    assert [d.recipient for d in Delivery.objects.filter(event=held_open)] == [admin_user]
