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

