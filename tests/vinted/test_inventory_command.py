"""`manage.py vinted inventory`: the summary table and the profit per month, as the user sees them."""

import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.factories import ListingFactory

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command("vinted", "inventory", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def sales(operator, other_operator):
    now = timezone.now()
    ListingFactory(owner=operator, status="sold", purchase_cost=Decimal("10.00"), sale_price=Decimal("30.00"),
                   sale_fees=Decimal("2.00"), listed_at=now - timezone.timedelta(days=4), sold_at=now)
    ListingFactory(owner=operator, status="ready")  # no cost
    ListingFactory(owner=other_operator, status="sold", currency="GBP", purchase_cost=Decimal("1.00"),
                   sale_price=Decimal("1201.50"), listed_at=now - timezone.timedelta(days=2), sold_at=now)


def test_an_operators_table(sales, operator):
    output = run("--user", operator.username, "--months", "2")
    lines = output.splitlines()
    assert lines[0] == "Inventory of otto's listings"
    assert "  Items in stock        1" in lines
    assert "  Average days to sell  4.0" in lines
    eur = next(line for line in lines if line.lstrip().startswith("EUR "))
    assert eur.split() == ["EUR", "€0.00", "€30.00", "€2.00", "€10.00", "€18.00", "€0.00"]
    assert "  Note: 1 item in stock without a purchase cost (the stock value leaves them out)." in lines
    this_month = f"{timezone.localdate():%Y-%m}"
    months = [line.split() for line in lines[lines.index("Profit per month") + 2:]]
    assert len(months) == 2 and months[-1] == [this_month, "EUR", "1", "€30.00", "€2.00", "€10.00", "€18.00"]
    assert "GBP" not in output  # Oona's sale is not Otto's


def test_the_first_admin_sees_everyone(sales, admin_user):
    output = run()
    assert output.startswith("Inventory of everyone's listings")
    gbp = next(line for line in output.splitlines() if line.lstrip().startswith("GBP "))
    assert gbp.split()[5] == "£1,200.50"


def test_json_is_the_apis_answer(sales, viewer, api_as):
    data = json.loads(run("--user", viewer.username, "--json"))
    assert data["months"] == 12 and data["items_sold"] == 2
    assert {c["currency"]: c["profit"] for c in data["currencies"]} == {"EUR": "18.00", "GBP": "1200.50"}
    assert data == api_as(viewer).get("/api/v1/vinted/inventory/").json()


@pytest.mark.parametrize("args, message", [
    (["--months", "0"], "--months: A whole number from 1 to 60 is required."),
    (["--user", "nobody"], "No user named 'nobody'."),
])
def test_bad_input_is_a_command_error(admin_user, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
