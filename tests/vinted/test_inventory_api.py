"""GET /api/v1/vinted/inventory/: the role matrix (JWT and personal token alike), each persona's own
figures, bad `months` as a field error, no writes, and what the OpenAPI schema says about it."""

from decimal import Decimal

import pytest
from django.utils import timezone

from tests.api_helpers import assert_error, assert_matrix_answer, field_errors
from tests.factories import ListingFactory
from tests.helpers import API_PERSONAS

pytestmark = pytest.mark.django_db

URL = "/api/v1/vinted/inventory/"
REVENUE = {"operator": "30.00", "other_operator": "300.00", "viewer": "330.00", "admin": "330.00"}
IN_STOCK = {"operator": 1, "other_operator": 1, "viewer": 2, "admin": 2}


@pytest.fixture
def sales(operator, other_operator):
    now = timezone.now()
    ListingFactory(owner=operator, status="sold", purchase_cost=Decimal("10.00"), sale_price=Decimal("30.00"),
                   sale_fees=Decimal("2.00"), listed_at=now - timezone.timedelta(days=3), sold_at=now)
    ListingFactory(owner=operator, status="published", purchase_cost=Decimal("5.00"))
    ListingFactory(owner=other_operator, status="sold", purchase_cost=Decimal("100.00"),
                   sale_price=Decimal("300.00"), listed_at=now - timezone.timedelta(days=5), sold_at=now)
    ListingFactory(owner=other_operator, status="draft")


@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_role_matrix_and_each_personas_own_figures(api_for, api_with, sales, persona):
    response = api_for(persona, using=api_with).get(URL)
    if persona == "anonymous":
        return assert_matrix_answer(response, 401)
    assert_matrix_answer(response, 200)
    body = response.json()
    [eur] = body["currencies"]
    assert eur["currency"] == "EUR" and eur["revenue"] == REVENUE[persona]
    assert body["items_in_stock"] == IN_STOCK[persona]
    assert len(eur["months"]) == body["months"] == 12


def test_figures_in_full_for_an_operator(api_as, operator, sales):
    body = api_as(operator).get(URL, {"months": "2"}).json()
    month = timezone.localdate().replace(day=1).isoformat()
    assert body == {
        "months": 2, "items_in_stock": 1, "items_listed": 1, "items_sold": 1, "sold_this_month": 1,
        "average_days_to_sell": "3.0", "stock_without_cost": 0, "sold_without_cost": 0, "sold_without_price": 0,
        "sold_without_date": 0, "warnings": [],
        "currencies": [{
            "currency": "EUR", "stock_value": "5.00", "revenue": "30.00", "fees": "2.00", "cost_of_sold": "10.00",
            "profit": "18.00", "written_off": "0.00",
            "months": [
                {"month": body["currencies"][0]["months"][0]["month"], "sold": 0, "revenue": "0.00", "fees": "0.00",
                 "cost": "0.00", "profit": "0.00"},
                {"month": month, "sold": 1, "revenue": "30.00", "fees": "2.00", "cost": "10.00", "profit": "18.00"},
            ],
        }],
    }


@pytest.mark.parametrize("months", ["0", "61", "x", "1.5"])
def test_bad_months_is_a_field_error(api_as, viewer, months):
    assert field_errors(api_as(viewer).get(URL, {"months": months})) == {
        "months": ["A whole number from 1 to 60 is required."]}


def test_empty_months_means_the_default(api_as, viewer):
    assert api_as(viewer).get(URL, {"months": ""}).json()["months"] == 12


@pytest.mark.parametrize("persona, status, code", [("viewer", 403, "PERMISSION_DENIED"),
                                                   ("operator", 405, "METHOD_NOT_ALLOWED")])
def test_the_summary_is_read_only(api_for, persona, status, code):
    assert_error(api_for(persona).post(URL, {}, format="json"), status, code)


@pytest.fixture
def schema(api_as, viewer):
    response = api_as(viewer).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_schema_documents_one_summary_with_true_types(schema):
    operation = schema["paths"][URL]["get"]
    assert set(schema["paths"][URL]) == {"get"}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/InventorySummary"}  # one object, not a list
    for status in ("400", "401", "403"):
        assert operation["responses"][status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorEnvelope"}
    [months] = operation["parameters"]
    assert months["name"] == "months" and months["schema"]["anyOf"][0] == {
        "type": "integer", "minimum": 1, "maximum": 60}

    components = schema["components"]["schemas"]
    summary = components["InventorySummary"]["properties"]
    assert summary["items_in_stock"]["type"] == "integer"
    assert summary["average_days_to_sell"]["type"] == "string" and summary["average_days_to_sell"]["nullable"]
    currency = components["InventoryCurrency"]["properties"]
    for name in ("stock_value", "revenue", "fees", "cost_of_sold", "profit", "written_off"):
        assert (currency[name]["type"], currency[name]["format"]) == ("string", "decimal"), name
    assert components["InventoryMonth"]["properties"]["month"]["format"] == "date"
    enum = components[currency["currency"]["$ref"].rsplit("/", 1)[1]]["enum"]
    assert set(enum) == {"EUR", "GBP", "PLN", "CZK", "SEK", "USD"}
