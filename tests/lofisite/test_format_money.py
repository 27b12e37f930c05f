"""lofisite.formatting.format_money: how a sum of money reads on pages and in commands."""

from decimal import Decimal

import pytest
from django.template import Context, Template

from lofisite.formatting import format_money


@pytest.mark.parametrize("amount, currency, text", [
    (Decimal("1234.5"), "EUR", "€1,234.50"),
    (Decimal("-3"), "GBP", "-£3.00"),
    (Decimal("0.005"), "USD", "$0.01"),
    (12, "PLN", "12.00 PLN"),
    ("7.1", "SEK", "7.10 SEK"),
    (Decimal("5"), "", "5.00"),
    (None, "EUR", "–"),
    ("", "EUR", "–"),
    ("not money", "EUR", "–"),
])
def test_format_money(amount, currency, text):
    assert format_money(amount, currency) == text


def test_the_money_filter():
    rendered = Template("{% load ui %}{{ value|money:'GBP' }}").render(Context({"value": Decimal("19.5")}))
    assert rendered == "£19.50"
