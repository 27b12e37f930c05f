"""/api/v1/vinted/accounts/: the role matrix (JWT and personal token) on every endpoint, write-only
session import checked against the fake Vinted site, bad sessions refused at the field with nothing
changed, dry_run for admins only, delete refused while publications refer to the account, the
ledger with its summary and paginated calls, and the schema documenting every answer."""

import pytest

from tests.api_helpers import assert_error, assert_matrix_answer, field_errors
from tests.factories import ListingFactory
from tests.helpers import API_PERSONAS, PERSONAS
from vinted.choices import AccountStatus, CallKind, CallOutcome
from vinted.models import Publication, VintedAccount, VintedCall

pytestmark = pytest.mark.django_db
API = "/api/v1/vinted/accounts"


def cookie_header(cookies: dict) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


@pytest.fixture
def account(operator):
    return VintedAccount.objects.create(owner=operator, label="Otto's shop", domain="vinted.fr")


def _snapshot():
    return list(VintedAccount.objects.order_by("pk").values_list(
        "pk", "label", "domain", "status", "dry_run", "cookies", "user_agent", "last_checked_at"))


# (name, method, url, body, expected for anonymous, viewer, operator, other_operator, admin)
MATRIX = [
    ("list", "get", "/", None, (401, 200, 200, 200, 200)),
    ("retrieve", "get", "/{pk}/", None, (401, 404, 200, 404, 200)),
    ("ledger", "get", "/{pk}/ledger/", None, (401, 404, 200, 404, 200)),
    ("create", "post", "/", {"label": "New one", "domain": "vinted.de"}, (401, 403, 201, 201, 201)),
    ("edit", "patch", "/{pk}/", {"label": "Changed"}, (401, 403, 200, 404, 200)),
    ("dry-run", "patch", "/{pk}/", {"dry_run": False}, (401, 403, 403, 404, 200)),
    ("session", "post", "/{pk}/session/", "session", (401, 403, 200, 404, 200)),
    ("check", "post", "/{pk}/check/", None, (401, 403, 200, 404, 200)),
    ("delete", "delete", "/{pk}/", None, (401, 403, 204, 404, 204)),
]


@pytest.mark.parametrize("name,method,url,body,expected", MATRIX, ids=[row[0] for row in MATRIX])
@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_role_matrix(request, api_for, api_with, account, persona, name, method, url, body, expected):
    client = api_for(persona, using=api_with)
    if name in ("session", "check"):
        fake = request.getfixturevalue("fake_vinted")
        if body == "session":
            body = {"session": cookie_header(fake.add_session())}
    before = _snapshot()
    response = getattr(client, method)(API + url.format(pk=account.pk), body, format="json")
    want = expected[PERSONAS.index(persona)]
    assert_matrix_answer(response, want, (persona, name))
    if want == 404:
        assert_error(response, 404, "NOT_FOUND")
    if want >= 400:
        assert _snapshot() == before, "a refused request changed data"
    if want == 200 and name == "dry-run":
        assert response.json()["dry_run"] is False
    if want == 200 and name == "session":
        assert response.json()["status"] == AccountStatus.ACTIVE and response.json()["has_session"] is True


def test_lists_only_ones_own_accounts_and_an_admin_sees_all(api_as, operator, other_operator, admin_user, account):
    VintedAccount.objects.create(owner=other_operator, label="Oona's shop")
    assert [row["label"] for row in api_as(other_operator).get(f"{API}/").json()["results"]] == ["Oona's shop"]
    assert {row["label"] for row in api_as(admin_user).get(f"{API}/").json()["results"]} == {
        "Oona's shop", "Otto's shop"}


def test_create_starts_in_dry_run_without_a_session(api_as, operator):
    response = api_as(operator).post(f"{API}/", {"label": "Main", "domain": "vinted.co.uk"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert response["Location"] == body["url"]
    assert (body["dry_run"], body["has_session"], body["status"], body["owner"]) == (
        True, False, AccountStatus.NEEDS_LOGIN, "otto")
    assert "cookies" not in body and "user_agent" not in body
    assert "Import a session" in body["what_to_do"]


@pytest.mark.parametrize("payload,field", [
    ({"label": "", "domain": "vinted.fr"}, "label"),
    ({"label": 12, "domain": "vinted.fr"}, "label"),
    ({"label": "X", "domain": "vinted.example"}, "domain"),
    ({"label": "otto's SHOP", "domain": "vinted.fr"}, "label"),  # taken, whatever the case
    ({"domain": "vinted.fr"}, "label"),
])
def test_create_refuses_bad_input_at_the_field(api_as, operator, account, payload, field):
    assert field in field_errors(api_as(operator).post(f"{API}/", payload, format="json"))
    assert VintedAccount.objects.count() == 1


def test_session_import_answers_the_checked_account_and_never_the_secret(api_as, operator, account, fake_vinted):
    cookies = fake_vinted.add_session(login="otto-sells")
    response = api_as(operator).post(f"{API}/{account.pk}/session/", {
        "session": cookie_header(cookies), "user_agent": "Mozilla/5.0 (OttoBrowser)"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["vinted_login"], body["has_session"]) == (AccountStatus.ACTIVE, "otto-sells", True)
    assert body["last_checked_at"] and body["session_imported_at"]
    assert cookies["access_token_web"] not in response.content.decode()
    assert "OttoBrowser" not in response.content.decode()


@pytest.mark.parametrize("session,message", [
    ("", "Paste the Cookie header"),
    ("   ", "Paste the Cookie header"),
    ("garbage without cookies", "No access_token_web cookie"),
    ('{"access_token_web": ', "does not parse"),
    ("access_token_web=" + "x" * 70_000, "longer than 64 KB"),
    (12345, "Not a valid string."),
])
def test_a_bad_session_is_a_400_at_the_field_and_the_old_session_stays(api_as, operator, account, fake_vinted,
                                                                     session, message):
    client = api_as(operator)
    assert client.post(f"{API}/{account.pk}/session/",
                       {"session": cookie_header(fake_vinted.add_session())}, format="json").status_code == 200
    before = _snapshot()
    response = client.post(f"{API}/{account.pk}/session/", {"session": session, "user_agent": "Agent/1"},
                           format="json")
    assert message in " ".join(field_errors(response)["session"])
    assert _snapshot() == before


def test_a_session_that_vinted_refuses_is_saved_and_says_to_sign_in_again(api_as, operator, account, fake_vinted):
    response = api_as(operator).post(f"{API}/{account.pk}/session/",
                                     {"session": "access_token_web=not-a-real-one; anon_id=x"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == AccountStatus.NEEDS_LOGIN
    assert "sign in again" in response.json()["what_to_do"]


def test_check_when_vinted_does_not_answer_is_a_503_envelope(api_as, operator, account, fake_vinted):
    client = api_as(operator)
    client.post(f"{API}/{account.pk}/session/", {"session": cookie_header(fake_vinted.add_session())}, format="json")
    fake_vinted.fail_next("server_error")
    assert_error(client.post(f"{API}/{account.pk}/check/"), 503, "VINTED_UNAVAILABLE")
    assert VintedAccount.objects.get(pk=account.pk).status == AccountStatus.ACTIVE


def test_check_after_the_session_expired(api_as, operator, account, fake_vinted):
    client = api_as(operator)
    cookies = fake_vinted.add_session()
    client.post(f"{API}/{account.pk}/session/", {"session": cookie_header(cookies)}, format="json")
    fake_vinted.expire_session(cookies["access_token_web"])
    body = client.post(f"{API}/{account.pk}/check/").json()
    assert body["status"] == AccountStatus.NEEDS_LOGIN


def test_dry_run_by_an_operator_is_refused_and_nothing_of_the_patch_is_saved(api_as, operator, account):
    response = api_as(operator).patch(f"{API}/{account.pk}/", {"label": "Sneaky", "dry_run": False}, format="json")
    assert_error(response, 403, "PERMISSION_DENIED")
    account.refresh_from_db()
    assert (account.label, account.dry_run) == ("Otto's shop", True)


def test_an_admin_turns_dry_run_off_and_on(api_as, admin_user, account):
    client = api_as(admin_user)
    assert client.patch(f"{API}/{account.pk}/", {"dry_run": False}, format="json").json()["dry_run"] is False
    assert client.patch(f"{API}/{account.pk}/", {"dry_run": True}, format="json").json()["dry_run"] is True
    assert "dry_run" in field_errors(client.patch(f"{API}/{account.pk}/", {"dry_run": "no"}, format="json"))


def test_delete_is_a_409_while_publications_refer_to_the_account(api_as, operator, account):
    Publication.objects.create(owner=operator, listing=ListingFactory(owner=operator), account=account)
    assert_error(api_as(operator).delete(f"{API}/{account.pk}/"), 409, "CONFLICT")
    assert VintedAccount.objects.filter(pk=account.pk).exists()


def test_the_ledger_has_the_summary_and_pages_through_the_calls(api_as, operator, account, settings):
    settings.VINTED_WRITES_PER_HOUR = 20
    for n in range(3):
        VintedCall.objects.create(account=account, kind=CallKind.READ, action="inbox", what=f"GET /inbox?{n}",
                                  status_code=200, outcome=CallOutcome.OK)
    VintedCall.objects.create(account=account, kind=CallKind.WRITE, action="reply", what="POST /reply",
                              status_code=429, outcome=CallOutcome.RATE_LIMITED)
    body = api_as(operator).get(f"{API}/{account.pk}/ledger/?limit=2").json()
    assert body["summary"] == {"hours": 24, "reads": 3, "writes": 1, "errors": 1, "blocks": 0,
                               "writes_last_hour": 1, "write_limit": 20, "writes_left": 19,
                               "limit_frees_in_seconds": body["summary"]["limit_frees_in_seconds"]}
    assert body["count"] == 4 and len(body["calls"]) == 2 and body["next"] and body["previous"] is None
    assert body["calls"][0]["what"] == "POST /reply"
    assert field_errors(api_as(operator).get(f"{API}/{account.pk}/ledger/?limit=abc")) == {
        "limit": ["A whole number of at least 1 is required."]}


def test_schema_documents_every_account_answer(api_as, admin_user):
    schema = api_as(admin_user).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths[f"{API}/"])
    assert {"get", "patch", "delete"} <= set(paths[f"{API}/{{id}}/"])
    assert "put" not in paths[f"{API}/{{id}}/"]
    assert {"200", "400", "401", "403", "404", "503"} <= set(paths[f"{API}/{{id}}/session/"]["post"]["responses"])
    assert "503" in paths[f"{API}/{{id}}/check/"]["post"]["responses"]
    assert "409" in paths[f"{API}/{{id}}/"]["delete"]["responses"]
    assert {"200", "400", "404"} <= set(paths[f"{API}/{{id}}/ledger/"]["get"]["responses"])
    account = schema["components"]["schemas"]["VintedAccount"]["properties"]
    assert "has_session" in account and "cookies" not in account and "user_agent" not in account
    session = schema["components"]["schemas"]["SessionImportRequest"]["properties"]
    assert set(session) == {"session", "user_agent"}
