"""/api/v1/vinted/reposts/: the role matrix (JWT and personal token), filters, cancel, retry, the preview
(writes nothing, says when reposts are off, bad input is a 400) and the schema."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.models import JobRun
from tests.api_helpers import assert_error, assert_matrix_answer, field_errors
from tests.helpers import API_PERSONAS, PERSONAS
from tests.vinted.test_reposts import live_listing, repost_account
from vinted.choices import RepostStatus
from vinted.models import AutomationSettings, Repost

pytestmark = pytest.mark.django_db
API = "/api/v1/vinted/reposts"


@pytest.fixture
def repost(operator):
    account = repost_account(operator)
    listing = live_listing(account, now=timezone.now())
    return Repost.objects.create(account=account, listing=listing, scheduled_for=timezone.now() + timedelta(hours=3))


def _snapshot():
    return (list(Repost.objects.order_by("pk").values_list("pk", "status", "error")), JobRun.objects.count(),
            AutomationSettings.objects.count())


VIEWER_WRITE = 403  # a viewer's role refuses every write before the object is looked at
# (name, method, url, expected for anonymous, viewer, operator, other_operator, admin)
MATRIX = [
    ("list", "get", "/", (401, 200, 200, 200, 200)),
    ("retrieve", "get", "/{pk}/", (401, 404, 200, 404, 200)),
    ("preview", "get", "/preview/?account={account}", (401, 404, 200, 404, 200)),
    ("cancel", "post", "/{pk}/cancel/", (401, VIEWER_WRITE, 200, 404, 200)),
    ("retry", "post", "/{pk}/retry/", (401, VIEWER_WRITE, 400, 404, 400)),  # not failed: nothing to retry
    ("no-edit", "patch", "/{pk}/", (401, VIEWER_WRITE, 405, 405, 405)),
]


@pytest.mark.parametrize("name,method,url,expected", MATRIX, ids=[row[0] for row in MATRIX])
@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_role_matrix(api_for, api_with, repost, persona, name, method, url, expected):
    client = api_for(persona, using=api_with)
    before = _snapshot()
    response = getattr(client, method)(API + url.format(pk=repost.pk, account=repost.account_id), format="json")
    want = expected[PERSONAS.index(persona)]
    assert_matrix_answer(response, want, (persona, name))
    if want == 404:
        assert_error(response, 404, "NOT_FOUND")
    if want >= 400 or method == "get":
        assert _snapshot() == before, "a refused request or a read changed data"


def test_list_filters_and_each_user_sees_their_own(api_as, personas, repost, other_operator):
    theirs = repost_account(other_operator, label="Oona's")
    Repost.objects.create(account=theirs, listing=live_listing(theirs, now=timezone.now()),
                          scheduled_for=timezone.now(), status=RepostStatus.DONE)
    client = api_as(personas["operator"])
    rows = client.get(f"{API}/").json()["results"]
    assert [row["id"] for row in rows] == [repost.pk] and rows[0]["listing_title"] == repost.listing.title
    assert rows[0]["can_retry"] is False and "cookies" not in json.dumps(rows)
    assert len(api_as(personas["admin"]).get(f"{API}/").json()["results"]) == 2
    assert client.get(f"{API}/", {"status": "done"}).json()["results"] == []
    assert len(client.get(f"{API}/", {"account": repost.account_id, "status": "scheduled"}).json()["results"]) == 1
    assert "status" in field_errors(client.get(f"{API}/", {"status": "maybe"}))
    assert "account" in field_errors(client.get(f"{API}/", {"account": theirs.pk}))


def test_cancel_twice_is_a_clear_400(api_as, operator, repost):
    client = api_as(operator)
    assert client.post(f"{API}/{repost.pk}/cancel/").json()["status"] == "cancelled"
    body = assert_error(client.post(f"{API}/{repost.pk}/cancel/"), 400, "VALIDATION_ERROR")
    assert "Only a scheduled repost can be cancelled" in body["error"]["message"]


def test_preview_shows_the_plan_writes_nothing_and_refuses_bad_input(api_as, operator, repost):
    client = api_as(operator)
    account = repost.account
    live_listing(account, days_ago=45, now=timezone.now())
    AutomationSettings.objects.filter(account=account).update(reposts_enabled=False)
    before = _snapshot()
    body = client.get(f"{API}/preview/", {"account": account.pk, "days": 7}).json()
    assert _snapshot() == before
    assert body["enabled"] is False and "Reposts are off" in body["note"]
    assert [row["id"] for row in body["scheduled"]] == [repost.pk]
    assert len(body["planned"]) == 1 and body["time_zone"] == "Europe/Paris"
    for params, field in (({}, "account"), ({"account": "x"}, "account"), ({"account": account.pk, "days": 0}, "days"),
                          ({"account": account.pk, "days": 99}, "days"), ({"account": "-1"}, "account")):
        assert field in field_errors(client.get(f"{API}/preview/", params)), params
    assert_error(client.get(f"{API}/preview/", {"account": 10**12}), 404, "NOT_FOUND")
    assert client.get(f"{API}/preview/", {"account": account.pk, "days": ""}).json()["days"] == 7  # the default
    assert "days" in field_errors(client.get(f"{API}/preview/", {"account": account.pk, "days": "abc"}))


def test_schema_documents_the_repost_endpoints(api_as, admin_user):
    schema = json.loads(api_as(admin_user).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    paths = schema["paths"]
    for path in (f"{API}/", f"{API}/{{id}}/", f"{API}/{{id}}/cancel/", f"{API}/{{id}}/retry/", f"{API}/preview/"):
        assert path in paths, path
    assert {p["name"] for p in paths[f"{API}/preview/"]["get"]["parameters"]} >= {"account", "days"}
    assert "400" in paths[f"{API}/{{id}}/cancel/"]["post"]["responses"]
