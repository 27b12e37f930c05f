"""A Vinted session's secrets never leak: a session is imported from the fake Vinted site (through
the page and through the API), and the cookie VALUES and the user agent are searched for in every
API answer, the account pages, the admin pages, the logs, the event log, `dumpdata vinted`, `manage.py
backup export` and the database column itself. Each search also checks that it looked at something
real (the account's label is there), so that it cannot pass by looking at an empty answer."""

import io
import json
import logging
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from monitoring.models import Event
from vinted.choices import AccountStatus
from vinted.models import VintedAccount, VintedCall

pytestmark = pytest.mark.django_db
API = "/api/v1/vinted/accounts"
LABEL = "Otto's shop"


@pytest.fixture
def secrets(fake_vinted):
    """The cookie values a seller pastes (each one searched for), and a user agent."""
    cookies = fake_vinted.add_session(login="otto-sells")
    cookies["v_sid"] = f"sid-{uuid.uuid4().hex}"
    user_agent = f"Mozilla/5.0 (SecretBrowser {uuid.uuid4().hex})"
    values = [value for name, value in cookies.items() if name != "v_uid"]  # v_uid is Vinted's public user id
    return {"cookies": cookies, "user_agent": user_agent, "values": [*values, user_agent]}


def assert_clean(text: str, secrets, where: str, *, expect: str | None = LABEL):
    if expect is not None:
        assert expect in text, f"{where}: the search did not look at the account ({expect!r} missing)"
    for value in secrets["values"]:
        assert value not in text, f"{where} contains a secret"


def cookie_header(cookies: dict) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


@pytest.fixture
def imported(api_as, operator, secrets, django_capture_on_commit_callbacks):
    """An account whose session was imported through the API, checked once more, with calls in the ledger."""
    client = api_as(operator)
    answers = {}
    with django_capture_on_commit_callbacks(execute=True):
        answers["create"] = client.post(f"{API}/", {"label": LABEL, "domain": "vinted.fr"}, format="json")
        pk = answers["create"].json()["id"]
        answers["session"] = client.post(f"{API}/{pk}/session/", {
            "session": cookie_header(secrets["cookies"]), "user_agent": secrets["user_agent"]}, format="json")
        answers["check"] = client.post(f"{API}/{pk}/check/")
    account = VintedAccount.objects.get(pk=pk)
    assert account.status == AccountStatus.ACTIVE, account.status_message
    assert json.loads(account.cookies) == secrets["cookies"]  # stored, and readable by the product
    assert str(account.user_agent) == secrets["user_agent"]
    assert VintedCall.objects.filter(account=account).count() == 2
    return account, client, answers


def test_no_api_answer_contains_the_session(imported, secrets, api_as, admin_user):
    account, client, answers = imported
    answers["list"] = client.get(f"{API}/")
    answers["detail"] = client.get(f"{API}/{account.pk}/")
    answers["ledger"] = client.get(f"{API}/{account.pk}/ledger/")
    answers["edit"] = client.patch(f"{API}/{account.pk}/", {"label": LABEL}, format="json")
    answers["admin list"] = api_as(admin_user).get(f"{API}/")
    answers["admin dry run"] = api_as(admin_user).patch(f"{API}/{account.pk}/", {"dry_run": True}, format="json")
    for name, response in answers.items():
        assert response.status_code in (200, 201), (name, response.status_code)
        expect = None if name == "ledger" else LABEL
        assert_clean(response.content.decode(), secrets, f"API {name}", expect=expect)
    assert "session-check" in answers["ledger"].content.decode()
    # A refused session that carries the secrets is not echoed back in the error either.
    refused = client.post(f"{API}/{account.pk}/session/", {"session": json.dumps(secrets["cookies"])[:-1],
                                                           "user_agent": secrets["user_agent"]}, format="json")
    assert refused.status_code == 400
    assert_clean(refused.content.decode(), secrets, "API refused session", expect="does not parse")


def test_no_account_page_contains_the_session(imported, secrets, client, operator, admin_user):
    account, _, _ = imported
    for user in (operator, admin_user):
        client.force_login(user)
        for name in ("vinted:account-list", "vinted:account-detail", "vinted:account-update", "vinted:account-session"):
            url = reverse(name, args=[] if name == "vinted:account-list" else [account.pk])
            response = client.get(url)
            assert response.status_code == 200, (name, response.status_code)
            expect = "Otto&#x27;s shop"
            assert_clean(response.content.decode(), secrets, f"page {name}", expect=expect)
    # A paste the form refuses is not rendered back, nor is the user agent.
    client.force_login(operator)
    response = client.post(reverse("vinted:account-session", args=[account.pk]),
                           {"session": json.dumps(secrets["cookies"])[:-1], "user_agent": secrets["user_agent"]})
    assert response.status_code == 400
    assert_clean(response.content.decode(), secrets, "refused session form", expect="does not parse")


def test_no_admin_page_contains_the_session(imported, secrets, client, admin_user):
    account, _, _ = imported
    call = VintedCall.objects.filter(account=account).first()
    client.force_login(admin_user)
    pages = {
        "account changelist": reverse("admin:vinted_vintedaccount_changelist"),
        "account change": reverse("admin:vinted_vintedaccount_change", args=[account.pk]),
        "account history": reverse("admin:vinted_vintedaccount_history", args=[account.pk]),
        "call changelist": reverse("admin:vinted_vintedcall_changelist"),
        "call change": reverse("admin:vinted_vintedcall_change", args=[call.pk]),
    }
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        assert_clean(response.content.decode(), secrets, f"admin {name}",
                     expect="Otto&#x27;s shop" if "history" not in name else None)
    # Not even their ciphertext: the fields are not on the page at all.
    page = client.get(pages["account change"]).content.decode()
    assert 'name="cookies"' not in page and "user_agent" not in page and "Cookies" not in page


def test_logs_and_events_do_not_contain_the_session(api_as, operator, secrets, fake_vinted, caplog,
                                                    django_capture_on_commit_callbacks):
    caplog.set_level(logging.DEBUG)
    client = api_as(operator)
    with django_capture_on_commit_callbacks(execute=True):
        pk = client.post(f"{API}/", {"label": LABEL, "domain": "vinted.fr"}, format="json").json()["id"]
        client.post(f"{API}/{pk}/session/", {"session": cookie_header(secrets["cookies"]),
                                             "user_agent": secrets["user_agent"]}, format="json")
        fake_vinted.expire_session(secrets["cookies"]["access_token_web"])
        client.post(f"{API}/{pk}/check/")  # a refused session is logged too
        client.post(f"{API}/{pk}/session/", {"session": "{" + secrets["cookies"]["access_token_web"]}, format="json")
    assert VintedAccount.objects.get(pk=pk).status == AccountStatus.NEEDS_LOGIN
    logged = "\n".join(f"{record.name} {record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert_clean(logged, secrets, "logs", expect="account.session_imported")
    events = json.dumps(list(Event.objects.values()), default=str)
    assert_clean(events, secrets, "events", expect="account.session_imported")
    assert "access_token_web" in events  # the event names the cookies it got, not their values


def test_exports_and_the_database_hold_only_ciphertext(imported, secrets, admin_user):
    account, _, _ = imported
    out = io.StringIO()
    call_command("dumpdata", "vinted", stdout=out)
    assert_clean(out.getvalue(), secrets, "dumpdata vinted")

    out = io.StringIO()
    call_command("backup", "export", "--models", "vinted", stdout=out)
    assert_clean(out.getvalue(), secrets, "backup export (json)")
    out = io.StringIO()
    call_command("backup", "export", stdout=out)
    assert_clean(out.getvalue(), secrets, "backup export (json, every app)")

    with connection.cursor() as cursor:
        cursor.execute("SELECT label, cookies, user_agent FROM vinted_vintedaccount WHERE id = %s", [account.pk])
        label, cookies, user_agent = cursor.fetchone()
    assert label == LABEL and cookies and user_agent
    assert_clean(f"{cookies} {user_agent}", secrets, "database columns", expect=None)


@pytest.mark.django_db(transaction=True)  # the SQL dump reads on a connection of its own: committed rows
def test_the_sql_export_holds_only_ciphertext(imported, secrets, admin_user):
    out = io.StringIO()
    try:
        call_command("backup", "export", "--format", "sql", "--models", "vinted", stdout=out)
    except CommandError as exc:
        if connection.vendor != "postgresql":
            raise
        pytest.skip(f"pg_dump cannot run here: {exc}")
    # SQLite's dump quotes the label as an SQL literal; pg_dump writes COPY rows as they are.
    label = LABEL.replace("'", "''") if connection.vendor == "sqlite" else LABEL
    assert_clean(out.getvalue(), secrets, "backup export (sql)", expect=label)


def test_error_reports_hide_the_pasted_session(client, api_as, operator, secrets):
    """Django's error reports (a 500's log or mail) print the POST: the session and user agent are masked."""
    from django.views.debug import SafeExceptionReporterFilter

    account = VintedAccount.objects.create(owner=operator, label=LABEL)
    client.force_login(operator)
    paste = {"session": "{" + secrets["cookies"]["access_token_web"], "user_agent": secrets["user_agent"]}
    page = client.post(reverse("vinted:account-session", args=[account.pk]), paste)
    api = api_as(operator).post(f"{API}/{account.pk}/session/", paste, format="multipart")
    for name, response in (("page", page), ("api", api)):
        assert response.status_code == 400, name
        shown = SafeExceptionReporterFilter().get_post_parameters(response.wsgi_request)
        assert shown["session"] == shown["user_agent"] == SafeExceptionReporterFilter.cleansed_substitute, name
