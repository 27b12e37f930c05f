"""`manage.py vinted sync-inbox [--account ID]` against the fake Vinted."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.fakes.vinted_inbox import add_conversation, add_message
from tests.vinted.inbox_helpers import account_on_fake
from vinted.choices import AccountStatus
from vinted.models import Message

pytestmark = pytest.mark.django_db


def run(*args, out=None) -> str:
    out = out or StringIO()
    call_command("vinted", "sync-inbox", *args, stdout=out)
    return out.getvalue()


def test_syncs_every_active_account_and_prints_what_is_new(fake_vinted, operator, other_operator):
    first = account_on_fake(fake_vinted, operator, label="Otto shop")
    account_on_fake(fake_vinted, other_operator, label="Oona shop", user_id=5151)
    add_message(fake_vinted, add_conversation(fake_vinted), "Hello")
    output = run()
    assert output.splitlines()[2].startswith(f"#{first.pk} Otto shop")
    lines = [line.split() for line in output.splitlines()[1:]]
    assert [line[-3:] for line in lines] == [["0", "0", "synced"], ["1", "1", "synced"]]
    assert run().count("synced") == 2 and Message.objects.count() == 1  # twice: nothing new


def test_one_account_and_its_failure_exit_with_status_1(fake_vinted, operator):
    account = account_on_fake(fake_vinted, operator)
    fake_vinted.fail_next("expired")
    out = StringIO()
    with pytest.raises(CommandError) as failed:
        run("--account", str(account.pk), out=out)
    assert failed.value.returncode == 1 and "could not be synced" in str(failed.value)
    assert "Needs login: Vinted says the session expired" in out.getvalue()
    account.refresh_from_db()
    assert account.status == AccountStatus.NEEDS_LOGIN


def test_unknown_account_and_no_active_account(fake_vinted):
    with pytest.raises(CommandError, match="No Vinted account #999"):
        run("--account", "999")
    assert "No active Vinted account" in run()
