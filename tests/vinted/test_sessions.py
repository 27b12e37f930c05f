"""Sessions (vinted.services.accounts): parsing what a seller pastes, importing it (checked at once,
stored encrypted, never logged), checking it, and what a new session may not undo (a cool-down,
a block)."""

import json
import logging
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from monitoring.models import Event
from vinted.choices import AccountStatus, CallOutcome
from vinted.models import VintedAccount, VintedCall
from vinted.services.accounts import check_session, check_sessions, clean_user_agent, import_session, parse_cookies

from .risk_helpers import USER_AGENT, cookie_header, make_account

pytestmark = pytest.mark.django_db


def session_error(exc) -> str:
    return " ".join(exc.value.message_dict["session"])


# --- parsing -------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    "access_token_web=abc.def; refresh_token_web=r1; anon_id=a-1",
    "Cookie: access_token_web=abc.def; refresh_token_web=r1; anon_id=a-1",
    'access_token_web="abc.def"; refresh_token_web=r1; anon_id=a-1',
    json.dumps([{"name": "access_token_web", "value": "abc.def", "domain": ".vinted.fr"},
                {"name": "refresh_token_web", "value": "r1"}, {"name": "anon_id", "value": "a-1"}]),
    json.dumps({"access_token_web": "abc.def", "refresh_token_web": "r1", "anon_id": "a-1"}),
    json.dumps({"url": "https://www.vinted.fr", "cookies": [{"name": "access_token_web", "value": "abc.def"},
                                                            {"name": "refresh_token_web", "value": "r1"},
                                                            {"name": "anon_id", "value": "a-1"}]}),
])
def test_a_cookie_header_or_a_browser_export_parses(raw):
    assert parse_cookies(raw) == {"access_token_web": "abc.def", "refresh_token_web": "r1", "anon_id": "a-1"}


def test_a_cookie_that_cannot_be_sent_is_left_out_unless_it_carries_the_session():
    cookies = parse_cookies(json.dumps({"access_token_web": "tok", "consent": "a b,c"}))
    assert cookies == {"access_token_web": "tok"}
    with pytest.raises(ValidationError) as caught:
        parse_cookies(json.dumps({"access_token_web": "tok\r\nX-Evil: 1SECRETPART"}))
    assert "access_token_web" in session_error(caught) and "SECRETPART" not in session_error(caught)


@pytest.mark.parametrize(("raw", "says"), [
    ("", "Paste the Cookie header"),
    ("   ", "Paste the Cookie header"),
    ("refresh_token_web=r1; anon_id=a", "No access_token_web cookie"),
    ("access_token_web=; anon_id=a", "No access_token_web cookie"),
    ("[{not json", "does not parse"),
    ("x" * (64 * 1024 + 1), "longer than 64 KB"),
    ("just some words", "No access_token_web cookie"),
])
def test_bad_pastes_say_what_is_wrong(raw, says):
    with pytest.raises(ValidationError) as caught:
        parse_cookies(raw)
    assert says in session_error(caught)


def test_a_user_agent_must_be_one_plain_line():
    assert clean_user_agent(f"  {USER_AGENT} ") == USER_AGENT
    for bad in (f"{USER_AGENT}\r\nCookie: x=1", "x" * 501):
        with pytest.raises(ValidationError) as caught:
            clean_user_agent(bad)
        assert "user_agent" in caught.value.message_dict


# --- import ------------------------------------------------------------------------------------

def test_import_checks_the_session_at_once_stores_it_encrypted_and_logs_no_value(
        operator, fake_vinted, caplog, django_capture_on_commit_callbacks):
    caplog.set_level(logging.DEBUG)
    account = make_account(operator, status=AccountStatus.NEEDS_LOGIN)
    cookies = fake_vinted.add_session(login="seller-42")
    with django_capture_on_commit_callbacks(execute=True):
        import_session(account, cookie_header(cookies), user_agent=USER_AGENT, by_user=operator)

    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE and account.status_message == ""
    assert (account.vinted_user_id, account.vinted_login) == ("4242", "seller-42")
    assert account.session_imported_at and account.last_checked_at
    assert json.loads(account.cookies) == cookies
    request = fake_vinted.requests_to("/api/v2/users/current")[0]
    assert request.cookies == cookies and request.headers["user-agent"] == USER_AGENT
    assert VintedCall.objects.get().outcome == CallOutcome.OK

    with connection.cursor() as cursor:
        cursor.execute("SELECT cookies, user_agent FROM vinted_vintedaccount WHERE id = %s", [account.pk])
        stored = " ".join(cursor.fetchone())
    events = " ".join(str(row) for row in Event.objects.values_list("message", "payload"))
    assert Event.objects.filter(kind="account.session_imported", user=operator).exists()
    for value in cookies.values():
        assert value not in caplog.text and value not in events and value not in stored
    assert USER_AGENT not in stored


def test_an_expired_session_is_imported_as_needing_login(operator, fake_vinted):
    account = make_account(operator)
    import_session(account, "access_token_web=not-a-live-token; anon_id=a", by_user=operator)
    account.refresh_from_db()
    assert account.status == AccountStatus.NEEDS_LOGIN and "Import a new session" in account.status_message
    assert account.last_checked_at is not None


def test_only_who_may_change_the_account_imports_and_bad_input_changes_nothing(
        operator, other_operator, viewer, fake_vinted):
    account = make_account(operator, fake_vinted)
    before = json.loads(account.cookies)
    fresh = cookie_header(fake_vinted.add_session())
    for user in (other_operator, viewer):
        with pytest.raises(PermissionDenied):
            import_session(account, fresh, by_user=user)
    with pytest.raises(ValidationError):
        import_session(account, "garbage", by_user=operator)
    with pytest.raises(ValidationError):
        import_session(account, fresh, user_agent="bad\nagent", by_user=operator)
    account = VintedAccount.objects.get(pk=account.pk)
    assert json.loads(account.cookies) == before and account.status == AccountStatus.ACTIVE
    assert fake_vinted.requests == []


@pytest.mark.parametrize("status", [AccountStatus.COOLING_DOWN, AccountStatus.BLOCKED])
def test_a_new_session_does_not_lift_a_cool_down_or_a_block(status, operator, fake_vinted):
    until = timezone.now() + timedelta(minutes=30) if status == AccountStatus.COOLING_DOWN else None
    account = make_account(operator, fake_vinted, status=status, cooling_until=until,
                           status_message="Vinted blocked the request.")
    fresh = fake_vinted.add_session()
    import_session(account, cookie_header(fresh), by_user=operator)
    account.refresh_from_db()
    assert account.status == status and account.cooling_until == until
    assert json.loads(account.cookies) == fresh and "A new session is stored" in account.status_message
    assert fake_vinted.requests == []  # nothing sent while it may not call


# --- check ---------------------------------------------------------------------------------------

def test_check_without_a_session_asks_for_one(operator, fake_vinted):
    account = make_account(operator)
    check_session(account)
    account.refresh_from_db()
    assert account.status == AccountStatus.NEEDS_LOGIN and fake_vinted.requests == []


def test_check_sessions_checks_the_active_accounts_and_reports_transient_failures(operator, fake_vinted):
    good = make_account(operator, fake_vinted, label="Good")
    expired = make_account(operator, fake_vinted, label="Expired")
    busy = make_account(operator, fake_vinted, label="Busy")
    make_account(operator, fake_vinted, label="Blocked", status=AccountStatus.BLOCKED)
    fake_vinted.expire_session(expired.session_cookies["access_token_web"])
    fake_vinted.fail_next("rate_limit", paths=None)  # the first request: accounts are checked in label order

    checked = {account.label: account for account in check_sessions()}

    assert sorted(checked) == ["Busy", "Expired", "Good"]
    assert checked["Busy"].status == AccountStatus.ACTIVE and "slow down" in checked["Busy"].check_error
    assert checked["Expired"].status == AccountStatus.NEEDS_LOGIN and not checked["Expired"].check_error
    assert checked["Good"].status == AccountStatus.ACTIVE and checked["Good"].vinted_login == "fake-seller"
    assert len(fake_vinted.requests) == 3
    assert busy.pk and good.pk
