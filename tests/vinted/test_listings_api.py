"""/api/v1/vinted/listings/ and /catalogue/: the role matrix (JWT and personal token), partial
drafts, validate, mark_ready with per-field details in the envelope, sold, bulk, delete."""

import pytest

from tests.api_helpers import assert_error, assert_matrix_answer, field_errors
from tests.factories import ListingFactory, PhotoFactory
from tests.helpers import API_PERSONAS, PERSONAS
from vinted.choices import ListingStatus
from vinted.models import Brand, Category, Colour, Listing, Size

pytestmark = pytest.mark.django_db
API = "/api/v1/vinted"


@pytest.fixture
def mine(operator):
    listing = ListingFactory(owner=operator, complete=True, title="Otto's jeans")
    PhotoFactory(listing=listing)
    return listing


def _snapshot():
    return list(Listing.objects.order_by("pk").values_list("pk", "status", "title", "sale_price"))


# (name, method, url, body, expected for anonymous, viewer, operator, other_operator, admin)
MATRIX = [
    ("list", "get", "/listings/", None, (401, 200, 200, 200, 200)),
    ("retrieve", "get", "/listings/{pk}/", None, (401, 200, 200, 404, 200)),
    ("validate", "get", "/listings/{pk}/validate/", None, (401, 200, 200, 404, 200)),
    ("create", "post", "/listings/", {"title": "New"}, (401, 403, 201, 201, 201)),
    ("edit", "patch", "/listings/{pk}/", {"title": "Changed"}, (401, 403, 200, 404, 200)),
    ("mark-ready", "post", "/listings/{pk}/mark_ready/", None, (401, 403, 200, 404, 200)),
    ("archive", "post", "/listings/{pk}/archive/", None, (401, 403, 200, 404, 200)),
    ("sold", "post", "/listings/{pk}/sold/", {"sale_price": "20.00"}, (401, 403, 200, 404, 200)),
    ("delete", "delete", "/listings/{pk}/", None, (401, 403, 204, 404, 204)),
    ("bulk", "post", "/listings/bulk/", "bulk", (401, 403, 200, 200, 200)),
    ("catalogue", "get", "/catalogue/", None, (401, 200, 200, 200, 200)),
]


@pytest.mark.parametrize("name,method,url,body,expected", MATRIX, ids=[row[0] for row in MATRIX])
@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_role_matrix(api_for, api_with, mine, persona, name, method, url, body, expected):
    client = api_for(persona, using=api_with)
    body = {"action": "archive", "ids": [mine.pk]} if body == "bulk" else body
    before = _snapshot()
    response = getattr(client, method)(API + url.format(pk=mine.pk), body, format="json")
    want = expected[PERSONAS.index(persona)]
    assert_matrix_answer(response, want, (persona, name))
    if want == 404:
        assert_error(response, 404, "NOT_FOUND")
    if want >= 400 or name == "bulk" and persona == "other_operator":
        assert _snapshot() == before, "a refused request changed data"


def test_a_read_only_token_cannot_change_even_its_owners_listing(operator, token_as, mine):
    client = token_as(operator, write=False)
    assert client.get(f"{API}/listings/{mine.pk}/").status_code == 200
    assert_error(client.patch(f"{API}/listings/{mine.pk}/", {"title": "x"}, format="json"), 403, "TOKEN_READ_ONLY")
    assert Listing.objects.get(pk=mine.pk).title == "Otto's jeans"


def test_create_a_partial_draft_and_read_it_back(api_as, operator):
    blue = Colour.objects.get(name="Blue")
    response = api_as(operator).post(f"{API}/listings/", {"title": "Jacket", "colours": [blue.pk],
                                                          "hashtags": ["#Denim", "denim", "90s"]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == body["url"]
    assert (body["status"], body["title"], body["colours"], body["hashtags"]) == (
        "draft", "Jacket", [blue.pk], ["denim", "90s"])
    assert body["owner"] == "otto" and body["price"] is None and body["profit"] is None
    assert sorted(body["edited_fields"]) == ["colours", "hashtags", "title"]


def test_field_errors_in_the_envelope(api_as, operator, mine):
    client = api_as(operator)
    fields = field_errors(client.post(f"{API}/listings/", {"title": "x" * 101, "price": "0.10", "condition": 5,
                                                           "category": 999999}, format="json"))
    assert set(fields) == {"title", "price", "condition", "category"}
    other_size = Size.objects.exclude(group=mine.category.size_group).first()
    fields = field_errors(client.patch(f"{API}/listings/{mine.pk}/", {"size": other_size.pk,
                                                                      "hashtags": ["a b"]}, format="json"))
    assert set(fields) == {"size", "hashtags"}
    fields = field_errors(client.patch(f"{API}/listings/{mine.pk}/", {"colours": [c.pk for c in
                                                                                  Colour.objects.all()[:3]]},
                                       format="json"))
    assert fields == {"colours": ["Choose at most 2 colours."]}
    assert Listing.objects.get(pk=mine.pk).title == "Otto's jeans"


def test_validate_answers_errors_and_warnings(api_as, viewer, operator):
    listing = ListingFactory(owner=operator, complete=True, price="3.00", ai_price_min="10.00",
                             ai_price_max="20.00", description="mail me: me@example.org")
    body = api_as(viewer).get(f"{API}/listings/{listing.pk}/validate/").json()
    assert body["ready"] is False
    assert set(body["errors"]) == {"description", "photos"}
    assert list(body["warnings"]) == ["price"]


def test_mark_ready_refused_carries_the_fields_in_the_envelope(api_as, operator):
    listing = ListingFactory(owner=operator, title="")
    body = assert_error(api_as(operator).post(f"{API}/listings/{listing.pk}/mark_ready/"), 400, "NOT_READY")
    details = body["error"]["details"]
    assert {"title", "description", "category", "brand", "condition", "price", "colours", "photos"} == set(
        details["fields"])
    assert details["fields"]["title"] == ["Give the item a title."]
    assert details["warnings"] == {}
    assert Listing.objects.get(pk=listing.pk).status == ListingStatus.DRAFT


def test_mark_ready_then_edit_sends_it_back_to_draft(api_as, operator, mine):
    client = api_as(operator)
    ready = client.post(f"{API}/listings/{mine.pk}/mark_ready/").json()
    assert ready["status"] == "ready" and ready["ready_at"]
    again = client.post(f"{API}/listings/{mine.pk}/mark_ready/")
    assert_error(again, 400, "VALIDATION_ERROR")
    edited = client.patch(f"{API}/listings/{mine.pk}/", {"price": "27.50"}, format="json").json()
    assert edited["status"] == "draft" and edited["price"] == "27.50" and edited["ready_at"] is None


def test_sold_and_profit(api_as, operator, mine):
    client = api_as(operator)
    client.patch(f"{API}/listings/{mine.pk}/", {"purchase_cost": "4.00"}, format="json")
    body = client.post(f"{API}/listings/{mine.pk}/sold/", {"sale_price": "20.00", "sale_fees": "1.50"},
                       format="json").json()
    assert (body["status"], body["sale_price"], body["profit"], body["days_to_sell"]) == ("sold", "20.00", "14.50", 0)
    fields = field_errors(client.post(f"{API}/listings/{mine.pk}/sold/", {"sale_price": "-1"}, format="json"))
    assert "sale_price" in fields


def test_delete_a_sold_listing_is_a_conflict(api_as, operator):
    sold = ListingFactory(owner=operator, status=ListingStatus.SOLD)
    assert_error(api_as(operator).delete(f"{API}/listings/{sold.pk}/"), 409, "CONFLICT")
    assert Listing.objects.filter(pk=sold.pk).exists()


def test_put_is_not_offered(api_as, operator, mine):
    assert_error(api_as(operator).put(f"{API}/listings/{mine.pk}/", {"title": "x"}, format="json"), 405,
                 "METHOD_NOT_ALLOWED")


def test_bulk_answers_per_listing(api_as, operator, other_operator, mine):
    theirs = ListingFactory(owner=other_operator)
    incomplete = ListingFactory(owner=operator)
    body = api_as(operator).post(f"{API}/listings/bulk/", {"action": "mark_ready",
                                                          "ids": [mine.pk, theirs.pk, incomplete.pk]},
                                 format="json").json()
    assert body["succeeded"] == [mine.pk] and body["batch"] is None
    assert body["failed"][str(theirs.pk)] == "Not found."
    assert set(body["failed"]) == {str(theirs.pk), str(incomplete.pk)}
    assert "ids" in field_errors(api_as(operator).post(f"{API}/listings/bulk/", {"action": "archive", "ids": []},
                                                       format="json"))


def test_catalogue_has_vinted_ids(api_as, viewer):
    body = api_as(viewer).get(f"{API}/catalogue/").json()
    jeans = next(row for row in body["categories"] if row["vinted_id"] == 1187)
    assert jeans["size_group"] == "women-jeans" and jeans["needs_size"] is True
    assert jeans["parent"] == Category.objects.get(vinted_id=1187).parent_id
    assert {"Levi's", "Nike"} <= {row["name"] for row in body["brands"]}
    assert any(row["group"] == "women-jeans" for row in body["sizes"])
    assert all(row["hex"].startswith("#") for row in body["colours"])
    assert len(body["brands"]) == Brand.objects.count()


def test_schema_documents_the_listing_endpoints(api_as, admin_user):
    import json

    schema = json.loads(api_as(admin_user).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    paths = schema["paths"]
    for path in ("/api/v1/vinted/listings/", "/api/v1/vinted/listings/{id}/validate/",
                 "/api/v1/vinted/listings/{id}/mark_ready/", "/api/v1/vinted/listings/bulk/",
                 "/api/v1/vinted/catalogue/"):
        assert path in paths, path
    ready = paths["/api/v1/vinted/listings/{id}/mark_ready/"]["post"]["responses"]
    assert {"200", "400", "401", "403", "404"} <= set(ready)
    assert "put" not in paths["/api/v1/vinted/listings/{id}/"]


def test_amounts_are_strings_as_the_schema_says(api_as, operator):
    client = api_as(operator)
    assert field_errors(client.post(f"{API}/listings/", {"price": 25}, format="json")) == {
        "price": ['Give the amount as a string, e.g. "25.00".']}
    assert "price" in field_errors(client.post(f"{API}/listings/", {"price": "-3.00"}, format="json"))
    assert field_errors(client.post(f"{API}/listings/", {"price": ""}, format="json")) == {
        "price": ["A valid number is required."]}
    assert client.post(f"{API}/listings/", {"price": None}, format="json").status_code == 201
    assert client.post(f"{API}/listings/", {"price": "25.00"}, format="json").json()["price"] == "25.00"
