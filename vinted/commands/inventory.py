"""`manage.py vinted inventory [--user U] [--months N] [--json]`: the inventory summary as a table, then
the profit per month (vinted.inventory; the figures of the listings the user may see)."""

import datetime
import json
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from accounts.commands import resolve_user
from lofisite.commands import table
from lofisite.formatting import format_money

from .. import inventory
from ..models import Listing

HELP = "The inventory and profit summary (stock at cost, sold, revenue, fees, profit per month)."


def add_arguments(parser):
    parser.add_argument("--user", help="Whose view of the figures (default: the first admin, who sees everyone's).")
    parser.add_argument("--months", default=str(inventory.MONTHS_DEFAULT),
                        help=f"Calendar months of profit per month, 1 to {inventory.MONTHS_MAX} "
                             f"(default {inventory.MONTHS_DEFAULT}).")
    parser.add_argument("--json", dest="as_json", action="store_true", help="Print the figures as JSON.")


def handle(command, *, user=None, months=None, as_json=False, **options):
    try:
        months = inventory.parse_months(months)
    except ValidationError as exc:
        raise CommandError(f"--months: {' '.join(exc.message_dict['months'])}") from exc
    actor = resolve_user(user)
    summary = inventory.summary(actor, months=months)
    if as_json:
        # Money and days as strings, dates as ISO dates: the API's JSON.
        command.stdout.write(json.dumps(inventory.as_data(summary, months), indent=2, default=_json_value))
        return
    for line in lines(summary, actor):
        command.stdout.write(line)


def lines(summary, actor) -> list[str]:
    whose = "everyone's listings" if _sees_everyone(actor) else f"{actor.username}'s listings"
    days = "-" if summary.average_days_to_sell is None else f"{summary.average_days_to_sell}"
    out = [f"Inventory of {whose}", ""]
    out += ["  " + line for line in table([
        ("FIGURE", "VALUE"),
        ("Items in stock", summary.items_in_stock),
        ("Listed on Vinted", summary.items_listed),
        ("Sold this month", summary.sold_this_month),
        ("Sold in all", summary.items_sold),
        ("Average days to sell", days),
    ])]
    out.append("")
    out += ["  " + line for line in table(
        [("CURRENCY", "STOCK AT COST", "REVENUE", "FEES", "COST OF SOLD", "PROFIT", "WRITTEN OFF")]
        + [(f.currency, *(format_money(value, f.currency) for value in (
            f.stock_value, f.revenue, f.fees, f.cost_of_sold, f.profit, f.written_off)))
           for f in summary.currencies])]
    for note in summary.warnings:
        out.append(f"  Note: {note}")
    out += ["", "Profit per month"]
    rows = [("MONTH", "CURRENCY", "SOLD", "REVENUE", "FEES", "COST", "PROFIT")]
    for f in summary.currencies:
        for m in f.months:
            rows.append((f"{m.month:%Y-%m}", f.currency, m.sold, *(format_money(value, f.currency) for value in (
                m.revenue, m.fees, m.cost, m.profit))))
    out += ["  " + line for line in table(rows)]
    return out


def _sees_everyone(user) -> bool:
    return Listing.objects.shows_everyone(user)


def _json_value(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
