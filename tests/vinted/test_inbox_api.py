"""/api/v1/vinted/conversations/: the role matrix (JWT and personal token), messages in the detail,
filters, reply (202, field errors, 429 beyond the hourly limit), read, and the schema."""

import json

import pytest

from tests.api_helpers import assert_error, assert_matrix_answer, field_errors
from tests.fakes.vinted_inbox import add_conversation, add_message, replies
from tests.helpers import API_PERSONAS, PERSONAS
from tests.monitoring.worker import run_worker
from tests.vinted.inbox_helpers import account_on_fake, stored_conversation
from vinted.models import Conversation, Message
from vinted.services import inbox

pytestmark = pytest.mark.django_db
API = "/api/v1/vinted/conversations"


@pytest.fixture
def conversation(operator):
    return stored_conversation(operator)


def _snapshot():
    return list(Message.objects.order_by("pk").values_list("pk", "body", "status", "read_at"))


VIEWER_PATCH = 403  # a viewer's role refuses every write before the method is looked at
# (name, method, url, body, expected for anonymous, viewer, operator, other_operator, admin)
MATRIX = [
    ("list", "get", "/", None, (401, 200, 200, 200, 200)),
    ("retrieve", "get", "/{pk}/", None, (401, 404, 200, 404, 200)),
    ("reply", "post", "/{pk}/reply/", {"body": "Yes!"}, (401, 403, 202, 404, 202)),
    ("read", "post", "/{pk}/read/", None, (401, 403, 200, 404, 200)),
    ("no-edit", "patch", "/{pk}/", {"subject": "x"}, (401, VIEWER_PATCH, 405, 405, 405)),
]


@pytest.mark.parametrize("name,method,url,body,expected", MATRIX, ids=[row[0] for row in MATRIX])
@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_role_matrix(api_for, api_with, conversation, persona, name, method, url, body, expected):
    client = api_for(persona, using=api_with)
    before = _snapshot()
    response = getattr(client, method)(API + url.format(pk=conversation.pk), body, format="json")
    want = expected[PERSONAS.index(persona)]
    assert_matrix_answer(response, want, (persona, name))
    if want == 404:
        assert_error(response, 404, "NOT_FOUND")
    if want >= 400:
        assert _snapshot() == before, "a refused request changed data"


def test_each_user_lists_only_their_own_conversations(api_as, personas, conversation):
    stored_conversation(personas["other_operator"], label="Oona's shop", buyer="paul")
    seen = {persona: [row["other_user"] for row in api_as(personas[persona]).get(f"{API}/").json()["results"]]
            for persona in ("operator", "other_operator", "viewer", "admin")}
    seen["admin"].sort()
    assert seen == {"operator": ["marie"], "other_operator": ["paul"], "viewer": [], "admin": ["marie", "paul"]}


def test_detail_has_the_messages_and_the_list_filters(api_as, operator, conversation):
    client = api_as(operator)
    body = client.get(f"{API}/{conversation.pk}/").json()
    assert body["unread_count"] == 1 and body["account_label"] == "Stored shop"
    assert [(m["body"], m["kind"], m["is_mine"], m["status"]) for m in body["messages"]] == [
        ("Is it still available?", "message", False, "sent")]
    assert "cookies" not in json.dumps(body) and "access_token" not in json.dumps(body)
    assert len(client.get(f"{API}/", {"account": conversation.account_id}).json()["results"]) == 1
    assert client.get(f"{API}/", {"unread": "false"}).json()["results"] == []
    assert "unread" in field_errors(client.get(f"{API}/", {"unread": "maybe"}))
    assert "account" in field_errors(client.get(f"{API}/", {"account": 999999}))


def test_reply_through_the_api_reaches_the_fake(api_as, fake_vinted, operator):
    account = account_on_fake(fake_vinted, operator)
    conv_id = add_conversation(fake_vinted)
    add_message(fake_vinted, conv_id, "Still available?")
    inbox.sync_account(account)
    conversation = Conversation.objects.get(vinted_id=str(conv_id))
    response = api_as(operator).post(f"{API}/{conversation.pk}/reply/", {"body": "Yes"}, format="json")
    assert response.status_code == 202, response.content
    assert (response.json()["status"], response.json()["body"]) == ("sending", "Yes")
    run_worker()
    assert replies(fake_vinted, conv_id) == ["Yes"]
    message = api_as(operator).get(f"{API}/{conversation.pk}/").json()["messages"][-1]
    assert (message["status"], message["is_mine"]) == ("sent", True) and message["vinted_id"]


@pytest.mark.parametrize("body", [{}, {"body": ""}, {"body": "   "}, {"body": "x" * (inbox.REPLY_MAX_CHARS + 1)},
                                  {"body": ["list"]}, {"body": 5}, {"body": None}, {"body": "a\x00b"}])
def test_bad_reply_bodies_are_field_errors(api_as, operator, conversation, body):
    before = _snapshot()
    assert "body" in field_errors(api_as(operator).post(f"{API}/{conversation.pk}/reply/", body, format="json"))
    assert _snapshot() == before


def test_reply_beyond_the_hourly_limit_is_a_429(settings, api_as, operator, conversation):
    settings.VINTED_WRITES_PER_HOUR = 0
    body = assert_error(api_as(operator).post(f"{API}/{conversation.pk}/reply/", {"body": "Hi"}, format="json"),
                        429, "WRITE_LIMIT_REACHED")
    assert body["error"]["details"]["retry_after_seconds"] >= 60
    assert not Message.objects.filter(is_mine=True).exists()


def test_read_marks_the_owners_messages_read(api_as, operator, admin_user, conversation):
    assert api_as(admin_user).post(f"{API}/{conversation.pk}/read/").json() == {"marked": 0}
    assert api_as(operator).post(f"{API}/{conversation.pk}/read/").json() == {"marked": 1}
    assert api_as(operator).get(f"{API}/{conversation.pk}/").json()["unread_count"] == 0


def test_schema_documents_the_inbox_endpoints(api_as, admin_user):
    schema = json.loads(api_as(admin_user).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    paths = schema["paths"]
    for path in ("/api/v1/vinted/conversations/", "/api/v1/vinted/conversations/{id}/",
                 "/api/v1/vinted/conversations/{id}/reply/", "/api/v1/vinted/conversations/{id}/read/"):
        assert path in paths, path
    reply = paths["/api/v1/vinted/conversations/{id}/reply/"]["post"]["responses"]
    assert {"202", "400", "401", "403", "404", "429"} <= set(reply)
    assert "messages" in schema["components"]["schemas"]["ConversationDetail"]["properties"]
