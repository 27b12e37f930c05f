"""`manage.py jobs list` and `manage.py jobs reset-stats [JOB]`: the job wrapper's statistics and queue."""

from django.core.management.base import CommandError
from django.db.models import Count

from lofisite.commands import BaseCommand, table
from monitoring import jobs
from monitoring.choices import JobStatus
from monitoring.models import JobRun, JobStat


class Command(BaseCommand):
    help = "Background jobs: statistics per job and the queue (list), or reset a job's statistics."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("list", help="Runs, success rate, mean duration, failures in a row and last error per job.")
        reset = sub.add_parser("reset-stats", help="Set a job's counters (or every job's) back to zero.")
        reset.add_argument("job", nargs="?", help="A job name from `jobs list`; none resets every job.")

    def handle(self, *args, subcommand, **options):
        if subcommand == "reset-stats":
            return self.reset(options.get("job"))
        return self.list()

    def list(self):
        rows = [("job", "runs", "success", "mean (s)", "failures in a row", "last run", "last error")]
        for stat in JobStat.objects.order_by("name"):
            success = f"{(stat.runs - stat.failures) / stat.runs:.0%}" if stat.runs else "-"
            mean = f"{stat.total_duration_seconds / stat.runs:.2f}" if stat.runs else "-"
            last_run = f"{stat.last_run_at:%Y-%m-%d %H:%M} {stat.last_status}" if stat.last_run_at else "-"
            error = (stat.last_error or "").splitlines()[0][:60] if stat.last_error else ""
            rows.append((stat.name, stat.runs, success, mean, stat.consecutive_failures, last_run, error))
        self.stdout.write("\n".join(table(rows)) if len(rows) > 1 else "No job has run yet.")
        queue = dict(JobRun.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RETRYING, JobStatus.RUNNING])
                     .values_list("status").annotate(n=Count("id")).order_by())
        self.stdout.write("\nQueue: " + ", ".join(f"{queue.get(status, 0)} {status}" for status in
                                                  (JobStatus.QUEUED, JobStatus.RETRYING, JobStatus.RUNNING)))

    def reset(self, name):
        if name and not JobStat.objects.filter(name=name).exists():
            known = ", ".join(JobStat.objects.order_by("name").values_list("name", flat=True)) or "none yet"
            raise CommandError(f"No statistics for a job named {name!r}. Known: {known}.")
        count = jobs.reset_stats(name, by_user=None)
        self.stdout.write(f"Reset the statistics of {name or 'every job'} ({count} row(s)).")
