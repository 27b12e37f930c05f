from django.core.management.base import BaseCommand, CommandError

from monitoring import breakers
from monitoring.models import CircuitBreaker


class Command(BaseCommand):
    help = "List circuit breakers, or reset one (close it) from a shell."

    def add_arguments(self, parser):
        parser.add_argument("--reset", metavar="NAME", help="Close this breaker and clear its counters.")

    def handle(self, *args, reset=None, **options):
        if reset:
            try:
                row = breakers.reset(reset, by_user=None)
            except CircuitBreaker.DoesNotExist as exc:
                raise CommandError(str(exc))
            self.stdout.write(self.style.SUCCESS(f"{row.name} is {row.get_state_display().lower()}."))
            return
        for row in breakers.all_breakers():
            wait = f", retry in {row.retry_after_seconds} s" if row.retry_after_seconds is not None else ""
            self.stdout.write(f"{row.name:<16} {row.get_state_display():<10} "
                              f"failures {row.failure_count}/{row.config['failure_threshold']}{wait}"
                              f"{'  last error: ' + row.last_error if row.last_error else ''}")
