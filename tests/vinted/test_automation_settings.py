"""vinted.services.automation for people: busy windows as text, update_settings (one validation for
the page and the API: field errors, nothing saved; an Event per change), resume refused while
Vinted blocks the account, and the status the page and the API show."""

from datetime import time

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from monitoring.models import Event
from tests.vinted.inbox_helpers import stored_conversation
from vinted.choices import AccountStatus
from vinted.models import AutomationSettings
from vinted.services import automation

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(operator):
    account = stored_conversation(operator).account
    automation.settings_for(account, create=True)
    return account


def _stored(account):
    return AutomationSettings.objects.filter(account=account).values().get()


# --- busy windows --------------------------------------------------------------------------------------

def test_busy_windows_are_read_from_text_lines_and_written_back_the_same_way():
    text = "Mon-Fri 18:00-21:30\n\n  Sat,Sun 10:00 – 12:00 \nfri-mon 9:00-10:00\nWednesday 07:30-08:00"
    windows = automation.parse_busy_windows(text)
    assert windows == [{"days": [0, 1, 2, 3, 4], "start": "18:00", "end": "21:30"},
                       {"days": [5, 6], "start": "10:00", "end": "12:00"},
                       {"days": [0, 4, 5, 6], "start": "09:00", "end": "10:00"},
                       {"days": [2], "start": "07:30", "end": "08:00"}]
    assert automation.format_busy_windows(windows) == (
        "Mon-Fri 18:00-21:30\nSat,Sun 10:00-12:00\nMon,Fri-Sun 09:00-10:00\nWed 07:30-08:00")
    assert automation.parse_busy_windows(automation.format_busy_windows(windows)) == windows
    assert automation.parse_busy_windows("  \n") == []


@pytest.mark.parametrize("text,message", [
    ("Mon-Fri", "Line 1"),
    ("Mon 18:00-21:30\nFunday 10:00-11:00", "Line 2"),
    ("Mon 21:30-18:00", "start must be before the end"),
    ("Mon 18:00-25:00", "times such as 18:00"),
    ("Mo 18:00-19:00", "Line 1"),
])
def test_wrong_busy_window_lines_name_the_line(text, message):
    with pytest.raises(ValidationError) as refused:
        automation.parse_busy_windows(text)
    assert message in " ".join(refused.value.messages)


@pytest.mark.parametrize("windows", [
    "not a list but no line matches",
    [{"days": [7], "start": "10:00", "end": "11:00"}],
    [{"days": [], "start": "10:00", "end": "11:00"}],
    [{"days": [True], "start": "10:00", "end": "11:00"}],
    [{"days": [1], "start": "10:00"}],
    [{"days": [1], "start": 10, "end": "11:00"}],
    [{"days": [1], "start": "10:00", "end": "11:00", "extra": 1}],
    ["Mon 10:00-11:00"],
    {"days": [1]},
    [{"days": [1], "start": "10:00", "end": "11:00"}] * 21,
])
def test_wrong_busy_windows_are_refused(windows):
    with pytest.raises(ValidationError):
        automation.clean_busy_windows(windows)


# --- update_settings ------------------------------------------------------------------------------------

def test_update_settings_saves_what_changed_and_records_an_event(account, operator,
                                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # events are written after commit
        automation.update_settings(account, {
            "auto_reply_intents": ["availability", "shipping", "availability"], "reply_tone": "concise",
            "auto_reply_delay_min_seconds": 0, "auto_reply_delay_max_seconds": 3600, "night_start": "23:00",
            "reposts_enabled": True, "busy_windows": "Sat 10:00-12:00", "time_zone": "America/New_York",
            "auto_replies_per_conversation": 10}, by_user=operator)
    stored = _stored(account)
    assert (stored["auto_reply_intents"], stored["reply_tone"], stored["auto_reply_delay_max_seconds"],
            stored["night_start"], stored["reposts_enabled"], stored["busy_windows"], stored["time_zone"]) == (
        ["availability", "shipping"], "concise", 3600, time(23, 0), True,
        [{"days": [5], "start": "10:00", "end": "12:00"}], "America/New_York")
    event = Event.objects.get(kind="automation.settings_changed")
    assert event.user == operator and "reposts_enabled" in event.payload["changed"]
    assert "night_end" not in event.payload["changed"]
    with django_capture_on_commit_callbacks(execute=True):
        automation.update_settings(account, {"reply_tone": "concise"}, by_user=operator)  # no change: no event
    assert Event.objects.filter(kind="automation.settings_changed").count() == 1


@pytest.mark.parametrize("changes,field", [
    ({"auto_reply_delay_min_seconds": 301}, "auto_reply_delay_min_seconds"),  # stored max is 300
    ({"auto_reply_delay_max_seconds": 3601}, "auto_reply_delay_max_seconds"),
    ({"auto_reply_delay_min_seconds": -1}, "auto_reply_delay_min_seconds"),
    ({"auto_replies_per_conversation": 11}, "auto_replies_per_conversation"),
    ({"auto_replies_per_conversation": "two"}, "auto_replies_per_conversation"),
    ({"auto_reply_intents": ["offer"]}, "auto_reply_intents"),
    ({"auto_reply_intents": ["haggle"]}, "auto_reply_intents"),
    ({"auto_reply_intents": "availability"}, "auto_reply_intents"),
    ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ({"reply_tone": "rude"}, "reply_tone"),
    ({"night_end": "8h"}, "night_end"),
    ({"reposts_enabled": "yes"}, "reposts_enabled"),
    ({"repost_after_days": 0}, "repost_after_days"),
    ({"busy_windows": "Mon 12:00-11:00"}, "busy_windows"),
    ({"paused": False}, "paused"),
])
def test_bad_settings_raise_field_errors_and_save_nothing(account, operator, changes, field):
    before = _stored(account)
    with pytest.raises(ValidationError) as refused:
        automation.update_settings(account, {"reply_tone": "concise", **changes}, by_user=operator)
    assert field in refused.value.message_dict
    assert _stored(account) == before
    assert not Event.objects.filter(kind="automation.settings_changed").exists()


def test_offers_are_never_an_auto_send_choice():
    assert "offer" not in automation.AUTO_SEND_INTENTS and "availability" in automation.AUTO_SEND_INTENTS


def test_only_the_owner_or_an_admin_changes_settings(account, other_operator, viewer, admin_user):
    for user in (other_operator, viewer):
        with pytest.raises(PermissionDenied):
            automation.update_settings(account, {"reply_tone": "concise"}, by_user=user)
        with pytest.raises(PermissionDenied):
            automation.pause(account, by_user=user)
    automation.update_settings(account, {"reply_tone": "concise"}, by_user=admin_user)
    assert _stored(account)["reply_tone"] == "concise"


# --- pause, resume and the status -------------------------------------------------------------------------

def test_status_follows_pause_and_resume(account, operator, django_capture_on_commit_callbacks):
    assert automation.status(account)["state"] == "active"
    assert "every feature is off" in automation.status(account)["headline"]
    automation.update_settings(account, {"price_drops_enabled": True}, by_user=operator)
    assert automation.status(account)["headline"] == "Automation is active: price drops."
    with django_capture_on_commit_callbacks(execute=True):
        automation.pause(account, by_user=operator)
    status = automation.status(account)
    assert (status["state"], status["blocked"], status["can_resume"]) == ("paused", False, True)
    assert "paused by hand" in status["headline"]
    assert Event.objects.filter(kind="automation.paused", user=operator).exists()
    with django_capture_on_commit_callbacks(execute=True):
        automation.resume(account, by_user=operator)
    assert automation.status(account)["state"] == "active"
    assert Event.objects.filter(kind="automation.resumed", user=operator).exists()


@pytest.mark.parametrize("account_status", [AccountStatus.COOLING_DOWN, AccountStatus.BLOCKED])
def test_resume_is_refused_while_vinted_blocks_the_account(account, operator, account_status):
    automation.pause_for_block(account, "403 Forbidden")
    account.status = account_status
    account.save(update_fields=["status"])
    status = automation.status(account)
    assert (status["state"], status["blocked"], status["can_resume"]) == ("paused", True, False)
    assert "because Vinted blocked this account" in status["headline"]
    assert "once the account is active again" in status["headline"]
    with pytest.raises(ValidationError, match="once the account is active again"):
        automation.resume(account, by_user=operator)
    assert _stored(account)["paused"] is True
    account.status = AccountStatus.ACTIVE  # the cool-down ended: now the seller may resume
    account.save(update_fields=["status"])
    assert automation.status(account)["can_resume"] is True
    assert "It stays paused until you resume it." in automation.status(account)["headline"]
    automation.resume(account, by_user=operator)
    assert _stored(account)["paused"] is False


def test_reading_settings_writes_nothing_and_a_change_makes_the_row(operator):
    account = stored_conversation(operator, label="Fresh").account
    defaults = automation.settings_for(account)
    assert defaults.pk is None and not defaults.reposts_enabled
    assert automation.inactive_reason(account, "reposts") == "Reposts are off for this account."
    assert automation.upcoming(account, hours=24) == [] and automation.status(account)["state"] == "active"
    assert not AutomationSettings.objects.filter(account=account).exists()
    assert automation.settings_for(account, create=True).pk is not None
    automation.pause(account, by_user=operator)
    assert AutomationSettings.objects.get(account=account).paused


def test_a_needs_login_account_is_not_running(account):
    account.status, account.status_message = AccountStatus.NEEDS_LOGIN, "Vinted says the session expired."
    status = automation.status(account)
    assert status["state"] == "inactive" and "needs login" in status["headline"]
