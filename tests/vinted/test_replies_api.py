"""/api/v1/vinted/suggestions/: the role matrix (JWT and personal token), filters, send (202, edited
body, field errors, contact details refused, 429), discard, and the schema."""

import json

import pytest

from tests.api_helpers import assert_error, assert_matrix_answer, field_errors
from tests.fakes.vinted_inbox import replies
from tests.helpers import API_PERSONAS, PERSONAS
from tests.monitoring.worker import run_worker
from tests.vinted.replies_helpers import buyer_writes, live_account, published_listing
from vinted.choices import SuggestionStatus
from vinted.models import ReplySuggestion

pytestmark = pytest.mark.django_db
API = "/api/v1/vinted/suggestions"


@pytest.fixture
def suggestion(fake_vinted, operator):
    account = live_account(fake_vinted, operator)
    published_listing(operator, account, size="W31")
    _, conversation = buyer_writes(fake_vinted, account, "Hi, is it still available?")
    return conversation.suggestions.get()


def _snapshot():
    return list(ReplySuggestion.objects.order_by("pk").values_list("pk", "status", "body", "reply"))


MATRIX = [
    ("list", "get", "/", None, (401, 200, 200, 200, 200)),
    ("retrieve", "get", "/{pk}/", None, (401, 404, 200, 404, 200)),
    ("send", "post", "/{pk}/send/", {"body": "Yes!"}, (401, 403, 202, 404, 202)),
    ("discard", "post", "/{pk}/discard/", None, (401, 403, 200, 404, 200)),
    ("no-edit", "patch", "/{pk}/", {"body": "x"}, (401, 403, 405, 405, 405)),
]


@pytest.mark.parametrize("name,method,url,body,expected", MATRIX, ids=[row[0] for row in MATRIX])
@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_role_matrix(api_for, api_with, suggestion, persona, name, method, url, body, expected):
    client = api_for(persona, using=api_with)
    before = _snapshot()
    response = getattr(client, method)(API + url.format(pk=suggestion.pk), body, format="json")
    want = expected[PERSONAS.index(persona)]
    assert_matrix_answer(response, want, (persona, name))
    if want == 404:
        assert_error(response, 404, "NOT_FOUND")
    if want >= 400:
        assert _snapshot() == before, "a refused request changed data"


def test_list_is_each_users_own_and_filters(api_as, personas, suggestion):
    operator, other = personas["operator"], personas["other_operator"]
    rows = api_as(operator).get(f"{API}/").json()["results"]
    assert [row["id"] for row in rows] == [suggestion.pk]
    assert rows[0]["intent"] == "availability" and "W31" in rows[0]["body"]
    assert rows[0]["message"]["body"] == "Hi, is it still available?" and rows[0]["classified_by"] == "rules"
    assert api_as(other).get(f"{API}/").json()["results"] == []
    assert api_as(personas["viewer"]).get(f"{API}/").json()["results"] == []
    client = api_as(operator)
    for params, count in (({"status": "pending"}, 1), ({"status": "sent"}, 0), ({"intent": "availability"}, 1),
                          ({"intent": "offer"}, 0), ({"account": suggestion.conversation.account_id}, 1),
                          ({"conversation": suggestion.conversation_id}, 1)):
        assert len(client.get(f"{API}/", params).json()["results"]) == count, params
    for params in ({"status": "maybe"}, {"intent": "x"}, {"account": 999999}, {"conversation": "x"}):
        assert set(params) <= set(field_errors(client.get(f"{API}/", params))), params
    # Someone else's conversation is no choice either.
    assert "conversation" in field_errors(api_as(other).get(f"{API}/", {"conversation": suggestion.conversation_id}))


def test_send_as_drafted_reaches_the_fake(api_as, fake_vinted, operator, suggestion):
    response = api_as(operator).post(f"{API}/{suggestion.pk}/send/", {}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "sent" and body["reply"]
    run_worker()
    assert replies(fake_vinted) == [suggestion.body]


def test_send_edited(api_as, fake_vinted, operator, suggestion):
    response = api_as(operator).post(f"{API}/{suggestion.pk}/send/", {"body": " Yes, W31! "}, format="json")
    assert response.status_code == 202 and response.json()["body"] == "Yes, W31!"
    run_worker()
    assert replies(fake_vinted) == ["Yes, W31!"]


@pytest.mark.parametrize("body", [{"body": ""}, {"body": "   "}, {"body": "x" * 2001}, {"body": ["list"]},
                                  {"body": 5}, {"body": None}, {"body": "mail me: me@example.com"},
                                  {"body": "+33 6 12 34 56 78"}, {"body": "whatsapp?"}])
def test_bad_bodies_are_field_errors(api_as, fake_vinted, operator, suggestion, body):
    before = _snapshot()
    assert "body" in field_errors(api_as(operator).post(f"{API}/{suggestion.pk}/send/", body, format="json"))
    assert _snapshot() == before and replies(fake_vinted) == []


def test_contact_details_say_why(api_as, operator, suggestion):
    response = api_as(operator).post(f"{API}/{suggestion.pk}/send/", {"body": "me@example.com"}, format="json")
    assert "e-mail" in json.dumps(field_errors(response))


def test_send_beyond_the_hourly_limit_is_a_429(settings, api_as, operator, suggestion):
    settings.VINTED_WRITES_PER_HOUR = 0
    body = assert_error(api_as(operator).post(f"{API}/{suggestion.pk}/send/", {}, format="json"),
                        429, "WRITE_LIMIT_REACHED")
    assert body["error"]["details"]["retry_after_seconds"] >= 60
    suggestion.refresh_from_db()
    assert suggestion.status == SuggestionStatus.PENDING


def test_a_decided_suggestion_is_a_400_and_wrong_ids_404(api_as, operator, suggestion):
    client = api_as(operator)
    assert client.post(f"{API}/{suggestion.pk}/discard/").json()["status"] == "discarded"
    assert_error(client.post(f"{API}/{suggestion.pk}/discard/"), 400, "VALIDATION_ERROR")
    assert_error(client.post(f"{API}/{suggestion.pk}/send/", {}, format="json"), 400, "VALIDATION_ERROR")
    assert_error(client.post(f"{API}/999999/send/", {}, format="json"), 404, "NOT_FOUND")
    assert client.get(f"{API}/abc/").status_code == 404


def test_schema_documents_the_suggestion_endpoints(api_as, admin_user):
    schema = json.loads(api_as(admin_user).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    paths = schema["paths"]
    for path in (f"{API}/", f"{API}/{{id}}/", f"{API}/{{id}}/send/", f"{API}/{{id}}/discard/"):
        assert path in paths, path
    assert {"202", "400", "401", "403", "404", "429"} <= set(paths[f"{API}/{{id}}/send/"]["post"]["responses"])
    assert {"200", "400", "404"} <= set(paths[f"{API}/{{id}}/discard/"]["post"]["responses"])
    params = {param["name"] for param in paths[f"{API}/"]["get"]["parameters"]}
    assert {"account", "conversation", "status", "intent"} <= params
