"""Suggestions in the conversation view: shown under the buyer's message, sent as drafted or edited,
discarded; contact details refused at the field; the role matrix on the two actions."""

from datetime import time

import pytest
from django.urls import reverse

from monitoring.models import JobRun
from tests.fakes.vinted_inbox import replies
from tests.helpers import PERSONAS, assert_answer, client_for
from tests.monitoring.worker import run_worker
from tests.vinted.replies_helpers import buyer_writes, live_account, published_listing
from vinted.choices import SuggestionStatus
from vinted.models import ReplySuggestion
from vinted.services import replies as services

pytestmark = pytest.mark.django_db


@pytest.fixture
def suggestion(fake_vinted, operator):
    account = live_account(fake_vinted, operator)
    published_listing(operator, account, size="W31")
    _, conversation = buyer_writes(fake_vinted, account, "Hi, is it still available?")
    return conversation.suggestions.get()


def _snapshot():
    return list(ReplySuggestion.objects.order_by("pk").values_list("pk", "status", "body", "reply")), \
        JobRun.objects.count()


MATRIX = [
    ("send", "vinted:suggestion_send", {"body": "Yes!"}, ("login", 403, 302, 404, 302)),
    ("discard", "vinted:suggestion_discard", {}, ("login", 403, 302, 404, 302)),
]


@pytest.mark.parametrize("name,url_name,data,expected", MATRIX, ids=[row[0] for row in MATRIX])
@pytest.mark.parametrize("persona", PERSONAS)
def test_role_matrix(client, personas, suggestion, persona, name, url_name, data, expected):
    client = client_for(client, personas, persona)
    before = _snapshot()
    response = client.post(reverse(url_name, args=[suggestion.pk]), data)
    want = expected[PERSONAS.index(persona)]
    assert_answer(response, want)
    if want != 302:
        assert _snapshot() == before, "a refused request changed data"
    else:
        suggestion.refresh_from_db()
        assert suggestion.status == (SuggestionStatus.SENT if name == "send" else SuggestionStatus.DISCARDED)


def test_the_conversation_shows_the_suggestion_under_the_message(client, operator, suggestion):
    client.force_login(operator)
    page = client.get(suggestion.conversation.get_absolute_url()).content.decode()
    assert f'id="suggestion-{suggestion.pk}"' in page and "Availability" in page
    assert "still available" in page and "W31" in page
    assert reverse("vinted:suggestion_send", args=[suggestion.pk]) in page
    assert reverse("vinted:suggestion_discard", args=[suggestion.pk]) in page


def test_get_is_not_allowed(client, operator, suggestion):
    client.force_login(operator)
    assert client.get(reverse("vinted:suggestion_send", args=[suggestion.pk])).status_code == 405


def test_sending_as_drafted_and_edited(client, fake_vinted, operator, suggestion):
    client.force_login(operator)
    response = client.post(reverse("vinted:suggestion_send", args=[suggestion.pk]), {"body": "  Yes, still here!  "},
                           follow=True)
    assert "Reply queued" in response.content.decode()
    assert f'id="suggestion-{suggestion.pk}"' not in response.content.decode()
    run_worker()
    assert replies(fake_vinted) == ["Yes, still here!"]
    suggestion.refresh_from_db()
    assert suggestion.status == SuggestionStatus.SENT and suggestion.reply.body == "Yes, still here!"


def test_sending_without_a_body_field_sends_the_draft(client, fake_vinted, operator, suggestion):
    client.force_login(operator)
    assert client.post(reverse("vinted:suggestion_send", args=[suggestion.pk])).status_code == 302
    run_worker()
    assert replies(fake_vinted) == [suggestion.body]


@pytest.mark.parametrize("body,error", [("write to me at marie@example.com", "e-mail address"),
                                        ("", "Write a message"), ("x" * 2001, "at most 2000")])
def test_bad_bodies_are_refused_at_the_field_and_keep_the_suggestion(client, fake_vinted, operator, suggestion,
                                                                     body, error):
    client.force_login(operator)
    response = client.post(reverse("vinted:suggestion_send", args=[suggestion.pk]), {"body": body})
    assert response.status_code == 400
    assert error.lower() in response.content.decode().lower()
    suggestion.refresh_from_db()
    assert suggestion.status == SuggestionStatus.PENDING and replies(fake_vinted) == []


def test_a_full_hourly_limit_answers_429(client, settings, operator, suggestion):
    settings.VINTED_WRITES_PER_HOUR = 0
    client.force_login(operator)
    response = client.post(reverse("vinted:suggestion_send", args=[suggestion.pk]), {"body": "Yes"})
    assert response.status_code == 429 and "Retry-After" in response
    assert "writes of the last hour" in response.content.decode()


def test_an_unknown_or_decided_suggestion(client, operator, suggestion):
    client.force_login(operator)
    assert client.post(reverse("vinted:suggestion_send", args=[999999]), {"body": "x"}).status_code == 404
    client.post(reverse("vinted:suggestion_discard", args=[suggestion.pk]))
    again = client.post(reverse("vinted:suggestion_discard", args=[suggestion.pk]), follow=True)
    assert "discarded already" in again.content.decode()
    sent = client.post(reverse("vinted:suggestion_send", args=[suggestion.pk]), {"body": "x"})
    assert sent.status_code == 400 and "discarded already" in sent.content.decode()


def test_an_automatic_reply_says_so_in_the_thread(client, fake_vinted, operator):
    account = live_account(fake_vinted, operator, auto_reply_intents=["availability"], night_start=time(0),
                           night_end=time(0))
    published_listing(operator, account)
    _, conversation = buyer_writes(fake_vinted, account, "Toujours dispo ?")
    scheduled = conversation.suggestions.get()
    client.force_login(operator)
    page = client.get(conversation.get_absolute_url()).content.decode()
    assert "Sends automatically at" in page
    services.send_due_replies(now=scheduled.send_at)
    run_worker()
    page = client.get(conversation.get_absolute_url()).content.decode()
    assert "Sent automatically" in page and f'id="suggestion-{scheduled.pk}"' not in page
