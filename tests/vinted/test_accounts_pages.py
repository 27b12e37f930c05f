"""Vinted account pages: the role matrix on every page and action, session import against the fake
Vinted site (the pasted value never rendered back), check now, the admins' dry-run switch, delete
refused while publications refer to the account, the ledger's cards and recent calls."""

import pytest
from django.urls import reverse

from monitoring.models import Event
from tests.factories import ListingFactory
from tests.helpers import PERSONAS, assert_answer, client_for
from vinted.choices import AccountStatus, CallKind, CallOutcome
from vinted.models import Publication, VintedAccount, VintedCall

pytestmark = pytest.mark.django_db


def cookie_header(cookies: dict) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


@pytest.fixture
def account(operator):
    return VintedAccount.objects.create(owner=operator, label="Otto's shop", domain="vinted.fr")


def _snapshot():
    return list(VintedAccount.objects.order_by("pk").values_list(
        "pk", "label", "domain", "status", "dry_run", "cookies", "last_checked_at"))


# (name, method, url name, about the account, data, expected for anonymous, viewer, operator, other, admin)
MATRIX = [
    ("list", "get", "vinted:account-list", False, None, ("login", 200, 200, 200, 200)),
    ("create-form", "get", "vinted:account-create", False, None, ("login", 403, 200, 200, 200)),
    ("create", "post", "vinted:account-create", False, {"label": "Second", "domain": "vinted.de"},
     ("login", 403, 302, 302, 302)),
    ("detail", "get", "vinted:account-detail", True, None, ("login", 404, 200, 404, 200)),
    ("edit-form", "get", "vinted:account-update", True, None, ("login", 403, 200, 404, 200)),
    ("edit", "post", "vinted:account-update", True, {"label": "Renamed", "domain": "vinted.fr"},
     ("login", 403, 302, 404, 302)),
    ("session-form", "get", "vinted:account-session", True, None, ("login", 403, 200, 404, 200)),
    ("session", "post", "vinted:account-session", True, "session", ("login", 403, 302, 404, 302)),
    ("check", "post", "vinted:account-check", True, {}, ("login", 403, 302, 404, 302)),
    ("dry-run", "post", "vinted:account-dry-run", True, {"dry_run": "off"}, ("login", 403, 403, 403, 302)),
    ("delete", "post", "vinted:account-delete", True, {}, ("login", 403, 302, 404, 302)),
]


@pytest.mark.parametrize("name,method,url_name,one,data,expected", MATRIX, ids=[row[0] for row in MATRIX])
@pytest.mark.parametrize("persona", PERSONAS)
def test_role_matrix(request, client, personas, account, persona, name, method, url_name, one, data, expected):
    client = client_for(client, personas, persona)
    if data == "session" or name == "check":
        fake = request.getfixturevalue("fake_vinted")
        if data == "session":
            data = {"session": cookie_header(fake.add_session())}
    url = reverse(url_name, args=[account.pk] if one else [])
    before = _snapshot()
    response = client.get(url) if method == "get" else client.post(url, data)
    want = expected[PERSONAS.index(persona)]
    assert_answer(response, want)
    if want != 302 and method == "post":
        assert _snapshot() == before, "a refused request changed data"
    if want == 302 and name == "edit":
        assert VintedAccount.objects.get(pk=account.pk).label == "Renamed"
    if want == 302 and name == "delete":
        assert not VintedAccount.objects.filter(pk=account.pk).exists()
    if want == 302 and name == "dry-run":
        assert VintedAccount.objects.get(pk=account.pk).dry_run is False


def test_each_user_lists_only_their_own_accounts_and_an_admin_sees_all(client, operator, other_operator,
                                                                       admin_user, account):
    VintedAccount.objects.create(owner=other_operator, label="Oona's shop")
    client.force_login(other_operator)
    page = client.get(reverse("vinted:account-list")).content.decode()
    assert "Oona&#x27;s shop" in page and "Otto&#x27;s shop" not in page
    client.force_login(admin_user)
    page = client.get(reverse("vinted:account-list")).content.decode()
    assert "Oona&#x27;s shop" in page and "Otto&#x27;s shop" in page and "Seller" in page


def test_add_an_account_starts_without_session_in_dry_run_and_leads_to_the_import(client, operator):
    client.force_login(operator)
    response = client.post(reverse("vinted:account-create"), {"label": "Main", "domain": "vinted.co.uk"})
    account = VintedAccount.objects.get(owner=operator, label="Main")
    assert response["Location"] == reverse("vinted:account-session", args=[account.pk])
    assert account.dry_run is True and account.status == AccountStatus.NEEDS_LOGIN and not account.has_session
    page = client.get(account.get_absolute_url()).content.decode()
    assert "Import a session" in page and "Dry run" in page


def test_add_form_errors_at_their_fields(client, operator, account):
    client.force_login(operator)
    response = client.post(reverse("vinted:account-create"), {"label": "otto's SHOP", "domain": "vinted.fr"})
    assert response.status_code == 400
    assert "already have a Vinted account with this label" in response.content.decode()
    response = client.post(reverse("vinted:account-create"), {"label": "", "domain": "vinted.example"})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"label", "domain"}
    assert VintedAccount.objects.count() == 1


def test_import_a_session_checks_it_and_shows_the_vinted_login(client, operator, account, fake_vinted):
    client.force_login(operator)
    cookies = fake_vinted.add_session(login="otto-sells")
    response = client.post(reverse("vinted:account-session", args=[account.pk]),
                           {"session": cookie_header(cookies), "user_agent": "Mozilla/5.0 (OttoBrowser)"},
                           follow=True)
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE and account.vinted_login == "otto-sells"
    assert account.session_imported_at and account.last_checked_at
    page = response.content.decode()
    assert "signed in as otto-sells" in page
    assert cookies["access_token_web"] not in page
    # The check went to Vinted with the pasted cookies and user agent, and is in the ledger.
    seen = fake_vinted.requests_to(r"/api/v2/users/current")[-1]
    assert seen.cookies["access_token_web"] == cookies["access_token_web"]
    assert seen.headers["user-agent"] == "Mozilla/5.0 (OttoBrowser)"
    assert VintedCall.objects.filter(account=account, action="session-check", outcome=CallOutcome.OK).count() == 1


def test_a_browser_cookie_export_in_json_is_accepted(client, operator, account, fake_vinted):
    import json

    client.force_login(operator)
    cookies = fake_vinted.add_session()
    export = json.dumps([{"name": k, "value": v, "domain": ".vinted.fr"} for k, v in cookies.items()])
    client.post(reverse("vinted:account-session", args=[account.pk]), {"session": export})
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert json.loads(account.cookies) == cookies  # the others are kept too


@pytest.mark.parametrize("pasted,message", [
    ("", "This field is required."),
    ("not a cookie at all", "No access_token_web cookie"),
    ("[{\"name\": broken", "does not parse"),
    ("access_token_web=" + "x" * 70_000, "longer than 64 KB"),
])
def test_a_bad_session_is_a_400_at_the_field_and_the_paste_is_not_shown_back(client, operator, account,
                                                                             fake_vinted, pasted, message):
    client.force_login(operator)
    good = fake_vinted.add_session()
    client.post(reverse("vinted:account-session", args=[account.pk]), {"session": cookie_header(good)})
    before = _snapshot()

    response = client.post(reverse("vinted:account-session", args=[account.pk]),
                           {"session": pasted, "user_agent": "SecretAgent/9.9"})
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["session"])
    page = response.content.decode()
    if pasted:
        assert pasted[:40] not in page
    assert "SecretAgent/9.9" not in page
    assert _snapshot() == before  # the working session is kept


def test_check_now_with_an_expired_session_says_to_sign_in_again(client, operator, account, fake_vinted):
    client.force_login(operator)
    cookies = fake_vinted.add_session()
    client.post(reverse("vinted:account-session", args=[account.pk]), {"session": cookie_header(cookies)})
    fake_vinted.expire_session(cookies["access_token_web"])

    page = client.post(reverse("vinted:account-check", args=[account.pk]), follow=True).content.decode()
    account.refresh_from_db()
    assert account.status == AccountStatus.NEEDS_LOGIN
    assert "sign in again in your browser and import the new cookies" in page
    assert VintedCall.objects.filter(account=account, outcome=CallOutcome.NEEDS_LOGIN).exists()


def test_check_now_when_vinted_does_not_answer_keeps_the_account(client, operator, account, fake_vinted):
    client.force_login(operator)
    client.post(reverse("vinted:account-session", args=[account.pk]),
                {"session": cookie_header(fake_vinted.add_session())})
    fake_vinted.fail_next("server_error")

    response = client.post(reverse("vinted:account-check", args=[account.pk]), follow=True)
    assert response.status_code == 200
    assert "Vinted did not answer the check" in response.content.decode()
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE


def test_editing_the_site_forgets_the_session(client, operator, account, fake_vinted):
    client.force_login(operator)
    client.post(reverse("vinted:account-session", args=[account.pk]),
                {"session": cookie_header(fake_vinted.add_session())})
    client.post(reverse("vinted:account-update", args=[account.pk]), {"label": "Otto DE", "domain": "vinted.de"})
    account.refresh_from_db()
    assert (account.label, account.domain, account.has_session, account.status) == (
        "Otto DE", "vinted.de", False, AccountStatus.NEEDS_LOGIN)


def test_only_an_admin_sees_and_uses_the_dry_run_switch(client, operator, admin_user, account,
                                                         django_capture_on_commit_callbacks):
    client.force_login(operator)
    assert "Turn dry run off" not in client.get(account.get_absolute_url()).content.decode()

    client.force_login(admin_user)
    assert "Turn dry run off" in client.get(account.get_absolute_url()).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("vinted:account-dry-run", args=[account.pk]), {"dry_run": "off"})
    account.refresh_from_db()
    assert account.dry_run is False
    assert Event.objects.filter(kind="account.dry_run", user=admin_user).exists()
    response = client.post(reverse("vinted:account-dry-run", args=[account.pk]), {"dry_run": "maybe"}, follow=True)
    assert "Say whether dry run should be on or off." in response.content.decode()
    client.post(reverse("vinted:account-dry-run", args=[account.pk]), {"dry_run": "on"})
    account.refresh_from_db()
    assert account.dry_run is True


def test_delete_is_refused_while_publications_refer_to_the_account(client, operator, account):
    listing = ListingFactory(owner=operator)
    Publication.objects.create(owner=operator, listing=listing, account=account)
    client.force_login(operator)
    response = client.post(reverse("vinted:account-delete", args=[account.pk]), follow=True)
    assert "1 publication: it cannot be deleted" in response.content.decode()
    assert VintedAccount.objects.filter(pk=account.pk).exists()


def test_the_page_shows_the_ledger_cards_and_pages_through_the_recent_calls(client, operator, account, settings):
    settings.VINTED_WRITES_PER_HOUR = 20
    for n in range(30):
        VintedCall.objects.create(account=account, kind=CallKind.READ, action="inbox", what=f"GET /api/v2/inbox?p={n}",
                                  status_code=200, outcome=CallOutcome.OK)
    VintedCall.objects.create(account=account, kind=CallKind.WRITE, action="reply", what="POST /reply",
                              status_code=403, outcome=CallOutcome.BLOCKED, message="Blocked by DataDome")
    client.force_login(operator)
    response = client.get(account.get_absolute_url())
    ledger = response.context["ledger"]
    assert (ledger["reads"], ledger["writes"], ledger["blocks"], ledger["writes_left"]) == (30, 1, 1, 19)
    page = response.content.decode()
    assert "19 / 20" in page and "POST /reply" in page and "Blocked by DataDome" in page
    assert "Page 1 of 2" in page
    second = client.get(account.get_absolute_url() + "?page=2").content.decode()
    assert "GET /api/v2/inbox?p=0" in second and "POST /reply" not in second


@pytest.mark.parametrize("seconds,text", [(0, "now"), (None, "now"), (0.4, "now"), (45, "45 s"), (60, "1 min"),
                                          (61, "2 min"), (3599.5, "60 min")])
def test_the_wait_until_the_hourly_limit_frees_up_reads_as_a_person_says_it(seconds, text):
    from vinted.views.accounts import wait_text

    assert wait_text(seconds) == text


@pytest.mark.parametrize("status,has_session,dry_run,says", [
    (AccountStatus.NEEDS_LOGIN, False, True, "Import a session: sign in to Vinted"),
    (AccountStatus.NEEDS_LOGIN, True, True, "sign in again in your browser"),
    (AccountStatus.COOLING_DOWN, False, True, "nothing is sent for this account"),  # a new session would not help
    (AccountStatus.BLOCKED, True, True, "ask an admin to unblock the account"),
    (AccountStatus.ACTIVE, True, True, "Dry run is on"),
    (AccountStatus.ACTIVE, True, False, "publishing and inbox sync run for this account"),
])
def test_the_page_says_what_to_do_now(client, operator, account, status, has_session, dry_run, says):
    VintedAccount.objects.filter(pk=account.pk).update(status=status, dry_run=dry_run)
    if has_session:
        account.cookies = '{"access_token_web": "t"}'
        account.save(update_fields=["cookies"])
    client.force_login(operator)
    assert says in client.get(account.get_absolute_url()).content.decode()
