"""/api/v1/vinted/price-rules/ and /api/v1/vinted/price-changes/: the role matrix (JWT and personal token),
filters, bad input (400 with field errors, nothing saved), owner-only accounts, the listing API's
min_price/measurements, and the schema."""

import json
from decimal import Decimal

import pytest

from tests.api_helpers import assert_error, assert_matrix_answer, field_errors
from tests.helpers import API_PERSONAS, PERSONAS
from tests.vinted.price_drop_helpers import default_rule, live_account, on_sale
from vinted.models import PriceChange, PriceDropRule
from vinted.services import listings

pytestmark = pytest.mark.django_db
RULES = "/api/v1/vinted/price-rules"
CHANGES = "/api/v1/vinted/price-changes"


@pytest.fixture
def shop(operator):
    account = live_account(operator)
    listing = on_sale(account, min_price=Decimal("12"))
    rule = default_rule(account)
    listings.update_listing(operator, listing, price=Decimal("19.00"))
    return account, listing, rule


def _snapshot():
    return list(PriceDropRule.objects.order_by("pk").values_list("pk", "listing", "percent", "amount", "every_days"))


# (name, method, url, body, expected for anonymous, viewer, operator, other_operator, admin)
MATRIX = [
    ("list", "get", RULES + "/", None, (401, 200, 200, 200, 200)),
    ("retrieve", "get", RULES + "/{rule}/", None, (401, 404, 200, 404, 200)),
    ("create", "post", RULES + "/", {"account": "{account}", "listing": "{listing}", "amount": "2.00"},
     (401, 403, 201, 400, 201)),
    ("update", "patch", RULES + "/{rule}/", {"every_days": 3}, (401, 403, 200, 404, 200)),
    ("delete", "delete", RULES + "/{rule}/", None, (401, 403, 204, 404, 204)),
    ("changes", "get", CHANGES + "/?listing={listing}", None, (401, 200, 200, 400, 200)),
    ("change", "get", CHANGES + "/{change}/", None, (401, 200, 200, 404, 200)),
    ("changes-read-only", "post", CHANGES + "/", {}, (401, 403, 405, 405, 405)),
]


@pytest.mark.parametrize("name,method,url,body,expected", MATRIX, ids=[row[0] for row in MATRIX])
@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_role_matrix(api_for, api_with, shop, persona, name, method, url, body, expected):
    account, listing, rule = shop
    ids = {"account": account.pk, "listing": listing.pk, "rule": rule.pk,
           "change": PriceChange.objects.get(listing=listing).pk}
    client = api_for(persona, using=api_with)
    if body:
        body = {key: int(value.format(**ids)) if isinstance(value, str) and value.startswith("{") else value
                for key, value in body.items()}
    before = _snapshot()
    response = getattr(client, method)(url.format(**ids), body, format="json")
    want = expected[PERSONAS.index(persona)]
    assert_matrix_answer(response, want, (persona, name))
    if want == 404:
        assert_error(response, 404, "NOT_FOUND")
    if want >= 400:
        assert _snapshot() == before, "a refused request changed data"


def test_each_user_lists_only_their_own_rules_and_the_filters(api_as, personas, shop):
    account, listing, rule = shop
    other = live_account(personas["other_operator"], label="Other")
    default_rule(other)
    own = default_rule(account, listing=listing, amount=Decimal("1"), percent=None)
    seen = {persona: sorted(row["id"] for row in api_as(personas[persona]).get(f"{RULES}/").json()["results"])
            for persona in ("operator", "other_operator", "viewer", "admin")}
    assert seen["operator"] == sorted([rule.pk, own.pk]) and seen["viewer"] == []
    assert len(seen["other_operator"]) == 1 and len(seen["admin"]) == 3
    client = api_as(personas["operator"])
    assert [row["id"] for row in client.get(f"{RULES}/", {"listing": listing.pk}).json()["results"]] == [own.pk]
    body = client.get(f"{RULES}/{own.pk}/").json()
    assert body["summary"] == "-1.00 every 7 days after 7 days" and body["account_label"] == "Main shop"
    assert "listing" in field_errors(client.get(f"{RULES}/", {"listing": 99999999}))
    assert "account" in field_errors(client.get(f"{RULES}/", {"account": other.pk}))


@pytest.mark.parametrize("body,field", [
    ({"percent": "10"}, "account"),
    ({"account": "{account}"}, "percent"),
    ({"account": "{account}", "percent": "10", "amount": "1.00"}, "percent"),
    ({"account": "{account}", "percent": "100"}, "percent"),
    ({"account": "{account}", "percent": 10}, "percent"),  # amounts are strings
    ({"account": "{account}", "amount": "0"}, "amount"),
    ({"account": "{account}", "amount": "1.00", "after_days": 0}, "after_days"),
    ({"account": "{account}", "amount": "1.00", "every_days": "x"}, "every_days"),
    ({"account": "{account}", "amount": "1.00", "after_days": 3651}, "after_days"),
    ({"account": "{account}", "amount": "1.00", "floor": "-1"}, "floor"),
    ({"account": "{account}", "amount": "1.00"}, "listing"),  # the account has a default already
    ({"account": "{account}", "listing": 99999999, "amount": "1.00"}, "listing"),
])
def test_bad_input_is_a_400_at_the_field(api_as, operator, shop, body, field):
    account, _, _ = shop
    body = {key: account.pk if value == "{account}" else value for key, value in body.items()}
    before = _snapshot()
    assert field in field_errors(api_as(operator).post(f"{RULES}/", body, format="json"))
    assert _snapshot() == before


def test_patch_validates_the_rule_as_it_would_be(api_as, operator, shop):
    _, _, rule = shop
    client = api_as(operator)
    assert "percent" in field_errors(client.patch(f"{RULES}/{rule.pk}/", {"amount": "2.00"}, format="json"))
    body = client.patch(f"{RULES}/{rule.pk}/", {"amount": "2.00", "percent": None, "is_active": False},
                        format="json").json()
    assert (body["amount"], body["percent"], body["is_active"]) == ("2.00", None, False)


def test_price_changes_are_the_listing_history(api_as, operator, shop):
    _, listing, rule = shop
    PriceChange.objects.create(listing=listing, rule=rule, reason="drop", old_price=Decimal("19.00"),
                               new_price=Decimal("17.10"))
    rows = api_as(operator).get(f"{CHANGES}/", {"listing": listing.pk}).json()["results"]
    assert [(row["reason"], row["old_price"], row["new_price"], row["by"], row["rule"]) for row in rows] == [
        ("drop", "19.00", "17.10", None, rule.pk), ("manual", "20.00", "19.00", operator.username, None)]


def test_the_listing_api_takes_min_price_and_measurements(api_as, operator, shop):
    _, listing, _ = shop
    client = api_as(operator)
    url = f"/api/v1/vinted/listings/{listing.pk}/"
    body = client.patch(url, {"min_price": "15.00", "measurements": "chest 52 cm"}, format="json").json()
    assert (body["min_price"], body["measurements"]) == ("15.00", "chest 52 cm")
    assert "min_price" in field_errors(client.patch(url, {"min_price": "25.00"}, format="json"))
    assert "min_price" in field_errors(client.patch(url, {"min_price": "-1"}, format="json"))
    assert "measurements" in field_errors(client.patch(url, {"measurements": "x" * 301}, format="json"))


def test_the_schema_lists_the_endpoints(api_as, admin_user):
    schema = json.loads(api_as(admin_user).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/vinted/price-rules/"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/vinted/price-rules/{id}/"])
    assert set(paths["/api/v1/vinted/price-changes/"]) == {"get"}
    create = schema["paths"]["/api/v1/vinted/price-rules/"]["post"]
    assert "400" in create["responses"] and "PriceRuleCreate" in json.dumps(create["requestBody"])
    assert {"min_price", "measurements"} <= set(schema["components"]["schemas"]["Listing"]["properties"])
    # The account and listing of a new rule are ids (the schema said strings: spectacular could not type them).
    body = schema["components"]["schemas"]["PriceRuleCreateRequest"]["properties"]
    assert body["account"]["type"] == "integer" and body["listing"]["type"] == "integer"
