"""The inventory summary's numbers from known rows (vinted.inventory), worked out by hand below.

The clock stands at 2026-03-15 12:00 UTC and TIME_ZONE is Europe/Paris (UTC+1 in winter), so a
sale at 2026-02-28 23:30 UTC falls on 1 March in Paris (this month) and one at 22:30 UTC on
28 February."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import ListingFactory
from vinted import inventory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 15, 12, 0, tzinfo=datetime.UTC)


def utc(*parts):
    return datetime.datetime(*parts, tzinfo=datetime.UTC)


def D(text):
    return Decimal(text)


@pytest.fixture(autouse=True)
def paris_clock(settings):
    settings.TIME_ZONE = "Europe/Paris"
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def rows(operator, other_operator):
    """Otto's listings (EUR unless said), one of Oona's. Letters as in the sums below."""
    mine = dict(owner=operator)
    return {
        # in stock
        "A": ListingFactory(**mine, status="draft", purchase_cost=D("10.00")),
        "B": ListingFactory(**mine, status="published", purchase_cost=D("20.00"), listed_at=utc(2026, 3, 1)),
        "C": ListingFactory(**mine, status="published"),  # no cost
        # sold, with a sale price
        "D": ListingFactory(**mine, status="sold", purchase_cost=D("5.00"), sale_price=D("30.00"),
                            sale_fees=D("2.50"), listed_at=utc(2026, 3, 1, 10), sold_at=utc(2026, 3, 5, 10)),
        "E": ListingFactory(**mine, status="sold", purchase_cost=D("8.00"), sale_price=D("15.00"),
                            created_at=utc(2026, 2, 1), sold_at=utc(2026, 2, 28, 23, 30)),  # never listed
        "F": ListingFactory(**mine, status="sold", sale_price=D("12.00"), sale_fees=D("1.00"),
                            listed_at=utc(2026, 2, 20, 22, 30), sold_at=utc(2026, 2, 28, 22, 30)),  # no cost
        "I": ListingFactory(**mine, status="sold", purchase_cost=D("1.00"), sale_price=D("11.00"),
                            sale_fees=D("0.00"), listed_at=utc(2025, 3, 1), sold_at=utc(2025, 3, 10)),  # > 12 months
        "L": ListingFactory(**mine, status="sold", purchase_cost=D("2.00"), sale_price=D("5.00")),  # no date
        # sold without a sale price
        "G": ListingFactory(**mine, status="sold", purchase_cost=D("7.00"), listed_at=utc(2026, 3, 9, 10),
                            sold_at=utc(2026, 3, 10, 10)),
        # archived (bought, never sold)
        "H": ListingFactory(**mine, status="archived", purchase_cost=D("4.00")),
        # GBP
        "J": ListingFactory(**mine, status="sold", currency="GBP", purchase_cost=D("3.00"), sale_price=D("9.00"),
                            sale_fees=D("1.00"), listed_at=utc(2026, 1, 5), sold_at=utc(2026, 1, 15)),
        "M": ListingFactory(**mine, status="sold", currency="GBP", purchase_cost=D("10.00"), sale_price=D("10.00"),
                            listed_at=utc(2026, 3, 3), sold_at=utc(2026, 3, 2)),  # sold "before" listed: 0 days
        # Oona's
        "K": ListingFactory(owner=other_operator, status="sold", purchase_cost=D("100.00"), sale_price=D("300.00"),
                            listed_at=utc(2026, 3, 1), sold_at=utc(2026, 3, 11)),
    }


def by_currency(summary):
    return {figures.currency: figures for figures in summary.currencies}


def month(figures, year, number):
    return next(m for m in figures.months if m.month == datetime.date(year, number, 1))


def test_an_operators_figures_are_worked_out_from_their_own_rows(rows, operator):
    summary = inventory.summary(operator)

    assert summary.items_in_stock == 3  # A, B, C
    assert summary.items_listed == 2  # B, C
    assert summary.items_sold == 8  # D E F I L G J M
    assert summary.sold_this_month == 4  # D, E (1 March in Paris), G, M; not F (28 February in Paris)
    assert summary.stock_without_cost == 1  # C
    assert summary.sold_without_cost == 1  # F
    assert summary.sold_without_price == 1  # G
    assert summary.sold_without_date == 1  # L
    # D 4, E 27 d 23.5 h, F 8, G 1, I 9, J 10, M 0 (clamped): 59.979 / 7
    assert summary.average_days_to_sell == D("8.6")

    assert [f.currency for f in summary.currencies] == ["EUR", "GBP"]  # most listings first
    eur, gbp = by_currency(summary)["EUR"], by_currency(summary)["GBP"]
    assert eur.stock_value == D("30.00")  # A 10 + B 20 (C has no cost)
    assert eur.revenue == D("73.00")  # D 30 + E 15 + F 12 + I 11 + L 5 (G has no sale price)
    assert eur.fees == D("3.50")  # D 2.50 + F 1.00
    assert eur.cost_of_sold == D("16.00")  # D 5 + E 8 + I 1 + L 2
    assert eur.profit == D("53.50")
    assert eur.written_off == D("4.00")  # H
    assert (gbp.stock_value, gbp.revenue, gbp.fees, gbp.cost_of_sold, gbp.profit) == (
        D("0.00"), D("19.00"), D("1.00"), D("13.00"), D("5.00"))

    # The profit is the sum of Listing.profit over the sold rows that have one.
    assert eur.profit + gbp.profit == sum(
        row.profit for row in rows.values() if row.owner == operator and row.status == "sold"
        and row.profit is not None)


def test_profit_per_month_covers_twelve_calendar_months_of_the_time_zone(rows, operator):
    summary = inventory.summary(operator)
    eur, gbp = by_currency(summary)["EUR"], by_currency(summary)["GBP"]

    assert summary.month_starts[0] == datetime.date(2025, 4, 1)
    assert summary.month_starts[-1] == datetime.date(2026, 3, 1)
    assert len(eur.months) == len(gbp.months) == 12
    march, february = month(eur, 2026, 3), month(eur, 2026, 2)
    assert (march.sold, march.revenue, march.fees, march.cost, march.profit) == (
        2, D("45.00"), D("2.50"), D("13.00"), D("29.50"))  # D and E
    assert (february.sold, february.profit) == (1, D("11.00"))  # F
    assert month(gbp, 2026, 1).profit == D("5.00")  # J
    assert (month(gbp, 2026, 3).sold, month(gbp, 2026, 3).profit) == (1, D("0.00"))  # M
    others = [m for m in eur.months if m.month not in (datetime.date(2026, 3, 1), datetime.date(2026, 2, 1))]
    assert all(m.sold == 0 and m.profit == 0 for m in others)  # I (March 2025) is out of the window

    longer = inventory.summary(operator, months=13)
    assert month(by_currency(longer)["EUR"], 2025, 3).profit == D("10.00")  # I comes in


def test_in_utc_the_boundary_sale_falls_in_february(rows, operator, settings):
    settings.TIME_ZONE = "UTC"
    summary = inventory.summary(operator)
    eur = by_currency(summary)["EUR"]
    assert summary.sold_this_month == 3  # D, G, M: E is 28 February in UTC
    assert (month(eur, 2026, 2).sold, month(eur, 2026, 2).profit) == (2, D("18.00"))  # E 7 + F 11


def test_viewers_and_admins_see_everyones_figures_another_operator_only_theirs(
        rows, viewer, admin_user, other_operator):
    for user in (viewer, admin_user):
        summary = inventory.summary(user)
        eur = by_currency(summary)["EUR"]
        assert summary.items_sold == 9
        assert eur.revenue == D("373.00") and eur.profit == D("253.50")  # + K: 300 - 100

    theirs = inventory.summary(other_operator)
    assert theirs.items_sold == 1 and theirs.items_in_stock == 0
    assert [(f.currency, f.revenue, f.profit) for f in theirs.currencies] == [("EUR", D("300.00"), D("200.00"))]


def test_nothing_yet_is_zeros_in_the_default_currency(operator):
    summary = inventory.summary(operator)
    assert summary.items_in_stock == summary.items_sold == 0
    assert summary.average_days_to_sell is None
    assert summary.warnings == []
    [eur] = summary.currencies
    assert (eur.currency, eur.stock_value, eur.profit) == ("EUR", D("0.00"), D("0.00"))
    assert len(eur.months) == 12 and all(m.profit == 0 for m in eur.months)


def test_the_uncertain_figures_are_named(rows, operator):
    assert inventory.summary(operator).warnings == [
        "1 item in stock without a purchase cost (the stock value leaves them out).",
        "1 item sold without a purchase cost (their whole sale price counts as profit).",
        "1 item marked sold without a sale price (left out of revenue and profit).",
        "1 item marked sold without a sale date (left out of the months and the days to sell).",
    ]
    ListingFactory(owner=operator, status="ready")
    ListingFactory(owner=operator, status="ready")
    assert inventory.summary(operator).warnings[0].startswith("3 items in stock without a purchase cost")


def test_the_query_count_does_not_grow_with_the_rows(operator):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            inventory.summary(operator)
        return len(captured)

    ListingFactory(owner=operator, status="sold", sale_price=D("5.00"), sold_at=utc(2026, 3, 2))
    few = queries()
    for day in range(1, 28):
        ListingFactory(owner=operator, status="sold", sale_price=D("5.00"), sold_at=utc(2026, 2, day),
                       currency="GBP" if day % 2 else "EUR")
        ListingFactory(owner=operator, status="ready", purchase_cost=D("3.00"))
    assert queries() == few == 3


@pytest.mark.parametrize("value", ["0", "61", "-1", "1.5", "twelve", "99999999999999999999", "١٢"])
def test_months_out_of_range_is_a_field_error(value):
    with pytest.raises(ValidationError) as caught:
        inventory.parse_months(value)
    assert caught.value.message_dict == {"months": ["A whole number from 1 to 60 is required."]}


def test_months_defaults_and_bounds():
    assert inventory.parse_months(None) == inventory.parse_months("") == 12
    assert inventory.parse_months("1") == 1 and inventory.parse_months(" 60 ") == 60


def test_days_in_stock_count_from_the_purchase_date_else_the_day_entered(operator):
    from vinted.models import Listing

    bought = ListingFactory(owner=operator, purchase_date=datetime.date(2026, 3, 1))
    entered = ListingFactory(owner=operator, created_at=utc(2026, 3, 10, 23, 30))  # 11 March in Paris
    since = dict(inventory.with_in_stock_since(Listing.objects.all()).values_list("pk", "in_stock_since"))
    assert since == {bought.pk: datetime.date(2026, 3, 1), entered.pk: datetime.date(2026, 3, 11)}
    assert inventory.days_since(since[bought.pk]) == 14 and inventory.days_since(since[entered.pk]) == 4
    assert inventory.days_since(datetime.date(2026, 4, 1)) == 0 and inventory.days_since(None) is None
