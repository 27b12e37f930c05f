"""`manage.py vinted automation --account ID --dry-run [--hours N]`: a table of what would happen (local
time, feature, what) or "Nothing scheduled" with why; it writes nothing; an unknown account and a run
without --dry-run are errors with an exit status that is not 0."""

from datetime import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.vinted.inbox_helpers import stored_conversation
from vinted.choices import AccountStatus, AutomationFeature
from vinted.commands.automation import planned_lines
from vinted.models import AutomationEvent, AutomationSettings
from vinted.services import automation

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(operator):
    return stored_conversation(operator).account


def run(*args) -> str:
    out = StringIO()
    call_command("vinted", "automation", *args, stdout=out)
    return out.getvalue()


def test_a_new_account_has_every_feature_off_and_nothing_is_written(account):
    output = run("--account", str(account.pk), "--dry-run")
    assert output.splitlines() == [
        f"Automation of #{account.pk} Stored shop, next 24 h (dry run: nothing is sent):",
        "Nothing scheduled: every feature is off for this account (turn them on on its Automation page)."]
    assert not AutomationSettings.objects.exists() and not AutomationEvent.objects.exists()


def test_nothing_scheduled_says_why(account, operator):
    automation.update_settings(account, {"reposts_enabled": True}, by_user=operator)
    assert "Nothing scheduled: nothing is due in the next 6 h." in run("--account", str(account.pk), "--dry-run",
                                                                        "--hours", "6")
    automation.pause(account, by_user=operator)
    assert "Nothing scheduled: Automation of this account is paused." in run("--account", str(account.pk),
                                                                              "--dry-run")
    account.status, account.status_message = AccountStatus.NEEDS_LOGIN, "Import a new session."
    account.save(update_fields=["status", "status_message"])
    assert "Nothing scheduled: The account is needs login: Import a new session." in run(
        "--account", str(account.pk), "--dry-run")


def test_the_table_shows_local_times_in_the_accounts_zone(account, operator):
    automation.update_settings(account, {"time_zone": "America/New_York"}, by_user=operator)
    planned = [automation.Planned(at=datetime.fromisoformat("2026-12-02T23:30:00+00:00"),
                                  feature=AutomationFeature.REPOSTS, what="Repost Levi's 501 as a new listing"),
               automation.Planned(at=datetime.fromisoformat("2026-12-03T09:05:00+00:00"),
                                  feature=AutomationFeature.REPLIES, what="Reply to marie (availability)")]
    lines = planned_lines(account, planned)
    assert lines[0].split() == ["LOCAL", "TIME", "FEATURE", "WHAT"]
    assert lines[1].startswith("2026-12-02 18:30 EST  Reposts") and lines[1].endswith("as a new listing")
    assert lines[2].startswith("2026-12-03 04:05 EST  Auto-replies") and "Reply to marie" in lines[2]


def test_unknown_account_and_missing_dry_run_are_errors(account):
    with pytest.raises(CommandError, match="No Vinted account #999") as unknown:
        run("--account", "999", "--dry-run")
    assert unknown.value.returncode == 1
    with pytest.raises(CommandError, match="only previews what automation would do: add --dry-run") as acting:
        run("--account", str(account.pk))
    assert acting.value.returncode == 2
    with pytest.raises(CommandError, match="--hours must be from 1 to 168"):
        run("--account", str(account.pk), "--dry-run", "--hours", "0")
    assert not AutomationSettings.objects.exists()
