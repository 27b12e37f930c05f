"""/api/v1/vinted/automation/{account_id}/ and /automation-events/: the role matrix (JWT and personal
token), PATCH with the form's validation (400 with field errors, nothing changed), pause / resume
(refused while Vinted blocks the account), upcoming (hours 1..168), the history's filters, a 403 from
the fake Vinted seen through the API, and the schema."""

import json
import re

import pytest

from tests.api_helpers import assert_error, assert_matrix_answer, field_errors
from tests.fakes.vinted_inbox import add_conversation, add_message
from tests.helpers import API_PERSONAS, PERSONAS
from tests.monitoring.worker import run_worker
from tests.vinted.inbox_helpers import account_on_fake, stored_conversation
from vinted.api.automation import HOUR_MINUTE
from vinted.choices import AccountStatus, AutomationFeature, AutomationOutcome
from vinted.models import AutomationEvent, AutomationSettings, Conversation
from vinted.services import automation, inbox

pytestmark = pytest.mark.django_db
API = "/api/v1/vinted/automation"
EVENTS = "/api/v1/vinted/automation-events"


@pytest.fixture
def account(operator):
    account = stored_conversation(operator).account
    automation.settings_for(account, create=True)
    return account


@pytest.fixture
def event(account):
    return automation.record(account, AutomationFeature.REPOSTS, AutomationOutcome.SKIPPED, "Outside busy windows")


def _snapshot():
    return list(AutomationSettings.objects.order_by("pk").values())


# (name, method, url, body, expected for anonymous, viewer, operator, other_operator, admin)
MATRIX = [
    ("retrieve", "get", "/{pk}/", None, (401, 404, 200, 404, 200)),
    ("patch", "patch", "/{pk}/", {"reply_tone": "concise"}, (401, 403, 200, 404, 200)),
    ("pause", "post", "/{pk}/pause/", None, (401, 403, 200, 404, 200)),
    ("resume", "post", "/{pk}/resume/", None, (401, 403, 200, 404, 200)),
    ("upcoming", "get", "/{pk}/upcoming/", None, (401, 404, 200, 404, 200)),
    ("no-put", "put", "/{pk}/", {"reply_tone": "concise"}, (401, 403, 405, 405, 405)),
    ("events", "get", "events:/", None, (401, 200, 200, 200, 200)),
    ("event", "get", "events:/{event}/", None, (401, 404, 200, 404, 200)),
    ("events-read-only", "post", "events:/", {"message": "x"}, (401, 403, 405, 405, 405)),
]


@pytest.mark.parametrize("name,method,url,body,expected", MATRIX, ids=[row[0] for row in MATRIX])
@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_role_matrix(api_for, api_with, account, event, persona, name, method, url, body, expected):
    client = api_for(persona, using=api_with)
    base, url = (EVENTS, url[len("events:"):]) if url.startswith("events:") else (API, url)
    before = _snapshot(), AutomationEvent.objects.count()
    response = getattr(client, method)(base + url.format(pk=account.pk, event=event.pk), body, format="json")
    want = expected[PERSONAS.index(persona)]
    assert_matrix_answer(response, want, (persona, name))
    if want == 404:
        assert_error(response, 404, "NOT_FOUND")
    if want >= 400:
        assert (_snapshot(), AutomationEvent.objects.count()) == before, "a refused request changed data"


def test_retrieve_has_the_settings_and_the_status(api_as, operator, account):
    body = api_as(operator).get(f"{API}/{account.pk}/").json()
    assert (body["account"], body["account_status"], body["active"], body["paused"], body["blocked"]) == (
        account.pk, "active", True, False, False)
    assert body["busy_windows"][0] == {"days": [0, 1, 2, 3, 4], "start": "18:00", "end": "21:30"}
    assert (body["night_start"], body["time_zone"], body["auto_reply_intents"]) == ("22:00", "Europe/Paris", [])


def test_an_account_without_settings_yet_answers_the_defaults(api_as, operator):
    account = stored_conversation(operator, label="Fresh").account
    assert api_as(operator).get(f"{API}/{account.pk}/").json()["reposts_enabled"] is False


def test_reading_an_account_without_settings_writes_no_row(api_as, operator):
    account = stored_conversation(operator, label="Fresh").account
    client = api_as(operator)
    assert client.get(f"{API}/{account.pk}/").json()["account"] == account.pk
    assert client.get(f"{API}/{account.pk}/upcoming/").json() == []
    assert not AutomationSettings.objects.filter(account=account).exists()
    assert client.patch(f"{API}/{account.pk}/", {"reply_tone": "concise"}, format="json").status_code == 200
    assert AutomationSettings.objects.get(account=account).reply_tone == "concise"


def test_patch_changes_what_it_names(api_as, operator, account):
    response = api_as(operator).patch(f"{API}/{account.pk}/", {
        "auto_reply_intents": ["availability", "size"], "auto_reply_delay_min_seconds": 10,
        "busy_windows": [{"days": [6, 5], "start": "9:00", "end": "11:30"}], "reposts_enabled": True,
        "night_end": "07:30", "time_zone": "Europe/Berlin"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["auto_reply_intents"], body["auto_reply_delay_min_seconds"], body["busy_windows"],
            body["reposts_enabled"], body["night_end"], body["time_zone"], body["reply_tone"]) == (
        ["availability", "size"], 10, [{"days": [5, 6], "start": "09:00", "end": "11:30"}], True, "07:30",
        "Europe/Berlin", "friendly")


@pytest.mark.parametrize("body,field", [
    ({"auto_reply_delay_min_seconds": 301}, "auto_reply_delay_min_seconds"),
    ({"auto_reply_delay_min_seconds": 10, "auto_reply_delay_max_seconds": 5}, "auto_reply_delay_min_seconds"),
    ({"auto_reply_delay_max_seconds": 3601}, "auto_reply_delay_max_seconds"),
    ({"auto_reply_delay_max_seconds": "soon"}, "auto_reply_delay_max_seconds"),
    ({"auto_replies_per_conversation": -1}, "auto_replies_per_conversation"),
    ({"auto_reply_intents": ["offer"]}, "auto_reply_intents"),
    ({"auto_reply_intents": ["nonsense"]}, "auto_reply_intents"),
    ({"time_zone": "Nowhere/Land"}, "time_zone"),
    ({"busy_windows": [{"days": [1], "start": "20:00", "end": "19:00"}]}, "busy_windows"),
    ({"busy_windows": [{"days": [9], "start": "10:00", "end": "11:00"}]}, "busy_windows"),
    ({"busy_windows": {"days": [1]}}, "busy_windows"),
    ({"night_start": "midnight"}, "night_start"),
    ({"reposts_enabled": "perhaps"}, "reposts_enabled"),
    ({"repost_after_days": 0}, "repost_after_days"),
    ({"paused": False}, "paused"),
    ({"account": 99}, "account"),
])
def test_bad_input_is_a_400_with_field_errors_and_changes_nothing(api_as, operator, account, body, field):
    before = _snapshot()
    response = api_as(operator).patch(f"{API}/{account.pk}/", {"reply_tone": "concise", **body}, format="json")
    assert field in field_errors(response)
    assert _snapshot() == before


def test_a_body_that_is_not_an_object_is_a_400(api_as, operator, account):
    response = api_as(operator).patch(f"{API}/{account.pk}/", ["reply_tone"], format="json")
    assert_error(response, 400, "VALIDATION_ERROR")


def test_pause_and_resume(api_as, operator, account):
    client = api_as(operator)
    body = client.post(f"{API}/{account.pk}/pause/").json()
    assert (body["paused"], body["active"], body["inactive_reason"]) == (
        True, False, "Automation of this account is paused.")
    assert client.get(f"{API}/{account.pk}/upcoming/").json() == []
    assert client.post(f"{API}/{account.pk}/resume/").json()["paused"] is False


@pytest.mark.parametrize("hours,ok", [("1", True), ("168", True), ("", True), ("0", False), ("169", False),
                                     ("x", False), ("2.5", False)])
def test_upcoming_hours_are_1_to_168(api_as, operator, account, hours, ok):
    response = api_as(operator).get(f"{API}/{account.pk}/upcoming/", {"hours": hours})
    if ok:
        assert response.status_code == 200 and response.json() == []
    else:
        assert "hours" in field_errors(response)


def test_events_are_newest_first_own_only_and_filtered(api_as, operator, other_operator, account, event):
    automation.record(account, AutomationFeature.REPLIES, AutomationOutcome.DONE, "Sent automatically")
    theirs = stored_conversation(other_operator, label="Theirs").account
    automation.record(theirs, AutomationFeature.REPLIES, AutomationOutcome.DONE, "Their reply")
    client = api_as(operator)
    assert [row["message"] for row in client.get(f"{EVENTS}/").json()["results"]] == [
        "Sent automatically", "Outside busy windows"]
    assert [row["message"] for row in client.get(f"{EVENTS}/", {"feature": "reposts"}).json()["results"]] == [
        "Outside busy windows"]
    assert [row["message"] for row in client.get(f"{EVENTS}/", {"outcome": "done"}).json()["results"]] == [
        "Sent automatically"]
    assert client.get(f"{EVENTS}/", {"account": account.pk}).json()["count"] == 2
    assert "feature" in field_errors(client.get(f"{EVENTS}/", {"feature": "teleport"}))
    assert "account" in field_errors(client.get(f"{EVENTS}/", {"account": theirs.pk}))  # not one of yours


def test_a_403_from_vinted_pauses_automation_and_the_api_says_why(api_as, fake_vinted, operator):
    account = account_on_fake(fake_vinted, operator)
    conv_id = add_conversation(fake_vinted, buyer="marie")
    add_message(fake_vinted, conv_id, "Is it still available?")
    inbox.sync_account(account)
    inbox.send_reply(Conversation.objects.get(vinted_id=str(conv_id)), "Yes!", by_user=operator)
    fake_vinted.fail_next("forbidden", paths=r"/messages$")
    run_worker()

    client = api_as(operator)
    body = client.get(f"{API}/{account.pk}/").json()
    assert (body["paused"], body["blocked"], body["active"], body["account_status"]) == (
        True, True, False, AccountStatus.COOLING_DOWN)
    assert body["paused_reason"].startswith("Vinted blocked the account (Vinted refused access (403")
    refused = client.post(f"{API}/{account.pk}/resume/")
    assert_error(refused, 400, "VALIDATION_ERROR")
    assert "once the account is active again" in refused.json()["error"]["message"]
    assert AutomationSettings.objects.get(account=account).paused is True


def test_schema_documents_the_automation_endpoints(api_as, admin_user):
    schema = json.loads(api_as(admin_user).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    paths = schema["paths"]
    assert set(paths[f"{API}/{{account_id}}/"]) >= {"get", "patch"}
    assert "400" in paths[f"{API}/{{account_id}}/"]["patch"]["responses"]
    assert "post" in paths[f"{API}/{{account_id}}/pause/"] and "post" in paths[f"{API}/{{account_id}}/resume/"]
    upcoming = paths[f"{API}/{{account_id}}/upcoming/"]["get"]
    assert any(parameter["name"] == "hours" for parameter in upcoming["parameters"])
    assert {parameter["name"] for parameter in paths[f"{EVENTS}/"]["get"]["parameters"]} >= {
        "account", "feature", "outcome"}
    assert "post" not in paths[f"{EVENTS}/"]


def test_offers_are_refused_with_a_clear_message(api_as, operator, account):
    errors = field_errors(api_as(operator).patch(f"{API}/{account.pk}/", {"auto_reply_intents": ["offer"]},
                                                 format="json"))
    assert "offers never are" in json.dumps(errors)


def test_the_schema_says_what_the_answers_are(api_as, admin_user, operator):
    """The fuzzer found the night times answered as "22:00" under a `time` format (which wants seconds and
    an offset), and `upcoming` answered a list under a paginated schema with an unbounded `hours`."""
    schema = json.loads(api_as(admin_user).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    night = schema["components"]["schemas"]["AutomationSettings"]["properties"]["night_start"]
    assert "format" not in night and night["pattern"] == HOUR_MINUTE
    account = stored_conversation(operator, label="Fresh").account
    assert re.fullmatch(HOUR_MINUTE, api_as(operator).get(f"{API}/{account.pk}/").json()["night_start"])
    upcoming = schema["paths"][f"{API}/{{account_id}}/upcoming/"]["get"]
    hours = next(parameter for parameter in upcoming["parameters"] if parameter["name"] == "hours")
    number = next(option for option in hours["schema"].get("anyOf", [hours["schema"]]) if option["type"] == "integer")
    assert (number["minimum"], number["maximum"]) == (1, automation.UPCOMING_HOURS_MAX)
    # Settings never saved have no `updated_at`: the answer says null and the schema allows it.
    assert api_as(operator).get(f"{API}/{account.pk}/").json()["updated_at"] is None
    assert schema["components"]["schemas"]["AutomationSettings"]["properties"]["updated_at"].get("nullable") is True
    answer = upcoming["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["type"] == "array"
