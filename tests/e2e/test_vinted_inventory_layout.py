"""The inventory page in a browser at 390 and 1440 px: the chart picture loads under the strict CSP
(no console error or blocked resource: conftest's page watch), nothing is wider than the screen,
and screenshots go to test-artifacts/screenshots/vinted-inventory-<width>.png."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.helpers import has_horizontal_scroll, overflowing_elements, sign_in, visit
from tests.factories import ListingFactory

pytestmark = pytest.mark.browser


def fill_inventory(owner):
    now = timezone.now()
    for months_ago, (price, cost) in enumerate([("45.00", "12.00"), ("30.00", "35.00"), ("80.00", "20.00"),
                                                ("22.50", "5.00"), ("60.00", "18.00")]):
        sold = now - datetime.timedelta(days=30 * months_ago + 1)
        ListingFactory(owner=owner, status="sold", purchase_cost=Decimal(cost), sale_price=Decimal(price),
                       sale_fees=Decimal("2.90"), listed_at=sold - datetime.timedelta(days=9), sold_at=sold)
    ListingFactory(owner=owner, status="sold", currency="GBP", purchase_cost=Decimal("4.00"),
                   sale_price=Decimal("19.00"), listed_at=now - datetime.timedelta(days=40),
                   sold_at=now - datetime.timedelta(days=35))
    for i in range(4):
        ListingFactory(owner=owner, status="published" if i % 2 else "ready",
                       title=f"Levi's 501 straight-leg jeans, W32 L34, dark indigo wash, item {i}",
                       purchase_cost=Decimal("9.50") if i else None, sku=f"JEANS-2026-{i:04d}",
                       storage_location="Shelf B, box 12 (basement storage unit)",
                       purchase_date=(now - datetime.timedelta(days=20 + i)).date())


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1440px"])
def test_inventory_page_fits_the_screen_and_shows_its_chart(open_page, operator, screenshots_dir, viewport):
    fill_inventory(operator)
    page = open_page(viewport=viewport)
    sign_in(page, operator.username)
    visit(page, "/vinted/inventory/")
    chart = page.get_by_role("img", name="Bar chart of the profit per month")
    chart.wait_for()
    assert page.evaluate("() => document.querySelector('figure.chart img').naturalWidth") > 0
    assert page.get_by_text("1 item in stock without a purchase cost").is_visible()
    page.screenshot(path=screenshots_dir / f"vinted-inventory-{viewport['width']}.png", full_page=True)
    assert not has_horizontal_scroll(page), overflowing_elements(page)
