"""Inbox pages: the role matrix on every page and action, the reply box with errors at its field,
the unread badge and the dashboard card, marking read on opening, the account filter."""

import pytest
from django.urls import reverse

from monitoring.models import JobRun
from tests.fakes.vinted_inbox import add_conversation, add_message
from tests.helpers import PERSONAS, assert_answer, client_for
from tests.monitoring.worker import run_worker
from tests.vinted.inbox_helpers import account_on_fake
from vinted.choices import AccountStatus, MessageStatus
from vinted.models import Conversation, Message
from vinted.services import inbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(fake_vinted, operator):
    account = account_on_fake(fake_vinted, operator)
    conv_id = add_conversation(fake_vinted, buyer="marie", description="Levi's 501")
    add_message(fake_vinted, conv_id, "Is it still available?")
    add_message(fake_vinted, conv_id, "", kind="offer_request_message", price="18.0")
    add_message(fake_vinted, conv_id, "Marie paid", kind="status_message")
    inbox.sync_account(account)
    return Conversation.objects.get(vinted_id=str(conv_id))


def _snapshot():
    return list(Message.objects.order_by("pk").values_list("pk", "body", "status", "read_at"))


# (name, method, url name, uses the conversation, data, expected for anonymous, viewer, operator, other, admin)
MATRIX = [
    ("list", "get", "vinted:conversation-list", False, None, ("login", 200, 200, 200, 200)),
    ("detail", "get", "vinted:conversation-detail", True, None, ("login", 404, 200, 404, 200)),
    ("messages", "get", "vinted:conversation-messages", True, None, ("login", 404, 200, 404, 200)),
    ("reply", "post", "vinted:conversation-reply", True, {"body": "Yes!"}, ("login", 403, 302, 404, 302)),
    ("sync-now", "post", "vinted:inbox-sync", "account", {}, ("login", 403, 302, 404, 302)),
]


@pytest.mark.parametrize("name,method,url_name,one,data,expected", MATRIX, ids=[row[0] for row in MATRIX])
@pytest.mark.parametrize("persona", PERSONAS)
def test_role_matrix(client, personas, conversation, persona, name, method, url_name, one, data, expected):
    client = client_for(client, personas, persona)
    pk = conversation.account_id if one == "account" else conversation.pk
    url = reverse(url_name, args=[pk] if one else [])
    before = _snapshot(), JobRun.objects.count()
    response = client.get(url) if method == "get" else client.post(url, data)
    want = expected[PERSONAS.index(persona)]
    assert_answer(response, want)
    if want != 302 and method == "post":
        assert (_snapshot(), JobRun.objects.count()) == before, "a refused request changed data"


def test_list_shows_only_what_each_user_may_see(client, personas, conversation):
    url = reverse("vinted:conversation-list")
    for persona, sees in (("operator", True), ("admin", True), ("other_operator", False), ("viewer", False)):
        client.force_login(personas[persona])
        page = client.get(url).content.decode()
        assert ("marie" in page) is sees, persona
    client.force_login(personas["admin"])
    assert "<th scope=\"col\">Seller</th>" in client.get(url).content.decode()


def test_list_shows_buyer_item_account_and_unread_count_and_filters_by_account(
        client, fake_vinted, operator, conversation):
    other_account = account_on_fake(fake_vinted, operator, label="Second shop", user_id=5151)
    conv_id = add_conversation(fake_vinted, buyer="paul", seller_id=5151)
    add_message(fake_vinted, conv_id, "Hi")
    inbox.sync_account(other_account)
    client.force_login(operator)
    url = reverse("vinted:conversation-list")
    page = client.get(url).content.decode()
    assert "marie" in page and "paul" in page and "Levi&#x27;s 501" in page and "2 unread" in page
    only_second = client.get(url, {"account": other_account.pk}).content.decode()
    assert "paul" in only_second and "marie" not in only_second
    unread_only = client.get(url, {"unread": "true"}).content.decode()
    assert "paul" in unread_only


def test_bad_filter_values_are_field_errors(client, operator, other_operator, fake_vinted, conversation):
    foreign = account_on_fake(fake_vinted, other_operator, label="Oona's")  # not a choice for Otto
    client.force_login(operator)
    url = reverse("vinted:conversation-list")
    for params, error in (({"account": foreign.pk}, "Select a valid choice"), ({"account": "x"}, "Select a valid"),
                          ({"unread": "maybe"}, "Enter true or false.")):
        response = client.get(url, params)
        assert response.status_code == 200, params
        assert error in response.content.decode(), params
        assert "Oona&#x27;s" not in response.content.decode()


def test_opening_a_conversation_shows_kinds_distinctly_and_marks_it_read(client, operator, conversation):
    client.force_login(operator)
    assert 'id="inbox-unread-badge">2' in client.get(reverse("vinted:conversation-list")).content.decode()
    page = client.get(conversation.get_absolute_url()).content.decode()
    assert "Is it still available?" in page
    assert 'data-kind="offer_request_message"' in page and "Offer request" in page and "Offer: 18.0 EUR" in page
    assert 'data-kind="status_message"' in page and "Marie paid" in page
    assert 'name="body"' in page
    conversation.refresh_from_db()
    assert conversation.unread_count == 0
    assert "inbox-unread-badge" not in client.get(reverse("vinted:conversation-list")).content.decode()


def test_an_admin_reading_does_not_clear_the_sellers_badge(client, admin_user, conversation):
    client.force_login(admin_user)
    client.get(conversation.get_absolute_url())
    conversation.refresh_from_db()
    assert conversation.unread_count == 2


def test_reply_box_queues_the_reply_and_the_thread_shows_it_live(client, operator, conversation, fake_vinted):
    client.force_login(operator)
    response = client.post(reverse("vinted:conversation-reply", args=[conversation.pk]), {"body": "Yes, 18 is fine"},
                           follow=True)
    page = response.content.decode()
    assert "Reply queued" in page and "Yes, 18 is fine" in page and "Sending" in page
    thread_url = reverse("vinted:conversation-messages", args=[conversation.pk])
    assert f'hx-get="{thread_url}"' in page
    run_worker()
    thread = client.get(reverse("vinted:conversation-messages", args=[conversation.pk])).content.decode()
    assert "Sent" in thread and "hx-get" not in thread
    assert Message.objects.get(body="Yes, 18 is fine").status == MessageStatus.SENT


@pytest.mark.parametrize("body,error", [("", "Write a message before sending."),
                                        ("x" * (inbox.REPLY_MAX_CHARS + 1), "at most")])
def test_bad_reply_is_a_400_with_the_error_at_the_field(client, operator, conversation, body, error):
    client.force_login(operator)
    before = _snapshot()
    response = client.post(reverse("vinted:conversation-reply", args=[conversation.pk]), {"body": body})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_body_error"' in page and error.lower() in page.lower()
    assert _snapshot() == before


def test_reply_beyond_the_hourly_limit_is_a_429_that_keeps_the_text(settings, client, operator, conversation):
    settings.VINTED_WRITES_PER_HOUR = 0
    client.force_login(operator)
    response = client.post(reverse("vinted:conversation-reply", args=[conversation.pk]), {"body": "Still here?"})
    assert response.status_code == 429 and int(response["Retry-After"]) >= 60
    page = response.content.decode()
    assert "writes of the last hour" in page and "Still here?</textarea>" in page
    assert not Message.objects.filter(is_mine=True).exists()


def test_dashboard_card_tells_the_seller_about_new_messages(client, operator, other_operator, conversation):
    client.force_login(operator)
    page = client.get("/").content.decode()
    assert 'id="dashboard-inbox"' in page and "unread Vinted messages" in page
    client.force_login(other_operator)  # no Vinted account: no inbox card
    assert 'id="dashboard-inbox"' not in client.get("/").content.decode()


def test_sync_now_queues_one_job_and_says_so(client, operator, conversation, fake_vinted):
    add_message(fake_vinted, int(conversation.vinted_id), "One more thing")
    client.force_login(operator)
    url = reverse("vinted:inbox-sync", args=[conversation.account_id])
    assert "Sync Main shop now" in client.get(reverse("vinted:conversation-list")).content.decode()
    assert "in the background" in client.post(url, follow=True).content.decode()
    assert "already on its way" in client.post(url, follow=True).content.decode()
    assert JobRun.objects.filter(name="vinted.sync_inbox").count() == 1
    run_worker()
    assert conversation.messages.filter(body="One more thing").exists()


def test_sync_now_of_an_account_that_needs_login_says_what_to_do(client, operator, conversation):
    account = conversation.account
    account.status, account.status_message = AccountStatus.NEEDS_LOGIN, "Import a new session first."
    account.save()
    client.force_login(operator)
    page = client.post(reverse("vinted:inbox-sync", args=[account.pk]), follow=True).content.decode()
    assert "Import a new session first." in page
    assert not JobRun.objects.filter(name="vinted.sync_inbox").exists()
