"""The HTTP client (vinted.http) against the fake Vinted site: the headers and cookies the web app
sends, what each of Vinted's answers does to the account and the `vinted` breaker, the job
wrapper's backoff on 429, and secrets kept out of logs."""

import logging
from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.utils import timezone

from monitoring.breakers import BreakerOpen
from monitoring.choices import BreakerState
from monitoring.models import CircuitBreaker, Event, JobRun
from tests.monitoring.worker import run_worker
from vinted import site
from vinted.choices import AccountStatus, CallKind, CallOutcome
from vinted.http import VintedClient
from vinted.ledger import (
    AccountUnavailable,
    Blocked,
    SessionExpired,
    VintedRateLimited,
    VintedRefused,
    VintedUnavailable,
)
from vinted.models import VintedCall

from .risk_helpers import USER_AGENT, check_session_job, make_account, read_inbox_job

pytestmark = pytest.mark.django_db

CHECK = site.SESSION_CHECK_PATH


@pytest.fixture
def account(operator, fake_vinted):
    return make_account(operator, fake_vinted)


def vinted_breaker():
    return CircuitBreaker.objects.filter(name="vinted").first()


def test_a_read_sends_the_web_apps_headers_and_the_session_and_is_recorded(account, fake_vinted):
    data = VintedClient(account).get_json(CHECK, action="session-check")

    assert data["user"] == {"id": 4242, "login": "fake-seller"}
    request = fake_vinted.requests_to(CHECK)[0]
    assert request.cookies == account.session_cookies
    assert request.headers["platform"] == "web"
    assert request.headers["user-agent"] == USER_AGENT
    assert request.headers["x-anon-id"] == account.session_cookies["anon_id"]
    assert request.headers["locale"] == "fr-FR" and request.headers["accept"].startswith("application/json")
    call = VintedCall.objects.get()
    assert (call.kind, call.action, call.what, call.status_code, call.outcome) == (
        CallKind.READ, "session-check", f"GET {CHECK}", 200, CallOutcome.OK)
    assert call.duration_ms >= 0 and call.account == account


def test_a_write_is_recorded_as_mutating(account, fake_vinted):
    assert VintedClient(account).post_json("/web/api/auth/refresh", {}, action="refresh") == {"code": 0}
    call = VintedCall.objects.get()
    assert (call.kind, call.what, call.outcome) == (CallKind.WRITE, "POST /web/api/auth/refresh", CallOutcome.OK)


def test_the_csrf_token_read_from_a_page_is_sent_with_later_calls(account, fake_vinted):
    client = VintedClient(account)
    assert client.load_csrf_token() == "75f6c9fa-dc8e-4e52-a000-e09dd4084b3e"
    client.post_json("/web/api/auth/refresh", {}, action="refresh")
    assert fake_vinted.requests_to("/web/api/auth/refresh")[0].headers["x-csrf-token"] == client.csrf_token
    assert "x-csrf-token" not in fake_vinted.requests_to("^/$")[0].headers
    assert list(VintedCall.objects.order_by("at").values_list("kind", "action")) == [
        (CallKind.READ, "csrf-token"), (CallKind.WRITE, "refresh")]


BLOCKS = {"captcha": (200, site.CAPTCHA), "datadome": (403, site.DATADOME), "cloudflare": (403, site.CLOUDFLARE),
          "forbidden": (403, site.FORBIDDEN), "challenge": (200, site.CHALLENGE)}


@pytest.mark.parametrize("mode", sorted(BLOCKS))
def test_a_block_cools_the_account_down_opens_the_breaker_and_says_so(
        mode, account, operator, fake_vinted, settings, django_capture_on_commit_callbacks):
    fake_vinted.fail_next(mode)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(Blocked) as caught:
            VintedClient(account).get_json(CHECK, action="session-check")

    status_code, block = BLOCKS[mode]
    account.refresh_from_db()
    assert account.status == AccountStatus.COOLING_DOWN
    minutes = settings.VINTED_COOLDOWN_MINUTES
    assert timedelta(minutes=minutes - 1) < account.cooling_until - timezone.now() <= timedelta(minutes=minutes)
    until = timezone.localtime(account.cooling_until).strftime("%H:%M")
    # The seller is told plainly: Vinted blocked it, until when, and that retrying makes it worse.
    for text in (account.status_message, caught.value.message):
        assert "retrying now makes it worse" in text and until in text and "Vinted" in text
    assert caught.value.block == block and caught.value.status_code == status_code
    row = vinted_breaker()
    assert row.state == BreakerState.OPEN and row.open_until >= account.cooling_until - timedelta(seconds=5)
    call = VintedCall.objects.get()
    assert (call.outcome, call.status_code) == (CallOutcome.BLOCKED, status_code)
    event = Event.objects.get(kind="account.cooling_down")
    assert event.payload["account"] == account.pk and event.payload["block"] == block
    assert Event.objects.filter(kind="breaker.tripped").exists()

    # Nothing more reaches Vinted: this account is cooling down, and any other waits for the breaker.
    before = len(fake_vinted.requests)
    with pytest.raises(AccountUnavailable, match="retrying now makes it worse"):
        VintedClient(account).get_json(CHECK, action="session-check")
    other = make_account(operator, fake_vinted, label="Second shop")
    with pytest.raises(BreakerOpen):
        VintedClient(other).get_json(CHECK, action="session-check")
    assert len(fake_vinted.requests) == before
    other.refresh_from_db()
    assert other.status == AccountStatus.ACTIVE
    assert VintedCall.objects.filter(outcome=CallOutcome.REFUSED).count() == 2


@pytest.mark.parametrize("mode", ["expired", "login_redirect"])
def test_an_expired_session_needs_login_and_leaves_the_breaker_closed(
        mode, account, fake_vinted, django_capture_on_commit_callbacks):
    fake_vinted.fail_next(mode)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(SessionExpired) as caught:
            VintedClient(account).get_json(CHECK, action="session-check")
    account.refresh_from_db()
    assert account.status == AccountStatus.NEEDS_LOGIN
    assert "Import a new session" in account.status_message and "Import a new session" in caught.value.message
    assert vinted_breaker() is None or vinted_breaker().state == BreakerState.CLOSED
    assert VintedCall.objects.get().outcome == CallOutcome.NEEDS_LOGIN
    assert Event.objects.filter(kind="account.needs_login", payload__account=account.pk).count() == 1
    before = len(fake_vinted.requests)
    with pytest.raises(AccountUnavailable, match="Import a new session"):
        VintedClient(account).get_json(CHECK, action="session-check")
    assert len(fake_vinted.requests) == before


def test_a_session_the_fake_forgot_needs_login(account, fake_vinted):
    fake_vinted.expire_session(account.session_cookies["access_token_web"])
    with pytest.raises(SessionExpired):
        VintedClient(account).get_json(CHECK, action="session-check")
    account.refresh_from_db()
    assert account.status == AccountStatus.NEEDS_LOGIN


def test_429_raises_rate_limited_with_retry_after_and_nothing_else(account, fake_vinted):
    fake_vinted.fail_next("rate_limit", retry_after=7)
    with pytest.raises(VintedRateLimited) as caught:
        VintedClient(account).get_json(CHECK, action="session-check")
    assert caught.value.retry_after == 7
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert vinted_breaker() is None or vinted_breaker().state == BreakerState.CLOSED
    assert VintedCall.objects.get().outcome == CallOutcome.RATE_LIMITED


def test_429_with_an_http_date(account, fake_vinted):
    fake_vinted.fail_next("rate_limit", retry_date=format_datetime(timezone.now() + timedelta(seconds=90), usegmt=True))
    with pytest.raises(VintedRateLimited) as caught:
        VintedClient(account).get_json(CHECK, action="session-check")
    assert 80 <= caught.value.retry_after <= 91


def test_the_job_wrapper_backs_off_on_429_for_retry_after_then_succeeds(
        account, fake_vinted, django_capture_on_commit_callbacks):
    fake_vinted.fail_next("rate_limit", retry_after=45)
    run = check_session_job.enqueue(account.pk)
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    run.refresh_from_db()
    assert run.status == "retrying" and run.attempt == 2 and "slow down" in run.error
    assert (run.run_after - timezone.now()).total_seconds() >= 40  # Retry-After, not the 1 s backoff
    assert len(fake_vinted.requests_to(CHECK)) == 1
    JobRun.objects.filter(pk=run.pk).update(run_after=timezone.now())
    from tests.monitoring.worker import make_due

    make_due()
    run_worker()
    run.refresh_from_db()
    assert run.status == "succeeded"
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE and account.vinted_login == "fake-seller"


@pytest.mark.parametrize("mode", ["server_error", "disconnect"])
def test_5xx_and_dropped_connections_are_transient_and_count_towards_the_breaker(mode, account, fake_vinted, settings):
    fake_vinted.fail_next(mode)
    with pytest.raises(VintedUnavailable):
        VintedClient(account).get_json(CHECK, action="session-check")
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    row = vinted_breaker()
    assert row.state == BreakerState.CLOSED and row.failure_count == 1
    assert VintedCall.objects.get().outcome == CallOutcome.ERROR


def test_a_timeout_is_transient(account, fake_vinted, settings):
    settings.VINTED_HTTP_TIMEOUT = 0.2
    fake_vinted.fail_next("slow", seconds=3)
    with pytest.raises(VintedUnavailable, match="did not answer within"):
        VintedClient(account).get_json(CHECK, action="session-check")


def test_five_failures_in_a_row_open_the_breaker_and_the_sixth_call_is_not_sent(account, fake_vinted):
    fake_vinted.fail_next("server_error", 5)
    for _ in range(5):
        with pytest.raises(VintedUnavailable):
            VintedClient(account).get_json(CHECK, action="session-check")
    assert vinted_breaker().state == BreakerState.OPEN
    with pytest.raises(BreakerOpen):
        VintedClient(account).get_json(CHECK, action="session-check")
    assert len(fake_vinted.requests) == 5


def test_a_page_instead_of_json_is_transient(account, fake_vinted):
    with pytest.raises(VintedUnavailable, match="instead of the expected JSON"):
        VintedClient(account).get_json("/", action="home")


def test_other_4xx_is_refused_without_touching_the_account(account, fake_vinted):
    with pytest.raises(VintedRefused, match="404"):
        VintedClient(account).get_json("/api/v2/nowhere", action="nowhere")
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE


def test_the_cookie_values_never_reach_the_logs_events_or_ledger(
        account, fake_vinted, caplog, django_capture_on_commit_callbacks):
    caplog.set_level(logging.DEBUG)
    client = VintedClient(account)
    with django_capture_on_commit_callbacks(execute=True):
        client.get_json(CHECK, action="session-check")
        for mode in ("server_error", "disconnect", "rate_limit", "datadome"):
            fake_vinted.fail_next(mode)
            with pytest.raises(Exception):  # noqa: B017 - each mode raises its own error
                client.get_json(CHECK, action="session-check")
    assert "httpx" in caplog.text or "HTTP Request" in caplog.text  # the client's logging was captured
    secrets = [value for value in account.session_cookies.values() if len(value) > 6]
    stored = " ".join(str(row) for row in Event.objects.values_list("message", "payload"))
    stored += " ".join(str(row) for row in VintedCall.objects.values_list("what", "message"))
    for value in secrets:
        assert value not in caplog.text
        assert value not in stored


@pytest.mark.parametrize(("mode", "status", "says"), [
    ("captcha", AccountStatus.COOLING_DOWN, "captcha"),
    ("datadome", AccountStatus.COOLING_DOWN, "DataDome"),
    ("cloudflare", AccountStatus.COOLING_DOWN, "Cloudflare"),
    ("expired", AccountStatus.NEEDS_LOGIN, "session expired"),
])
def test_a_block_or_an_expired_session_stops_the_job_at_once_and_says_why(
        mode, status, says, account, fake_vinted, django_capture_on_commit_callbacks):
    fake_vinted.fail_next(mode)
    run = read_inbox_job.enqueue(account.pk)
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    run.refresh_from_db()
    assert run.status == "failed" and run.attempt == 1  # not retried: retrying makes a block worse
    assert says in run.error
    account.refresh_from_db()
    assert account.status == status and says in account.status_message
    assert len(fake_vinted.requests) == 1
