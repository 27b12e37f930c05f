"""`manage.py stats`: the system (host, database, queue, heartbeats), the event log by source and status,
and each app's business counts from the collectors in settings.STATS_COLLECTORS."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from monitoring import stats
from monitoring.choices import EventStatus
from monitoring.models import Event

from ._shared import table

SECTIONS = ("system", "events", "apps")


def event_counts() -> dict:
    by_source: dict[str, dict[str, int]] = {}
    for row in Event.objects.values("source", "status").annotate(n=Count("id")).order_by("source", "status"):
        by_source.setdefault(row["source"], {})[row["status"]] = row["n"]
    return {
        "events": {source: {**counts, "total": sum(counts.values())} for source, counts in by_source.items()},
        "events_total": sum(sum(counts.values()) for counts in by_source.values()),
    }


def collect(sections=SECTIONS, now=None) -> dict:
    """The numbers `stats` prints, as plain data (JSON-safe)."""
    data = {}
    if "system" in sections:
        data["system"] = stats.system_counts()
    if "events" in sections:
        data.update(event_counts())
    if "apps" in sections:
        try:
            data["apps"] = stats.app_counts(now=now)
        except stats.CollectorError as exc:
            raise CommandError(str(exc)) from exc
    return data


def _gb(value) -> str:
    return "unknown" if value is None else f"{value / 1e9:.2f} GB"


def _age(seconds) -> str:
    return "never seen" if seconds is None else f"{seconds:.0f} s ago"


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


class Command(BaseCommand):
    help = ("The system (CPU, memory, disk, database size, queue depth, worker and scheduler heartbeats), events "
            "by source and status, and each app's business counts (settings.STATS_COLLECTORS).")

    def add_arguments(self, parser):
        parser.add_argument("--json", dest="as_json", action="store_true", help="Print the numbers as JSON.")
        parser.add_argument("--only", choices=SECTIONS, action="append", dest="sections",
                            help="Print only this section (repeatable): system, events or apps.")

    def handle(self, *args, as_json=False, sections=None, **options):
        data = collect(sections or SECTIONS)
        if as_json:
            self.stdout.write(json.dumps(data, indent=2, sort_keys=True))
            return
        if "system" in data:
            self.write_system(data["system"])
        if "events" in data:
            self.write_events(data)
        for app, counts in data.get("apps", {}).items():
            self.write_app(app, counts)

    def write_system(self, system):
        self.stdout.write("System")
        self.stdout.write(f"  CPU: {system['cpu_percent']:.0f} %, load {' / '.join(map(str, system['load_average']))}; "
                          f"{system['processes']} processes; up {system['uptime_seconds'] / 3600:.1f} h")
        self.stdout.write(f"  Memory: {system['memory_percent']:.0f} % used, "
                          f"{_gb(system['memory_available_bytes'])} available")
        self.stdout.write(f"  Disk ({system['disk_path']}): {system['disk_percent']:.0f} % used, "
                          f"{_gb(system['disk_free_bytes'])} free")
        self.stdout.write(f"  Database: {_gb(system['database_bytes'])}")
        oldest = system["queue_oldest_ready_age_seconds"]
        self.stdout.write(f"  Task queue: {system['queue_ready']} ready"
                          + ("" if oldest is None else f", the oldest waiting {oldest:.0f} s"))
        self.stdout.write(f"  Worker: last sign of life {_age(system['worker_heartbeat_age_seconds'])}; "
                          f"scheduler: last tick {_age(system['scheduler_heartbeat_age_seconds'])}")
        self.stdout.write("")

    def write_events(self, data):
        statuses = EventStatus.values
        self.stdout.write("Events by source and status")
        if data["events"]:
            rows = [("SOURCE", *(s.upper() for s in statuses), "TOTAL")]
            for source, counts in sorted(data["events"].items()):
                rows.append((source, *(counts.get(s, 0) for s in statuses), counts["total"]))
            totals = [sum(counts.get(s, 0) for counts in data["events"].values()) for s in statuses]
            rows.append(("all", *totals, data["events_total"]))
            for line in table(rows):
                self.stdout.write("  " + line)
        else:
            self.stdout.write("  No events recorded yet.")
        self.stdout.write("")

    def write_app(self, app, counts):
        """A collector's counts: a number per line, or a {label: number} group on one line."""
        self.stdout.write(_label(app))
        for key, value in counts.items():
            if isinstance(value, dict):
                value = ", ".join(f"{label.replace('_', ' ')} {number}" for label, number in value.items())
            self.stdout.write(f"  {_label(key)}: {value}")
        self.stdout.write("")
