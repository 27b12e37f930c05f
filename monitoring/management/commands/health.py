"""`manage.py health`: run every health check (settings.HEALTH_CHECKS) here and print a table.

Exit code: 0 healthy, 1 degraded (a check warns), 2 unhealthy (a check fails), for scripts and
container health probes. `--json` prints the report instead of the table. The shell is trusted
(as for `backup`): every check's message is shown.
"""

import json

from django.core.management.base import BaseCommand
from django.core.serializers.json import DjangoJSONEncoder

from lofisite import health

EXIT_CODES = {"healthy": 0, "degraded": 1, "unhealthy": 2}


class Command(BaseCommand):
    help = "Run the health checks; exit 0 healthy, 1 degraded, 2 unhealthy."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the report as JSON instead of a table.")

    def handle(self, *args, **options):
        data = health.report(health.run_checks())
        if options["json"]:
            self.stdout.write(json.dumps(data, cls=DjangoJSONEncoder, indent=2))
        else:
            self.stdout.write(self.table(data))
        if EXIT_CODES[data["status"]]:
            raise SystemExit(EXIT_CODES[data["status"]])

    def table(self, data) -> str:
        rows = [("CHECK", "STATUS", "TIME", "MESSAGE")] + [
            (check["name"], check["status"], f"{check['time_seconds']:.3f} s", check["message"])
            for check in data["checks"]]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
                 for row in rows]
        style = {"healthy": self.style.SUCCESS, "degraded": self.style.WARNING}.get(data["status"], self.style.ERROR)
        return "\n".join(line.rstrip() for line in lines) + "\n\n" + style(f"Overall: {data['status']}")
