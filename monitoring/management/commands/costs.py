"""`manage.py costs report [--days N] [--user U] [--csv]`: what the AI gateway spent (monitoring.costs)."""

import argparse
import csv

from accounts.commands import resolve_user
from lofisite.commands import BaseCommand, table
from monitoring import costs


def days_argument(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of days") from None
    if not 1 <= days <= 3660:
        raise argparse.ArgumentTypeError("between 1 and 3660 days")
    return days


class Command(BaseCommand):
    help = "AI spend of the last N days: totals, by person, model, request type and day (or CSV)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        report = sub.add_parser("report", help=self.help)
        report.add_argument("--days", type=days_argument, default=30, help="Days back, today included (30).")
        report.add_argument("--user", metavar="USERNAME", help="Only this person's spend.")
        report.add_argument("--csv", action="store_true",
                            help="One CSV row per day, person, model and request type, on stdout.")

    def handle(self, *args, days, user=None, csv=False, **options):
        person = resolve_user(user) if user else None
        data = costs.report(days=days, user=person)
        if csv:
            return self.write_csv(data)
        total = data["total"]
        who = f" of {person.username}" if person else ""
        self.stdout.write(f"AI spend{who} since {data['since']:%Y-%m-%d} ({days} day(s)): "
                          f"${total['cost_usd']:.4f} in {total['calls']} call(s), {total['failures']} failed.")
        for title, key, label in (("By person", "by_user", "username"), ("By model", "by_model", "model"),
                                  ("By request type", "by_request_type", "request_type"), ("By day", "by_day", "day")):
            if not data[key]:
                continue
            self.stdout.write(f"\n{title}:")
            rows = [(label.replace("_", " "), "calls", "failed", "tokens in", "tokens out", "images", "cost (USD)")]
            rows += [(row[label], row["calls"], row["failures"], row["prompt_tokens"], row["completion_tokens"],
                      row["images"], f"{row['cost_usd']:.4f}") for row in data[key]]
            self.stdout.write("\n".join(table(rows)))

    def write_csv(self, data):
        writer = csv.writer(self.stdout, lineterminator="\n")
        writer.writerows(costs.export_rows(data))  # the costs page's export, the same columns
