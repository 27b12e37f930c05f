"""The inventory and profit summary of the listings a user may see (`Listing.objects.restrict`).

Definitions (the page, the API, the chart, the CSV export and `manage.py vinted inventory`
all use these and only these):

- **in stock**: a listing in STOCK_STATUSES (bought, not sold or archived); the stock value is
  the sum of their purchase costs.
- **listed**: status "published" (on Vinted now).
- **sold**: status "sold". A sale counts towards revenue, fees, cost of sold items and profit
  only when it has a sale price (the same rule as `Listing.profit`); a sold item without a
  sale price is counted and named instead. A missing purchase cost or fee counts as zero,
  and the items without a cost are counted and named, so the reader knows the profit may
  be too high.
- **sold this month**: sold with `sold_at` in the current calendar month of TIME_ZONE.
- **days to sell**: from `listed_at` (else `created_at`) to `sold_at`, the same start as
  `Listing.days_to_sell`; the average is of the exact durations (in days, one decimal), never
  below zero per item.
- **written off**: the purchase cost of archived items (bought, never sold); not part of the
  profit, shown beside it.

Money is never added across currencies: every money figure is per currency (the listing's
`currency`), ordered with the currency of most listings first. Counts are across all.

Every figure comes from database aggregation (three queries in all, whatever the number of
listings), on SQLite and PostgreSQL alike.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Avg, Count, DateField, DecimalField, DurationField, ExpressionWrapper, F, Q, Sum, Value
from django.db.models.functions import Coalesce, Greatest, TruncDate, TruncMonth
from django.utils import timezone

from .choices import STOCK_STATUSES, Currency, ListingStatus
from .models import Listing

MONTHS_DEFAULT = 12
MONTHS_MAX = 60
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MONEY = DecimalField(max_digits=14, decimal_places=2)

STOCK = Q(status__in=STOCK_STATUSES)
SOLD = Q(status=ListingStatus.SOLD)
PRICED_SALE = SOLD & Q(sale_price__isnull=False)


@dataclass(frozen=True)
class MonthFigures:
    month: datetime.date  # the first day of the month
    sold: int
    revenue: Decimal
    fees: Decimal
    cost: Decimal

    @property
    def profit(self) -> Decimal:
        return self.revenue - self.fees - self.cost


@dataclass(frozen=True)
class CurrencyFigures:
    currency: str
    stock_value: Decimal
    revenue: Decimal
    fees: Decimal
    cost_of_sold: Decimal
    written_off: Decimal
    months: list[MonthFigures] = field(default_factory=list)

    @property
    def profit(self) -> Decimal:
        return self.revenue - self.fees - self.cost_of_sold


@dataclass(frozen=True)
class InventorySummary:
    items_in_stock: int
    items_listed: int
    items_sold: int
    sold_this_month: int
    average_days_to_sell: Decimal | None  # None: nothing sold with a date yet
    stock_without_cost: int
    sold_without_cost: int
    sold_without_price: int
    sold_without_date: int
    currencies: list[CurrencyFigures]
    month_starts: list[datetime.date]

    def month_rows(self) -> list[dict]:
        """Newest month first: {month, sold (all currencies), cells: [(currency, MonthFigures)]}."""
        rows = []
        for index, start in enumerate(self.month_starts):
            cells = [(figures.currency, figures.months[index]) for figures in self.currencies]
            rows.append({"month": start, "sold": sum(month.sold for _, month in cells), "cells": cells})
        return rows[::-1]

    @property
    def warnings(self) -> list[str]:
        """What makes a figure less than certain, in words a reseller reads."""
        notes = []
        if self.stock_without_cost:
            notes.append(f"{_items(self.stock_without_cost)} in stock without a purchase cost "
                         "(the stock value leaves them out).")
        if self.sold_without_cost:
            notes.append(f"{_items(self.sold_without_cost)} sold without a purchase cost "
                         "(their whole sale price counts as profit).")
        if self.sold_without_price:
            notes.append(f"{_items(self.sold_without_price)} marked sold without a sale price "
                         "(left out of revenue and profit).")
        if self.sold_without_date:
            notes.append(f"{_items(self.sold_without_date)} marked sold without a sale date "
                         "(left out of the months and the days to sell).")
        return notes


def _items(count: int) -> str:
    return "1 item" if count == 1 else f"{count} items"


def parse_months(value, default=MONTHS_DEFAULT) -> int:
    """The `months` a page, the API or a command asks for: a whole number 1..MONTHS_MAX."""
    if value in (None, ""):
        return default
    text = str(value).strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 4 and 1 <= int(text) <= MONTHS_MAX):
        raise ValidationError({"months": [f"A whole number from 1 to {MONTHS_MAX} is required."]})
    return int(text)


def month_starts(months: int, now=None) -> list[datetime.date]:
    """The first days of the last `months` calendar months of TIME_ZONE, oldest first, this one last."""
    today = timezone.localdate(now)
    year, month = today.year, today.month
    starts = []
    for _ in range(months):
        starts.append(datetime.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def _aware_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _money(column, condition=None):
    return Coalesce(Sum(column, filter=condition), Value(ZERO), output_field=MONEY)


def summary(user, *, months=MONTHS_DEFAULT, now=None) -> InventorySummary:
    """The figures of the listings `user` may see (operators: their own; viewers, admins: all)."""
    visible = Listing.objects.restrict(user).order_by()
    starts = month_starts(months, now)
    this_month = _aware_start(starts[-1])

    selling_time = Greatest(
        ExpressionWrapper(F("sold_at") - Coalesce("listed_at", "created_at"), output_field=DurationField()),
        Value(datetime.timedelta(0)), output_field=DurationField())
    counts = visible.aggregate(
        items_in_stock=Count("pk", filter=STOCK),
        items_listed=Count("pk", filter=Q(status=ListingStatus.PUBLISHED)),
        items_sold=Count("pk", filter=SOLD),
        sold_this_month=Count("pk", filter=SOLD & Q(sold_at__gte=this_month)),
        stock_without_cost=Count("pk", filter=STOCK & Q(purchase_cost__isnull=True)),
        sold_without_cost=Count("pk", filter=PRICED_SALE & Q(purchase_cost__isnull=True)),
        sold_without_price=Count("pk", filter=SOLD & Q(sale_price__isnull=True)),
        sold_without_date=Count("pk", filter=SOLD & Q(sold_at__isnull=True)),
        average_selling_time=Avg(selling_time, filter=SOLD & Q(sold_at__isnull=False)),
    )
    average = counts.pop("average_selling_time")

    per_currency = (
        visible.values("currency")
        .annotate(
            listings=Count("pk"),
            stock_value=_money("purchase_cost", STOCK),
            revenue=_money("sale_price", PRICED_SALE),
            fees=_money("sale_fees", PRICED_SALE),
            cost_of_sold=_money("purchase_cost", PRICED_SALE),
            written_off=_money("purchase_cost", Q(status=ListingStatus.ARCHIVED)),
        )
        .order_by("-listings", "currency")
    )
    monthly = (
        visible.filter(PRICED_SALE, sold_at__gte=_aware_start(starts[0]))
        .annotate(month=TruncMonth("sold_at", output_field=DateField()))
        .values("currency", "month")
        .annotate(sold=Count("pk"), revenue=_money("sale_price"), fees=_money("sale_fees"),
                  cost=_money("purchase_cost"))
        .order_by()
    )
    by_month = {(row["currency"], row["month"]): row for row in monthly}

    currencies = []
    for row in per_currency:
        figures = []
        for start in starts:
            found = by_month.get((row["currency"], start))
            figures.append(MonthFigures(start, found["sold"], *_cents(found, "revenue", "fees", "cost"))
                           if found else MonthFigures(start, 0, ZERO, ZERO, ZERO))
        currencies.append(CurrencyFigures(
            row["currency"], *_cents(row, "stock_value", "revenue", "fees", "cost_of_sold", "written_off"),
            months=figures))
    if not currencies:  # nothing yet: zeros in the default currency rather than no figures at all
        default = Listing._meta.get_field("currency").default or Currency.EUR
        currencies.append(CurrencyFigures(default, ZERO, ZERO, ZERO, ZERO, ZERO,
                                          [MonthFigures(start, 0, ZERO, ZERO, ZERO) for start in starts]))

    return InventorySummary(
        **counts,
        average_days_to_sell=None if average is None else _days(average),
        currencies=currencies,
        month_starts=starts,
    )


def as_data(summary: InventorySummary, months: int) -> dict:
    """The figures as plain data (Decimals, dates): what the API serialises and `--json` prints."""
    return {
        **{name: getattr(summary, name) for name in (
            "items_in_stock", "items_listed", "items_sold", "sold_this_month", "average_days_to_sell",
            "stock_without_cost", "sold_without_cost", "sold_without_price", "sold_without_date")},
        "months": months,
        "warnings": summary.warnings,
        "currencies": [{
            "currency": f.currency, "stock_value": f.stock_value, "revenue": f.revenue, "fees": f.fees,
            "cost_of_sold": f.cost_of_sold, "profit": f.profit, "written_off": f.written_off,
            "months": [{"month": m.month, "sold": m.sold, "revenue": m.revenue, "fees": m.fees, "cost": m.cost,
                        "profit": m.profit} for m in f.months],
        } for f in summary.currencies],
    }


def _cents(row: dict, *names) -> list[Decimal]:
    # SQLite sums decimals as floats; every figure leaves here with exactly two places.
    return [Decimal(row[name]).quantize(CENT) for name in names]


def _days(duration: datetime.timedelta) -> Decimal:
    return (Decimal(duration.total_seconds()) / Decimal(86400)).quantize(Decimal("0.1"))


def with_in_stock_since(queryset):
    """Annotate `in_stock_since`: the purchase date, else the day (in TIME_ZONE) the item was entered."""
    return queryset.annotate(in_stock_since=Coalesce("purchase_date", TruncDate("created_at"),
                                                    output_field=DateField()))


def days_since(day: datetime.date | None, today: datetime.date | None = None) -> int | None:
    if day is None:
        return None
    return max(((today or timezone.localdate()) - day).days, 0)


EXPORT_HEADER = ("id", "title", "owner", "status", "currency", "sku", "storage_location", "source",
                 "purchase_date", "purchase_cost", "in_stock_since", "days_in_stock", "listed_at", "price",
                 "sold_at", "sale_price", "sale_fees", "profit", "days_to_sell")
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def _moment(value) -> str:
    return "" if value is None else timezone.localtime(value).isoformat(timespec="minutes")


def export_rows(queryset):
    """The CSV export: a header, then one row per listing of `queryset` (already restricted to what
    the user may see), oldest first; money as plain decimals in the listing's currency, times in
    TIME_ZONE. Text that a spreadsheet would read as a formula is prefixed with an apostrophe."""
    yield EXPORT_HEADER
    today = timezone.localdate()
    rows = with_in_stock_since(queryset.select_related("owner")).order_by("pk")
    for listing in rows.iterator(chunk_size=500):
        in_stock = listing.status in STOCK_STATUSES
        yield (
            listing.pk, _text(listing.title), listing.owner.username, listing.status, listing.currency,
            _text(listing.sku), _text(listing.storage_location), _text(listing.source),
            listing.purchase_date or "", _blank(listing.purchase_cost),
            listing.in_stock_since if in_stock else "", days_since(listing.in_stock_since, today) if in_stock else "",
            _moment(listing.listed_at), _blank(listing.price),
            _moment(listing.sold_at), _blank(listing.sale_price), _blank(listing.sale_fees),
            _blank(listing.profit if listing.status == ListingStatus.SOLD else None),
            _blank(listing.days_to_sell if listing.status == ListingStatus.SOLD else None),
        )


def _blank(value):
    return "" if value is None else value
