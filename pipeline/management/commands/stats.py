"""`manage.py stats`: the event log by source and status, and the video library in numbers."""

import json

from django.core.management.base import BaseCommand
from django.db.models import Count, Q, Sum

from monitoring.choices import EventStatus
from monitoring.models import Event
from pipeline.choices import RunStatus, UploadStatus
from pipeline.models import Run, Video

from ._shared import table

ON_YOUTUBE = (UploadStatus.UPLOADED, UploadStatus.LOCKED_PRIVATE)


def collect() -> dict:
    """The numbers `stats` prints, as plain data."""
    by_source: dict[str, dict[str, int]] = {}
    for row in Event.objects.values("source", "status").annotate(n=Count("id")).order_by("source", "status"):
        by_source.setdefault(row["source"], {})[row["status"]] = row["n"]
    finished = Video.objects.exclude(video="")
    totals = finished.aggregate(
        seconds=Sum("duration_s"), size=Sum("size_bytes"),
        youtube=Count("id", filter=Q(upload_status__in=ON_YOUTUBE)),
    )
    runs = dict(Run.objects.values_list("status").annotate(n=Count("id")).order_by())
    return {
        "events": {source: {**counts, "total": sum(counts.values())} for source, counts in by_source.items()},
        "events_total": sum(sum(counts.values()) for counts in by_source.values()),
        "runs": {status: runs.get(status, 0) for status in RunStatus.values},
        "videos": {
            "total": finished.count(),
            "on_youtube": totals["youtube"] or 0,
            "audio_hours": round((totals["seconds"] or 0) / 3600, 2),
            "size_bytes": totals["size"] or 0,
        },
    }


class Command(BaseCommand):
    help = "Events by source and status, runs by status, and videos in total (on YouTube, hours of audio)."

    def add_arguments(self, parser):
        parser.add_argument("--json", dest="as_json", action="store_true", help="Print the numbers as JSON.")

    def handle(self, *args, as_json=False, **options):
        data = collect()
        if as_json:
            self.stdout.write(json.dumps(data, indent=2, sort_keys=True))
            return
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
        self.stdout.write("Runs: " + ", ".join(f"{count} {status}" for status, count in data["runs"].items()))
        videos = data["videos"]
        self.stdout.write(f"Videos: {videos['total']} in total, {videos['on_youtube']} uploaded to YouTube, "
                          f"{videos['audio_hours']:.2f} hours of audio, {videos['size_bytes'] / 1e9:.2f} GB")
