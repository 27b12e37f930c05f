"""The ledger's page parameters are stated in the schema (not a fuzz allowance): `limit` at least 1 and
`offset` at least 0, like every list's; a value outside them is a 400 at that parameter."""

import json

import pytest

from tests.api_helpers import field_errors
from vinted.models import VintedAccount

pytestmark = pytest.mark.django_db

LEDGER = "/api/v1/vinted/accounts/{id}/ledger/"


def test_the_schema_states_the_minimums(api_as, admin_user):
    schema = api_as(admin_user).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    parameters = {p["name"]: p for p in schema["paths"][LEDGER]["get"]["parameters"]}
    assert parameters["limit"]["schema"] == {"type": "integer", "minimum": 1}
    assert parameters["offset"]["schema"] == {"type": "integer", "minimum": 0}
    assert "treated as" in parameters["limit"]["description"]  # above the maximum page size it is clamped


@pytest.mark.parametrize("query,field", [("limit=0", "limit"), ("limit=-1", "limit"), ("offset=-1", "offset")])
def test_values_below_the_minimum_are_a_field_error(api_as, operator, query, field):
    account = VintedAccount.objects.create(owner=operator, label="Shop", cookies=json.dumps({"access_token_web": "t"}))
    response = api_as(operator).get(LEDGER.format(id=account.pk) + "?" + query)
    assert response.status_code == 400
    assert field in field_errors(response)


def test_a_limit_above_the_maximum_is_clamped(api_as, operator, settings):
    settings.API_MAX_PAGE_SIZE = 5
    account = VintedAccount.objects.create(owner=operator, label="Shop", cookies=json.dumps({"access_token_web": "t"}))
    response = api_as(operator).get(LEDGER.format(id=account.pk) + "?limit=999")
    assert response.status_code == 200 and response.json()["calls"] == []
