"""The inventory page, its chart and its CSV export: the role matrix (every persona sees its own
figures: operators their own listings, viewers and admins everyone's), the stock table's sorting,
filters and pages, bad input as a 400, and the chart as an SVG without script."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import ListingFactory
from tests.helpers import PERSONAS, assert_answer, client_for

pytestmark = pytest.mark.django_db

PAGE = reverse("vinted:inventory")
CHART = reverse("vinted:inventory-chart")
EXPORT = reverse("vinted:inventory-export")

# Revenue each persona sees: Otto's sale 30, Oona's 300 (both this month, cost 0).
EXPECTED_REVENUE = {"operator": Decimal("30.00"), "other_operator": Decimal("300.00"),
                    "viewer": Decimal("330.00"), "admin": Decimal("330.00")}


@pytest.fixture
def sales(operator, other_operator):
    now = timezone.now()
    return {
        "otto_sold": ListingFactory(owner=operator, title="Otto's sold coat", status="sold",
                                    sale_price=Decimal("30.00"), sold_at=now),
        "otto_stock": ListingFactory(owner=operator, title="Otto's jeans", status="ready", sku="OT-1",
                                     purchase_cost=Decimal("7.00")),
        "oona_sold": ListingFactory(owner=other_operator, title="Oona's sold boots", status="sold",
                                    sale_price=Decimal("300.00"), sold_at=now),
        "oona_stock": ListingFactory(owner=other_operator, title="Oona's scarf", status="published", sku="OO-1"),
    }


@pytest.mark.parametrize("persona", PERSONAS)
def test_page_role_matrix_shows_each_persona_its_own_figures(client, personas, sales, persona):
    response = client_for(client, personas, persona).get(PAGE)
    if persona == "anonymous":
        return assert_answer(response, "login")
    assert_answer(response, 200)
    [eur] = response.context["summary"].currencies
    assert eur.revenue == EXPECTED_REVENUE[persona]
    stock = {listing.title for listing in response.context["stock"]}
    text = response.content.decode()
    if persona in ("operator", "other_operator"):
        own, other = ("otto", "oona") if persona == "operator" else ("oona", "otto")
        assert stock == {sales[f"{own}_stock"].title}
        assert sales[f"{other}_stock"].sku not in text
        assert "Your listings." in text
    else:
        assert stock == {"Otto's jeans", "Oona's scarf"}
        assert "Everyone's listings." in text


@pytest.mark.parametrize("persona", PERSONAS)
def test_chart_role_matrix_is_an_svg_without_script_of_the_personas_figures(client, personas, sales, persona):
    response = client_for(client, personas, persona).get(CHART)
    if persona == "anonymous":
        return assert_answer(response, "login")
    assert_answer(response, 200)
    assert response["Content-Type"] == "image/svg+xml"
    svg = response.content.decode()
    assert svg.startswith("<svg") and "<script" not in svg.lower()
    assert "script-src" not in response["Content-Security-Policy"]  # default-src 'none': no script at all
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert f"{EXPECTED_REVENUE[persona]:,.2f} EUR" in svg  # this month's bar (cost 0: profit = revenue)
    other = {"operator": "300.00 EUR", "other_operator": "330.00 EUR"}.get(persona)
    if other:
        assert other not in svg


@pytest.mark.parametrize("persona", PERSONAS)
def test_export_role_matrix_lists_the_visible_listings(client, personas, sales, persona):
    response = client_for(client, personas, persona).get(EXPORT)
    if persona == "anonymous":
        return assert_answer(response, "login")
    assert_answer(response, 200)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="inventory-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    titles = {row["title"] for row in rows}
    mine = {"operator": {"Otto's sold coat", "Otto's jeans"}, "other_operator": {"Oona's sold boots", "Oona's scarf"}}
    assert titles == mine.get(persona, mine["operator"] | mine["other_operator"])


def test_export_has_profit_days_and_no_spreadsheet_formulas(client, operator):
    now = timezone.now()
    sold = ListingFactory(owner=operator, title="=HYPERLINK(\"http://evil\")", status="sold", sku="+SKU",
                          purchase_cost=Decimal("4.00"), sale_price=Decimal("20.00"), sale_fees=Decimal("1.50"),
                          listed_at=now - timezone.timedelta(days=6, hours=1), sold_at=now)
    stocked = ListingFactory(owner=operator, title="-3 jeans", status="draft", storage_location="@shelf",
                             purchase_date=timezone.localdate() - timezone.timedelta(days=9))
    client.force_login(operator)
    rows = {int(row["id"]): row for row in csv.DictReader(io.StringIO(
        b"".join(client.get(EXPORT).streaming_content).decode()))}
    assert rows[sold.pk]["title"] == "'=HYPERLINK(\"http://evil\")" and rows[sold.pk]["sku"] == "'+SKU"
    assert (rows[sold.pk]["profit"], rows[sold.pk]["days_to_sell"], rows[sold.pk]["days_in_stock"]) == (
        "14.50", "6", "")
    assert rows[stocked.pk]["title"] == "'-3 jeans" and rows[stocked.pk]["storage_location"] == "'@shelf"
    assert (rows[stocked.pk]["days_in_stock"], rows[stocked.pk]["profit"]) == ("9", "")


def test_stock_table_sorts_filters_and_pages(client, operator):
    for i in range(27):
        ListingFactory(owner=operator, status="ready", title=f"Item {i:02d}", sku=f"S{i:02d}",
                       purchase_cost=None if i % 9 == 0 else Decimal(f"{i}.00"),
                       purchase_date=timezone.localdate() - timezone.timedelta(days=i))
    ListingFactory(owner=operator, status="sold", title="Sold one", sale_price=Decimal("5.00"))
    client.force_login(operator)

    page = client.get(PAGE)
    assert [x.title for x in page.context["stock"]][:2] == ["Item 26", "Item 25"]  # longest in stock first
    assert page.context["page_obj"].paginator.count == 27  # sold items are not stock
    assert page.context["stock"][0].days_in_stock == 26
    assert len(client.get(PAGE, {"page": 2}).context["stock"]) == 2

    by_cost = client.get(PAGE, {"ordering": "-cost"}).context["stock"]
    assert [x.title for x in by_cost][:2] in (["Item 26", "Item 25"], ["Item 00", "Item 09"])  # NULLs: backend order
    assert [x.purchase_cost for x in by_cost if x.purchase_cost is not None][:2] == [Decimal("26.00"),
                                                                                      Decimal("25.00")]
    missing = client.get(PAGE, {"without_cost": "true"}).context["stock"]
    assert sorted(x.title for x in missing) == ["Item 00", "Item 09", "Item 18"]
    assert [x.title for x in client.get(PAGE, {"q": "S07"}).context["stock"]] == ["Item 07"]
    text = client.get(PAGE).content.decode()
    assert "3 items in stock without a purchase cost" in text


@pytest.mark.parametrize("query, field_error", [
    ({"months": "0"}, "A whole number from 1 to 60 is required."),
    ({"months": "abc"}, "A whole number from 1 to 60 is required."),
    ({"without_cost": "maybe"}, "Enter true or false."),
    ({"status": "sold"}, "Select a valid choice."),
])
def test_bad_page_input_is_a_400_with_the_message_at_its_field(client, operator, query, field_error):
    client.force_login(operator)
    response = client.get(PAGE, query)
    assert response.status_code == 400
    assert field_error in response.content.decode()


def test_bad_chart_months_is_a_400(client, operator):
    client.force_login(operator)
    response = client.get(CHART, {"months": "61"})
    assert response.status_code == 400
    assert response.content.decode() == "A whole number from 1 to 60 is required."


def test_months_choose_the_chart_and_the_table(client, operator):
    client.force_login(operator)
    response = client.get(PAGE, {"months": "3"})
    assert len(response.context["summary"].month_rows()) == 3
    assert f'src="{CHART}?months=3"' in response.content.decode()
    svg = client.get(CHART, {"months": "3"}).content.decode()
    assert svg.count("<desc class=\"value\">") == 3  # one bar per month


def test_page_queries_do_not_grow_with_the_stock(client, operator):
    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(PAGE).status_code == 200
        return len(captured)

    client.force_login(operator)
    ListingFactory(owner=operator, status="ready", purchase_cost=Decimal("1.00"))
    few = count()
    for _ in range(20):
        ListingFactory(owner=operator, status="ready", purchase_cost=Decimal("1.00"))
    assert count() == few


def test_a_sixty_month_chart_has_sixty_bars_and_no_script(client, operator):
    client.force_login(operator)
    svg = client.get(CHART, {"months": "60"}).content.decode()
    assert svg.count("<desc class=\"value\">") == 60
    assert "<script" not in svg.lower()


def test_the_months_field_shows_the_default(client, operator):
    client.force_login(operator)
    text = client.get(PAGE).content.decode()
    assert 'name="months" value="12"' in text
    assert f'src="{CHART}?months=12"' in text
