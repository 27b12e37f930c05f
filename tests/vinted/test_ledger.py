"""The risk ledger (vinted.ledger) and the reading of Vinted's answers (vinted.site): the hourly
write limit, the wait between writes, refusals recorded before calling, cool-down and block
(and their end), the summary's numbers, and classify()/classify_page() on real-shaped pages."""

from datetime import timedelta

import httpx
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from monitoring.breakers import reset
from monitoring.models import Event
from tests.lofisite.redis_process import redis_process  # noqa: F401  (fixture)
from tests.lofisite.test_redis_outage import redis_cache  # noqa: F401  (fixture)
from vinted import ledger, site
from vinted.choices import AccountStatus, CallKind, CallOutcome
from vinted.http import VintedClient
from vinted.ledger import AccountUnavailable, Blocked, WriteLimitReached, guard
from vinted.models import VintedCall
from vinted.services.accounts import end_cooldowns, unblock

from .risk_helpers import make_account, two_writes_job

pytestmark = pytest.mark.django_db

WRITE = "/web/api/auth/refresh"


@pytest.fixture
def account(operator, fake_vinted):
    return make_account(operator, fake_vinted)


def write(account):
    return VintedClient(account).post_json(WRITE, {}, action="refresh")


def read(account):
    return VintedClient(account).get_json(site.SESSION_CHECK_PATH, action="session-check")


# --- the hourly limit -------------------------------------------------------------------------

def test_the_21st_write_of_the_hour_is_refused_with_when_it_may_run_and_reads_still_pass(
        account, operator, fake_vinted, settings, wall_clock):
    assert settings.VINTED_WRITES_PER_HOUR == 20
    for _ in range(20):
        write(account)
    with pytest.raises(WriteLimitReached) as caught:
        write(account)

    assert len(fake_vinted.requests_to(WRITE)) == 20  # the 21st never left
    refusal = caught.value
    assert refusal.may_run_at > timezone.now() and refusal.retry_after > 0
    assert timezone.localtime(refusal.may_run_at).strftime("%H:%M") in refusal.message
    assert "20 Vinted writes" in refusal.message and "may run at" in refusal.message
    refused = VintedCall.objects.get(outcome=CallOutcome.REFUSED)
    assert refused.kind == CallKind.WRITE and refused.message == refusal.message

    read(account)  # reads are not limited
    other = make_account(operator, fake_vinted, label="Second shop")
    write(other)  # the limit is per account

    numbers = ledger.summary(account)
    assert (numbers["reads"], numbers["writes"], numbers["refused"], numbers["errors"], numbers["blocks"]) == (
        1, 20, 1, 0, 0)
    assert (numbers["writes_last_hour"], numbers["write_limit"], numbers["writes_left"]) == (20, 20, 0)
    assert 3590 <= numbers["limit_frees_in_seconds"] <= 3600

    wall_clock.shift(timedelta(minutes=20))
    assert 2390 <= ledger.summary(account)["limit_frees_in_seconds"] <= 2400
    wall_clock.shift(timedelta(hours=2))
    write(account)  # an hour later the writes fit again
    assert ledger.summary(account)["writes_last_hour"] == 1
    assert ledger.summary(account)["limit_frees_in_seconds"] == 0


def test_summary_frees_the_limit_when_the_oldest_write_leaves_the_hour(account, settings):
    settings.VINTED_WRITES_PER_HOUR = 3
    now = timezone.now()
    for minutes_ago in (50, 30, 10, 5):
        VintedCall.objects.create(account=account, at=now - timedelta(minutes=minutes_ago), kind=CallKind.WRITE,
                                  action="reply", what="POST x", outcome=CallOutcome.OK)
    VintedCall.objects.create(account=account, at=now, kind=CallKind.WRITE, action="reply", what="POST x",
                              outcome=CallOutcome.REFUSED)
    numbers = ledger.summary(account)
    assert numbers["writes_last_hour"] == 4 and numbers["writes_left"] == 0
    # 4 writes, limit 3: one more fits once the two oldest (50 and 30 min ago) have left the hour.
    assert 29 * 60 <= numbers["limit_frees_in_seconds"] <= 30 * 60


# --- the wait between writes -----------------------------------------------------------------

def test_writes_of_an_account_are_spaced_by_the_random_wait(account, settings):
    settings.VINTED_WRITE_WAIT_MIN_SECONDS = settings.VINTED_WRITE_WAIT_MAX_SECONDS = 0.4
    write(account)
    account.refresh_from_db()
    turn = account.next_write_at
    write(account)
    first, second = VintedCall.objects.order_by("at")
    assert turn >= first.at + timedelta(seconds=0.3)
    assert second.at >= turn  # the second write waited for its turn


def test_a_job_waiting_for_its_write_turn_keeps_sending_heartbeats(account, settings):
    settings.VINTED_WRITE_WAIT_MIN_SECONDS = settings.VINTED_WRITE_WAIT_MAX_SECONDS = 0.5
    settings.JOB_HEARTBEAT_SECONDS = 0
    assert two_writes_job.call(account.pk) is True


def test_a_read_does_not_wait_for_the_write_turn(account):
    account.next_write_at = timezone.now() + timedelta(hours=1)
    account.save(update_fields=["next_write_at"])
    read(account)
    assert VintedCall.objects.get().outcome == CallOutcome.OK


# --- refusals before calling ------------------------------------------------------------------

@pytest.mark.parametrize("status", [AccountStatus.NEEDS_LOGIN, AccountStatus.BLOCKED])
def test_an_account_that_may_not_call_is_refused_without_a_request(operator, fake_vinted, status):
    account = make_account(operator, fake_vinted, status=status, status_message="Say why.")
    with pytest.raises(AccountUnavailable, match="Say why."):
        read(account)
    assert fake_vinted.requests == []
    assert VintedCall.objects.get().outcome == CallOutcome.REFUSED


def test_the_status_is_read_afresh_before_each_call(account, fake_vinted):
    type(account).objects.filter(pk=account.pk).update(status=AccountStatus.NEEDS_LOGIN, status_message="Elsewhere.")
    with pytest.raises(AccountUnavailable, match="Elsewhere."):
        read(account)  # this instance still says active
    assert fake_vinted.requests == []


def test_an_error_raised_inside_the_block_is_recorded_once(account):
    with pytest.raises(ZeroDivisionError):
        with guard(account, kind="read", action="prepare", what="goto /items/new"):
            raise ZeroDivisionError("division by zero")
    call = VintedCall.objects.get()
    assert call.outcome == CallOutcome.ERROR and "division" in call.message


def test_a_browser_page_is_judged_by_call_page(account):
    with pytest.raises(Blocked):
        with guard(account, kind="read", action="prepare", what="goto /items/new") as call:
            call.page("https://www.vinted.fr/items/new",
                      '<html><body><iframe src="https://geo.captcha-delivery.com/captcha/?x=1"></iframe></body></html>')
    account.refresh_from_db()
    assert account.status == AccountStatus.COOLING_DOWN
    assert VintedCall.objects.get().outcome == CallOutcome.BLOCKED


# --- cool-down, block, unblock -------------------------------------------------------------------

def test_a_cool_down_ends_then_a_second_block_within_a_day_blocks_until_an_admin_unblocks(
        account, admin_user, operator, fake_vinted, wall_clock, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        fake_vinted.fail_next("datadome")
        with pytest.raises(Blocked):
            read(account)
        account.refresh_from_db()
        assert account.status == AccountStatus.COOLING_DOWN

        wall_clock.shift(timedelta(minutes=59))
        assert end_cooldowns() == 0
        wall_clock.shift(timedelta(minutes=2))
        assert end_cooldowns() == 1
    account.refresh_from_db()
    assert (account.status, account.status_message, account.cooling_until) == (AccountStatus.ACTIVE, "", None)
    assert Event.objects.filter(kind="account.cooldown_ended", payload__account=account.pk).count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        fake_vinted.fail_next("cloudflare")
        with pytest.raises(Blocked) as caught:
            read(account)
    account.refresh_from_db()
    assert account.status == AccountStatus.BLOCKED
    message = caught.value.message
    assert "until an admin unblocks it" in message and "Retrying now makes it worse" in message
    assert Event.objects.filter(kind="account.blocked", payload__account=account.pk).count() == 1

    wall_clock.shift(timedelta(hours=2))
    assert end_cooldowns() == 0  # a block does not end by itself
    with pytest.raises(AccountUnavailable, match="admin"):
        read(account)

    with pytest.raises(PermissionDenied):
        unblock(account, operator)
    with django_capture_on_commit_callbacks(execute=True):
        unblock(account, admin_user)
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    event = Event.objects.get(kind="account.unblocked")
    assert event.user == admin_user and event.payload["previous_status"] == AccountStatus.BLOCKED
    with pytest.raises(ValidationError):
        unblock(account, admin_user)  # not blocked any more
    reset("vinted")
    read(account)


def test_a_cooling_account_becomes_active_at_its_next_call_once_the_time_is_over(account, fake_vinted, wall_clock):
    fake_vinted.fail_next("forbidden")
    with pytest.raises(Blocked):
        read(account)
    wall_clock.shift(timedelta(minutes=61))
    read(account)  # the breaker's hold is over too: this call is its trial
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE


def test_two_blocks_in_one_cool_down_do_not_escalate(account, fake_vinted):
    fake_vinted.fail_next("forbidden")
    with pytest.raises(Blocked):
        with guard(account, kind="read", action="a", what="a") as first:
            # A second call of the same account, already in flight, is blocked too.
            with pytest.raises(Blocked):
                read(account)
            first.answer(403, {}, "", "")
    account.refresh_from_db()
    assert account.status == AccountStatus.COOLING_DOWN


# --- what Vinted's answers mean ----------------------------------------------------------------

def test_an_ordinary_page_with_captcha_in_a_script_name_is_not_a_block(fake_vinted):
    page = httpx.get(fake_vinted.base_url + "/")
    assert "captcha-delivery.com/c.js" in page.text and "recaptcha" in page.text and "Verify" in page.text
    assert site.classify(page.status_code, page.headers, page.text, str(page.url)).outcome == CallOutcome.OK
    assert site.classify_page(str(page.url), page.text).outcome == CallOutcome.OK
    assert site.csrf_token(page.text) == "75f6c9fa-dc8e-4e52-a000-e09dd4084b3e"


@pytest.mark.parametrize("html", [
    '<iframe src="https://www.google.com/recaptcha/api2/anchor?k=x&amp;size=invisible"></iframe><h1>Sell</h1>',
    "<title>Verify your email | Vinted</title><h1>Verify your email to sell faster</h1>",
    '<script src="https://js.hcaptcha.com/1/api.js"></script><p>Vérification en cours de votre annonce</p>',
])
def test_ordinary_pages_are_not_blocks(html):
    assert site.classify_page("https://www.vinted.fr/items/new", html).outcome == CallOutcome.OK


def test_json_that_mentions_a_captcha_is_not_a_block():
    body = '{"messages": [{"body": "Verify: is there a captcha on your side? Access denied?"}]}'
    verdict = site.classify(200, {"content-type": "application/json"}, body)
    assert verdict.outcome == CallOutcome.OK


@pytest.mark.parametrize(("html", "block"), [
    ('<iframe src="https://geo.captcha-delivery.com/captcha/?initialCid=x"></iframe>', site.CAPTCHA),
    ('<iframe title="reCAPTCHA" src="https://www.google.com/recaptcha/api2/anchor?k=x"></iframe>', site.CAPTCHA),
    ("<iframe src='https://newassets.hcaptcha.com/captcha/v1/x'></iframe>", site.CAPTCHA),
    ("<title>Vérification de sécurité</title>", site.CHALLENGE),
    ("<h1>Verify you are human</h1>", site.CHALLENGE),
    ("<p>Please enable JS and disable any ad blocker</p>", site.DATADOME),
    ("<title>Access denied | www.vinted.fr used Cloudflare to restrict access</title><h1>Error 1020</h1>",
     site.CLOUDFLARE),
])
def test_challenge_and_block_pages_are_blocks_even_with_status_200(html, block):
    verdict = site.classify_page("https://www.vinted.fr/items/new", f"<html><body>{html}</body></html>")
    assert (verdict.outcome, verdict.block) == (CallOutcome.BLOCKED, block)


@pytest.mark.parametrize(("status", "headers", "url", "outcome"), [
    (401, {}, "", CallOutcome.NEEDS_LOGIN),
    (200, {}, "https://www.vinted.fr/member/login?ref_url=%2Fitems%2Fnew", CallOutcome.NEEDS_LOGIN),
    (302, {"Location": "/member/signup/select_type"}, "", CallOutcome.NEEDS_LOGIN),
    (302, {"Location": "/catalog"}, "", CallOutcome.ERROR),
    (200, {}, "https://www.vinted.fr/member/loginsomething-else", CallOutcome.OK),
    (503, {}, "", CallOutcome.ERROR),
    (422, {}, "", CallOutcome.ERROR),
])
def test_status_codes_and_urls(status, headers, url, outcome):
    assert site.classify(status, headers, "", url).outcome == outcome


def test_invalid_authentication_token_in_json_needs_login_whatever_the_status():
    body = '{"code": 100, "message_code": "invalid_authentication_token"}'
    assert site.classify(400, {"Content-Type": "application/json"}, body).outcome == CallOutcome.NEEDS_LOGIN


def test_retry_after_in_seconds_or_an_http_date():
    assert site.retry_after_seconds("12") == 12
    assert site.retry_after_seconds("") == site.RETRY_AFTER_DEFAULT_SECONDS
    assert site.retry_after_seconds("soon") == site.RETRY_AFTER_DEFAULT_SECONDS
    assert site.retry_after_seconds("999999") == site.RETRY_AFTER_MAX_SECONDS
    assert site.retry_after_seconds("0") == 1
    now = timezone.now()
    assert site.retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 1  # already past
    date = (now + timedelta(seconds=120)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 110 <= site.retry_after_seconds(date, now=now) <= 120


# --- the breaker's hold (monitoring.breakers.trip) ----------------------------------------------

def test_trip_holds_the_breaker_open_past_its_recovery_timeout_until_reset(wall_clock):
    from monitoring.breakers import BreakerOpen, all_breakers, breaker, trip

    trip("vinted", "blocked", 3600)
    wall_clock.shift(timedelta(seconds=600))  # past the vinted breaker's 300 s recovery timeout
    with pytest.raises(BreakerOpen) as caught:
        breaker("vinted").call(lambda: "sent")
    assert 2990 <= caught.value.retry_after_seconds <= 3000
    shown = next(row for row in all_breakers() if row.name == "vinted")
    assert 2990 <= shown.retry_after_seconds <= 3000
    trip("vinted", "shorter", 60)  # a shorter trip keeps the longer hold
    with pytest.raises(BreakerOpen):
        breaker("vinted").raise_if_open()
    reset("vinted")
    assert breaker("vinted").call(lambda: "sent") == "sent"


def test_while_the_shared_cache_is_down_writes_are_refused_and_reads_pass(redis_cache, account, fake_vinted):  # noqa: F811
    server, _clock = redis_cache
    write(account)
    server.kill()
    with pytest.raises(WriteLimitReached, match="cannot be checked now") as caught:
        write(account)
    assert caught.value.retry_after == 30
    assert len(fake_vinted.requests_to(WRITE)) == 1
    read(account)
