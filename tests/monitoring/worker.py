"""Run the real django-tasks-db worker in-process, for tests (any app may import this).

`run_worker()` executes every task that is due now, then returns; tasks whose
`run_after` is in the future stay queued (`make_due()` moves them to now).
"""

from unittest import mock

from django.utils import timezone
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult


def run_worker(max_tasks: int | None = None) -> None:
    worker = db_worker.Worker(
        queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False,
        max_tasks=max_tasks, worker_id="pytest-worker", excluded_queue_names=[],
    )
    # The worker drops "old" connections between tasks; inside a test's transaction (PostgreSQL)
    # that would close the connection holding it. The signal handlers are not installed either.
    with mock.patch.object(db_worker, "close_old_connections", lambda: None):
        worker.run()


def make_due() -> int:
    """Pretend the backoff has passed: every waiting task becomes runnable now."""
    return DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
