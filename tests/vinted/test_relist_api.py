"""POST /api/v1/vinted/listings/{id}/relist/: the role matrix (JWT and personal token), 201 with the new
draft, delete_old through the worker and the fake Vinted, field errors in the envelope, the schema;
sold and archive of a published listing over the API."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.api_helpers import assert_error, assert_matrix_answer, field_errors
from tests.factories import ListingFactory, PhotoFactory
from tests.fakes import vinted_items
from tests.helpers import API_PERSONAS, PERSONAS
from tests.monitoring.worker import run_worker
from vinted.choices import ListingStatus
from vinted.models import Listing, Photo

from .test_relist import account_for, published

pytestmark = pytest.mark.django_db
API = "/api/v1/vinted"


@pytest.fixture
def stale(operator):
    listing = published(operator, title="Otto's stale jeans")
    PhotoFactory(listing=listing)
    return listing


def _snapshot():
    return list(Listing.objects.order_by("pk").values_list("pk", "status", "title", "sale_price"))


@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_role_matrix(api_for, api_with, stale, persona):
    client = api_for(persona, using=api_with)
    before = _snapshot()
    response = client.post(f"{API}/listings/{stale.pk}/relist/", {}, format="json")
    want = (401, 403, 201, 404, 201)[PERSONAS.index(persona)]
    assert_matrix_answer(response, want, persona)
    if want == 404:
        assert_error(response, 404, "NOT_FOUND")
    if want >= 400:
        assert _snapshot() == before, "a refused request changed data"
    else:
        assert Listing.objects.filter(relisted_from=stale).count() == 1


def test_a_read_only_token_cannot_relist(operator, token_as, stale):
    assert_error(token_as(operator, write=False).post(f"{API}/listings/{stale.pk}/relist/", {}, format="json"),
                 403, "TOKEN_READ_ONLY")
    assert Listing.objects.count() == 1


def test_relist_answers_201_with_the_new_draft(api_as, operator, stale):
    response = api_as(operator).post(f"{API}/listings/{stale.pk}/relist/", {}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    new = Listing.objects.get(pk=body["id"])
    assert response["Location"] == body["url"]
    assert (body["status"], body["relisted_from"], body["delete_job"], body["title"]) == (
        "draft", stale.pk, None, "Otto's stale jeans")
    assert body["vinted_item_id"] == "" and body["sale_price"] is None and body["owner"] == "otto"
    assert Photo.objects.filter(listing=new).count() == 1


def test_delete_old_over_the_api(api_as, operator, fake_vinted, django_capture_on_commit_callbacks):
    account = account_for(operator, fake_vinted)
    item_id = vinted_items.add_item(fake_vinted)
    old = published(operator, account=account, item_id=item_id)
    response = api_as(operator).post(f"{API}/listings/{old.pk}/relist/", {"delete_old": True}, format="json")
    assert response.status_code == 201, response.content
    job_id = response.json()["delete_job"]
    assert job_id is not None
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    assert vinted_items.deleted_items(fake_vinted) == [item_id]
    assert Listing.objects.get(pk=old.pk).status == ListingStatus.ARCHIVED
    assert api_as(operator).get(f"{API}/listings/{old.pk}/").json()["status"] == "archived"


def test_bad_input_is_a_field_error_and_changes_nothing(api_as, operator):
    client = api_as(operator)
    fresh = published(operator, days_ago=2)
    body = assert_error(client.post(f"{API}/listings/{fresh.pk}/relist/", {}, format="json"), 400, "VALIDATION_ERROR")
    assert "only a sold, archived or stale listing" in json.dumps(body)
    stale = published(operator)
    assert "delete_old" in field_errors(client.post(f"{API}/listings/{stale.pk}/relist/", {"delete_old": True},
                                                    format="json"))
    assert "delete_old" in field_errors(client.post(f"{API}/listings/{stale.pk}/relist/", {"delete_old": "maybe"},
                                                    format="json"))
    assert Listing.objects.count() == 2


def test_a_published_listing_is_marked_sold_and_archived_over_the_api(api_as, operator):
    client = api_as(operator)
    listing = published(operator, days_ago=3, purchase_cost="4.00")
    response = client.post(f"{API}/listings/{listing.pk}/sold/", {"sale_price": "20.00", "sale_fees": "1.50"},
                           format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["profit"]) == ("sold", "14.50")
    other = published(operator, days_ago=3)
    assert client.post(f"{API}/listings/{other.pk}/archive/", format="json").json()["status"] == "archived"
    summary = client.get(f"{API}/inventory/").json()
    assert "14.50" in json.dumps(summary)


def test_schema_documents_relist(api_as, admin_user):
    schema = json.loads(api_as(admin_user).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    operation = schema["paths"]["/api/v1/vinted/listings/{id}/relist/"]["post"]
    assert {"201", "400", "401", "403", "404"} <= set(operation["responses"])
    request = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "delete_old" in schema["components"]["schemas"][request]["properties"]
    answer = operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert {"relisted_from", "delete_job"} <= set(schema["components"]["schemas"][answer]["properties"])


def test_each_relist_is_a_new_draft(api_as, operator):
    # Each relist is a new draft (a seller may have two of an item); both point at the same source.
    sold = ListingFactory(owner=operator, complete=True, status=ListingStatus.SOLD, sale_price="9.00",
                          sold_at=timezone.now() - timedelta(days=1))
    client = api_as(operator)
    assert client.post(f"{API}/listings/{sold.pk}/relist/", {}, format="json").status_code == 201
    assert client.post(f"{API}/listings/{sold.pk}/relist/", {}, format="json").status_code == 201
    assert Listing.objects.filter(relisted_from=sold).count() == 2


@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_role_matrix_of_the_relist_status(api_for, api_with, stale, persona):
    response = api_for(persona, using=api_with).get(f"{API}/listings/{stale.pk}/relist/status/")
    assert_matrix_answer(response, (401, 200, 200, 404, 200)[PERSONAS.index(persona)], persona)


def test_the_relist_status_follows_a_failed_deletion(api_as, operator, fake_vinted,
                                                      django_capture_on_commit_callbacks):
    account = account_for(operator, fake_vinted)
    old = published(operator, account=account, item_id=vinted_items.add_item(fake_vinted))
    client = api_as(operator)
    before = client.get(f"{API}/listings/{old.pk}/relist/status/").json()
    assert before == {"listing": old.pk, "can_relist": True, "stale_days": 30, "relisted_from": None,
                      "relists": [], "deletion": None}
    new_id = client.post(f"{API}/listings/{old.pk}/relist/", {"delete_old": True}, format="json").json()["id"]
    assert client.get(f"{API}/listings/{old.pk}/relist/status/").json()["deletion"]["status"] == "queued"
    fake_vinted.fail_next("expired", paths=r"/delete$")
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    state = client.get(f"{API}/listings/{old.pk}/relist/status/").json()
    assert state["relists"] == [new_id]
    assert state["deletion"]["status"] == "failed" and "session expired" in state["deletion"]["error"]
    assert client.get(f"{API}/listings/{new_id}/relist/status/").json()["relisted_from"] == old.pk
