"""`manage.py vinted check-sessions [--account ID]` against the fake Vinted site."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from vinted.choices import AccountStatus, CallOutcome
from vinted.models import VintedCall

from .risk_helpers import make_account

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command("vinted", "check-sessions", *args, stdout=out)
    return out.getvalue()


def test_all_sessions_fine_exits_0_with_a_table(operator, fake_vinted):
    account = make_account(operator, fake_vinted, label="Main shop")
    output = run()
    header, row = output.strip().splitlines()
    assert header.split() == ["ID", "ACCOUNT", "OWNER", "STATUS", "MESSAGE"]
    assert row.split()[:5] == [str(account.pk), "Main", "shop", "otto", "Active"]
    assert "Signed in as fake-seller." in row
    assert VintedCall.objects.get().outcome == CallOutcome.OK


def test_an_expired_session_exits_1_and_says_what_to_do(operator, fake_vinted):
    make_account(operator, fake_vinted, label="Good")
    expired = make_account(operator, fake_vinted, label="Old")
    fake_vinted.expire_session(expired.session_cookies["access_token_web"])
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 2 account") as caught:
        call_command("vinted", "check-sessions", stdout=out)
    assert caught.value.returncode == 1
    lines = out.getvalue().splitlines()
    old = next(line for line in lines if " Old " in line)
    assert "Needs login" in old and "Import a new session" in old
    assert next(line for line in lines if " Good " in line).split()[3] == "Active"
    for value in expired.session_cookies.values():
        assert value not in out.getvalue()


def test_one_account_by_id_whatever_its_status_without_calling_a_blocked_one(operator, fake_vinted):
    blocked = make_account(operator, fake_vinted, status=AccountStatus.BLOCKED,
                           status_message="Paused until an admin unblocks it.")
    with pytest.raises(CommandError) as caught:
        run("--account", str(blocked.pk))
    assert caught.value.returncode == 1
    assert fake_vinted.requests == []


def test_a_block_during_the_check_is_reported(operator, fake_vinted):
    account = make_account(operator, fake_vinted)
    fake_vinted.fail_next("cloudflare")
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("vinted", "check-sessions", "--account", str(account.pk), stdout=out)
    assert "Cooling down" in out.getvalue() and "retrying now makes it worse" in out.getvalue()


def test_vinted_unavailable_is_reported_and_exits_1(operator, fake_vinted):
    make_account(operator, fake_vinted)
    fake_vinted.fail_next("server_error")
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("vinted", "check-sessions", stdout=out)
    assert "not answering properly (503)" in out.getvalue()


def test_unknown_account_and_no_accounts(operator, fake_vinted):
    with pytest.raises(CommandError, match="No Vinted account #999"):
        run("--account", "999")
    assert "No active Vinted accounts" in run()
