"""Cancelling names who did it, is logged once, and is not counted as a failure."""

import pytest

from monitoring.models import Event
from pipeline import services
from pipeline.choices import RunStatus

pytestmark = pytest.mark.django_db


def test_an_admin_cancelling_an_operators_run_is_named_and_logged_once(
        operator, admin_user, preset, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = services.start_run(operator, preset=preset, duration_s=30)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_run(run, admin_user)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert run.error == "Cancelled by ada (Admin) before it started running."
    cancel_events = Event.objects.filter(kind__startswith="run.cancel")
    assert [(e.kind, e.user) for e in cancel_events] == [("run.cancelled", admin_user)]


def test_a_retried_run_forgets_who_cancelled_it(operator, preset):
    run = services.start_run(operator, preset=preset, duration_s=30)
    services.cancel_run(run, operator)
    services.retry_run(run, operator)
    run.refresh_from_db()
    assert (run.status, run.cancelled_by, run.cancel_requested) == (RunStatus.QUEUED, None, False)


def test_cancelled_runs_are_not_failures_in_the_success_rate(operator, make_run, finished_run):
    finished_run(operator)
    make_run(operator, RunStatus.FAILED, error="Render failed")
    make_run(operator, RunStatus.CANCELLED)
    make_run(operator, RunStatus.CANCELLED)
    assert services.success_rate(operator) == 0.5



def test_a_cancel_between_the_workers_read_and_the_stage_start_is_not_overwritten(
        operator, preset, django_capture_on_commit_callbacks):
    """The worker has read the queued run when the operator cancels it: the stage must not start.

    The cancel is made to land in exactly that gap by running it from the database layer,
    right after the worker's query for the run's stages (no code under test is replaced).
    Before, the stage and the run were marked running in two writes that did not look at
    the cancel: the cancelled run turned "running", its stage started, and it was cancelled
    a second time at the stage's first progress report.
    """
    from django.db import connection

    from pipeline.models import Run

    with django_capture_on_commit_callbacks(execute=True):
        run = services.start_run(operator, preset=preset, duration_s=30)
    landed = []

    def cancel_after_the_stages_are_read(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not landed and sql.lstrip().upper().startswith("SELECT") and 'FROM "pipeline_stage"' in sql:
            landed.append(sql)
            services.cancel_run(Run.objects.get(pk=run.pk), operator)
        return result

    with django_capture_on_commit_callbacks(execute=True):
        with connection.execute_wrapper(cancel_after_the_stages_are_read):
            services.execute_next_stage(run.pk)

    assert landed, "the cancel never landed: the worker no longer reads the stages first"
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and run.started_at is None
    compose = run.stages.get(name="compose")
    assert (compose.status, compose.attempts, compose.log) == ("cancelled", 0, "")
    assert list(Event.objects.filter(kind__startswith="run.").values_list("kind", flat=True).order_by("pk")) == [
        "run.queued", "run.cancelled"]
