"""The job wrapper against the real django-tasks-db backend and worker."""

import os
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from monitoring import jobs
from monitoring.jobs import JobLost, JobTimeout, TransientError, heartbeat, recover_stale_jobs
from monitoring.models import Event, JobRun, JobStat
from tests.clocks import ManualClock
from tests.monitoring import sample_jobs
from tests.monitoring.worker import make_due, run_worker

pytestmark = pytest.mark.django_db


def key():
    return uuid.uuid4().hex


def seconds_until(moment):
    return (moment - timezone.now()).total_seconds()


def test_enqueue_returns_queued_run_linked_to_a_task():
    run = sample_jobs.plain.enqueue(7)
    assert run.status == "queued" and run.attempt == 1 and run.max_attempts == 2
    assert run.args == [7] and run.kwargs == {}
    task = DBTaskResult.objects.get(id=run.task_result_id)
    assert task.status == "READY"
    assert task.task_path == "monitoring.jobs.run_job"
    assert task.args_kwargs == {"args": [run.pk], "kwargs": {}}


def test_enqueue_refuses_arguments_that_are_not_json():
    with pytest.raises(TypeError, match="JSON"):
        sample_jobs.plain.enqueue(object())
    assert not JobRun.objects.exists()


def test_worker_runs_job_and_records_success():
    run = sample_jobs.plain.enqueue(41)
    run_worker()
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert run.started_at and run.finished_at and run.finished_at >= run.started_at
    assert run.worker_pid == os.getpid()
    task = DBTaskResult.objects.get(id=run.task_result_id)
    assert task.status == "SUCCESSFUL" and task.return_value == 41
    stat = JobStat.objects.get(name="tests.plain")
    assert (stat.runs, stat.failures, stat.consecutive_failures, stat.last_status) == (1, 0, 0, "succeeded")


def test_transient_errors_retry_with_backoff_then_succeed(django_capture_on_commit_callbacks):
    k = key()
    run = sample_jobs.flaky.enqueue(k, 2)
    first_task = run.task_result_id

    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    run.refresh_from_db()
    assert run.status == "retrying" and run.attempt == 2
    assert "attempt 1 failed" in run.error
    # backoff_base 30 s * 2**0, plus at most 10% jitter
    assert 29 <= seconds_until(run.run_after) <= 33.5
    assert DBTaskResult.objects.get(id=first_task).status == "FAILED"
    retry_task = DBTaskResult.objects.get(id=run.task_result_id)
    assert retry_task.status == "READY" and retry_task.run_after == run.run_after

    run_worker()  # not due yet: nothing happens
    run.refresh_from_db()
    assert run.status == "retrying" and sample_jobs.ATTEMPTS[k] == 1

    make_due()
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    run.refresh_from_db()
    assert run.status == "retrying" and run.attempt == 3
    assert 59 <= seconds_until(run.run_after) <= 66.5  # 30 s * 2**1 + jitter

    make_due()
    run_worker()
    run.refresh_from_db()
    assert run.status == "succeeded" and run.attempt == 3
    assert DBTaskResult.objects.get(id=run.task_result_id).return_value == {"attempts": 3}
    assert DBTaskResult.objects.filter(status="FAILED").count() == 2

    stat = JobStat.objects.get(name="tests.flaky")
    assert (stat.runs, stat.failures, stat.consecutive_failures) == (3, 2, 0)
    assert stat.last_status == "succeeded" and "attempt 2 failed" in stat.last_error
    assert stat.mean_duration_seconds == pytest.approx(stat.total_duration_seconds / 3)
    assert Event.objects.filter(source="jobs", kind="job.retrying", status="warning").count() == 2


def test_transient_errors_fail_the_run_after_max_attempts(django_capture_on_commit_callbacks):
    run = sample_jobs.flaky.enqueue(key(), 10)
    for _ in range(3):
        make_due()
        with django_capture_on_commit_callbacks(execute=True):
            run_worker()
    run.refresh_from_db()
    assert run.status == "failed" and run.attempt == 3
    assert not DBTaskResult.objects.filter(status="READY").exists()  # no fourth attempt queued
    stat = JobStat.objects.get(name="tests.flaky")
    assert (stat.runs, stat.failures, stat.consecutive_failures, stat.last_status) == (3, 3, 3, "failed")
    assert Event.objects.filter(kind="job.failed", status="failed").count() == 1


def test_other_exceptions_fail_at_once():
    run = sample_jobs.broken.enqueue()
    run_worker()
    run.refresh_from_db()
    assert run.status == "failed" and run.attempt == 1
    assert run.error == "ValueError: bad input"
    task = DBTaskResult.objects.get(id=run.task_result_id)
    assert task.status == "FAILED" and task.exception_class_path == "builtins.ValueError"
    assert DBTaskResult.objects.count() == 1


def test_retry_after_hint_is_respected(breaker_settings):
    # An open breaker says "not before 60 s"; the job's own backoff (1 s) must not retry sooner.
    from monitoring.breakers import breaker

    failing = breaker("test")
    for _ in range(3):
        with pytest.raises(ZeroDivisionError):
            failing.call(lambda: 1 / 0)
    run = sample_jobs.calls_service.enqueue()
    run_worker()
    run.refresh_from_db()
    assert run.status == "retrying" and "BreakerOpen" in run.error
    assert seconds_until(run.run_after) >= 58


def test_call_runs_synchronously_with_the_same_bookkeeping():
    k = key()
    assert sample_jobs.quick_flaky.call(k, 2) == 3
    run = JobRun.objects.get(name="tests.quick_flaky")
    assert run.status == "succeeded" and run.attempt == 3 and run.task_result_id == ""
    assert run.worker_pid == os.getpid()
    stat = JobStat.objects.get(name="tests.quick_flaky")
    assert (stat.runs, stat.failures, stat.consecutive_failures) == (3, 2, 0)
    assert not DBTaskResult.objects.exists()


def test_call_raises_the_final_error():
    with pytest.raises(TransientError, match="attempt 3 failed"):
        sample_jobs.quick_flaky.call(key(), 5)
    run = JobRun.objects.get(name="tests.quick_flaky")
    assert run.status == "failed" and run.attempt == 3


@pytest.fixture
def job_clock(monkeypatch):
    """The job wrapper's monotonic clock (time limits, durations), moved only by the job's own sleeps."""
    clock = ManualClock(0.0)
    monkeypatch.setattr(jobs, "time", clock)
    return clock


def test_time_limit_raises_job_timeout_and_fails_the_run(job_clock):
    run = sample_jobs.slow.enqueue()
    run_worker()
    run.refresh_from_db()
    assert run.status == "failed" and run.error.startswith("JobTimeout: Time limit of 0.2 s")
    assert DBTaskResult.objects.get(id=run.task_result_id).exception_class_path == "monitoring.jobs.JobTimeout"
    # Stopped at the first heartbeat past 0.2 s (after two steps), not by the end of its 50 steps.
    assert job_clock.sleeps == [0.15, 0.15]
    assert JobStat.objects.get(name="tests.slow").total_duration_seconds == pytest.approx(0.3)  # as measured


def test_time_limit_in_synchronous_call():
    with pytest.raises(JobTimeout):
        sample_jobs.slow.call()
    assert JobRun.objects.get().status == "failed"


def test_heartbeat_records_progress_when_due(settings):
    settings.JOB_HEARTBEAT_SECONDS = 0
    sample_jobs.report_progress.call()
    run = JobRun.objects.get()
    assert run.progress == 0.5 and run.progress_message == "halfway"


def test_heartbeat_is_throttled(settings):
    settings.JOB_HEARTBEAT_SECONDS = 3600
    sample_jobs.report_progress.call()
    run = JobRun.objects.get()
    assert run.progress is None and run.progress_message == ""  # no write within the interval


def test_heartbeat_outside_a_job_does_nothing():
    heartbeat(0.3, "not in a job")  # no exception, no rows
    assert not JobRun.objects.exists()


def test_heartbeat_stops_a_run_that_was_taken_over(settings):
    settings.JOB_HEARTBEAT_SECONDS = 0
    with pytest.raises(JobLost):
        sample_jobs.taken_over.call()
    run = JobRun.objects.get()
    assert run.status == "dead"  # the loser doesn't overwrite the new owner's state
    assert not JobStat.objects.filter(name="tests.taken_over", runs__gt=0).exists()


# --- dead workers -------------------------------------------------------------------------------


def kill_worker(run, minutes_ago=10):
    """Leave the run as a worker that died mid-task would: running, heartbeat long ago."""
    then = timezone.now() - timedelta(minutes=minutes_ago)
    JobRun.objects.filter(pk=run.pk).update(status="running", started_at=then, heartbeat_at=then,
                                            worker_pid=999999, worker_host="gone-host")
    if run.task_result_id:
        DBTaskResult.objects.filter(id=run.task_result_id).update(status="RUNNING", started_at=then)
    run.refresh_from_db()
    return run


def test_stale_run_is_declared_dead_and_on_dead_is_called(django_capture_on_commit_callbacks):
    run = kill_worker(sample_jobs.with_hook.enqueue(5))
    with django_capture_on_commit_callbacks(execute=True):
        assert recover_stale_jobs() == 1
    run.refresh_from_db()
    assert run.status == "dead"
    assert "gone-host" in run.error and "stopped sending heartbeats" in run.error
    assert run.pk in sample_jobs.DEAD_RUNS
    task = DBTaskResult.objects.get(id=run.task_result_id)
    assert task.status == "FAILED" and task.exception_class_path == "monitoring.jobs.JobLost"
    assert task.finished_at is not None
    stat = JobStat.objects.get(name="tests.with_hook")
    assert (stat.failures, stat.last_status) == (1, "dead")
    assert Event.objects.filter(kind="job.dead", status="failed").exists()
    assert recover_stale_jobs() == 0  # handled once


def test_recovery_claim_is_taken_by_one_scheduler_only():
    run = kill_worker(sample_jobs.with_hook.enqueue(6))
    snapshot = JobRun.objects.get(pk=run.pk)  # what a second scheduler read at the same moment
    sample_jobs.DEAD_RUNS.clear()
    assert recover_stale_jobs() == 1
    assert jobs._recover(snapshot) is False
    assert sample_jobs.DEAD_RUNS == [run.pk]


def test_run_that_beats_after_being_read_as_stale_is_left_alone():
    run = kill_worker(sample_jobs.with_hook.enqueue(1))
    stale_snapshot = JobRun.objects.get(pk=run.pk)
    JobRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())  # the worker was only slow
    assert jobs._recover(stale_snapshot) is False
    run.refresh_from_db()
    assert run.status == "running"


def test_fresh_heartbeat_is_not_recovered(settings):
    run = kill_worker(sample_jobs.with_hook.enqueue(1), minutes_ago=0)
    assert recover_stale_jobs() == 0
    run.refresh_from_db()
    assert run.status == "running"


def test_dead_run_without_hook_is_requeued_while_attempts_remain():
    run = kill_worker(sample_jobs.plain.enqueue(3))
    assert recover_stale_jobs() == 1
    run.refresh_from_db()
    assert run.status == "retrying" and run.attempt == 2
    assert seconds_until(run.run_after) >= 9  # backoff_base 10 s
    new_task = DBTaskResult.objects.get(id=run.task_result_id)
    assert new_task.status == "READY"
    make_due()
    run_worker()
    run.refresh_from_db()
    assert run.status == "succeeded" and run.attempt == 2


def test_dead_run_on_its_last_attempt_fails():
    run = sample_jobs.plain.enqueue(3)
    JobRun.objects.filter(pk=run.pk).update(attempt=2)
    run = kill_worker(run)
    assert recover_stale_jobs() == 1
    run.refresh_from_db()
    assert run.status == "failed" and "stopped sending heartbeats" in run.error
    assert not DBTaskResult.objects.filter(status="READY").exists()


def test_failing_on_dead_hook_is_recorded_and_never_leaves_the_run_running(django_capture_on_commit_callbacks):
    run = kill_worker(sample_jobs.with_broken_hook.enqueue(2))
    with django_capture_on_commit_callbacks(execute=True):
        assert recover_stale_jobs() == 1
    run.refresh_from_db()
    assert run.status == "dead"
    assert Event.objects.filter(kind="job.on_dead_failed", message__contains="hook is broken").exists()


def test_dead_run_is_recovered_by_the_scheduler_command(settings):
    settings.SCHEDULER_HOOKS = ["monitoring.jobs.recover_stale_jobs"]
    run = kill_worker(sample_jobs.plain.enqueue(3))
    call_command("scheduler", "--once", verbosity=0)
    run.refresh_from_db()
    assert run.status == "retrying"


def test_job_must_be_module_level():
    def local():
        return None

    with pytest.raises(TypeError, match="module level"):
        jobs.job("tests.local")(local)
