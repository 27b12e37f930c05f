from django.core.management.base import BaseCommand, CommandError

from monitoring.scheduler import Scheduler


class Command(BaseCommand):
    help = "Call every settings.SCHEDULER_HOOKS function each SCHEDULER_TICK_SECONDS (stale-job recovery, schedules)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run one tick and exit (non-zero if a hook failed).")

    def handle(self, *args, once=False, verbosity=1, **options):
        scheduler = Scheduler()
        if verbosity >= 1:
            self.stdout.write(f"Scheduler: {len(scheduler.hooks)} hook(s) every {scheduler.tick_seconds:g} s.")
        results = scheduler.run(once=once)
        failed = [path for path, result in results.items() if isinstance(result, Exception)]
        if verbosity >= 1 and once:
            for path, result in results.items():
                self.stdout.write(f"  {path}: {'FAILED ' if path in failed else ''}{result!r}")
        if once and failed:
            raise CommandError(f"{len(failed)} hook(s) failed: {', '.join(failed)}")
