"""A failing YouTube call ends its attempt at once and is re-enqueued; it never stalls the worker
(issue 7, item 2).

The fake YouTube (tests/fakes/youtube_server.py) answers the OAuth token request with a 503, or the
token request goes to a port that drops every connection unanswered (a failing network). The real
job wrapper and the real django-tasks-db worker run in this process; `time.sleep` is replaced by a
recorder, so any wait in the job path would show up as a recorded sleep instead of passing real time.
"""

import socket
import threading
import time

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from monitoring.breakers import breaker
from monitoring.models import Event, JobRun
from pipeline import services
from pipeline.choices import RunStatus, StageStatus
from tests.pipeline.test_runs import fresh, stages_of


@pytest.fixture(autouse=True)
def _long_backoff(settings):
    """A retry never falls due during the worker pass that scheduled it (however slow the machine)."""
    settings.JOB_BACKOFF_BASE_SECONDS = 600


@pytest.fixture
def sleeps(monkeypatch):
    """Every time.sleep() called from now on (nothing really sleeps)."""
    recorded: list[float] = []
    monkeypatch.setattr(time, "sleep", recorded.append)
    return recorded


def publish(worker, finished_run, user):
    video = finished_run(user).video
    return worker.commit(services.publish_video, video, user, privacy="public")


def publish_job(run) -> JobRun:
    return JobRun.objects.filter(name="pipeline.execute_stage", args=[run.pk]).latest("pk")


def test_a_failing_token_refresh_ends_the_attempt_at_once_and_is_requeued_with_backoff(
        operator, worker, youtube, finished_run, sleeps):
    youtube.token_error_status = 503
    run = publish(worker, finished_run, operator)
    other = worker.start(operator)  # a library run queued behind the failing publish

    worker.step()

    assert youtube.token_requests == 1  # one try, no retry inside the job
    assert sleeps == []  # and no wait
    stage = stages_of(run)["publish"]
    assert stage.status == StageStatus.QUEUED and stage.attempts == 1
    assert "Attempt 1 failed (YouTube unreachable" in stage.log and "HTTP 503" in stage.log
    job = publish_job(run)
    assert job.status == "retrying" and job.attempt == 2
    assert job.run_after > timezone.now()  # re-enqueued with backoff, not retried in place
    task = DBTaskResult.objects.get(id=job.task_result_id)
    assert task.status == "READY" and task.run_after == job.run_after
    assert fresh(run).status == RunStatus.RUNNING
    assert breaker("youtube").state().failure_count == 1  # the breaker counted it
    # The same worker pass went on with the other run.
    assert stages_of(other)["compose"].status == StageStatus.SUCCEEDED


class DroppingServer:
    """A TCP port that accepts each connection and closes it unanswered, counting them (a network
    that drops every request)."""

    def __init__(self):
        self.connections = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/token"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self):
        self._sock.close()


@pytest.fixture
def dropping_server():
    server = DroppingServer()
    yield server
    server.close()


def test_with_the_network_dropping_requests_the_attempt_returns_at_once_and_waits_in_the_queue(
        operator, worker, youtube, finished_run, sleeps, dropping_server, settings):
    run = publish(worker, finished_run, operator)
    settings.YOUTUBE_TOKEN_URL = dropping_server.url

    worker.step()

    assert dropping_server.connections == 1  # one try, no retry inside the job
    assert sleeps == []
    stage = stages_of(run)["publish"]
    assert stage.status == StageStatus.QUEUED and stage.attempts == 1
    assert "Attempt 1 failed (YouTube unreachable" in stage.log
    job = publish_job(run)
    assert job.status == "retrying" and job.run_after > timezone.now()
    assert breaker("youtube").state().failure_count == 1


def test_the_youtube_breaker_opens_after_its_threshold_and_then_nothing_is_sent(
        operator, worker, youtube, finished_run, sleeps):
    youtube.token_error_status = 503
    run = publish(worker, finished_run, operator)

    worker.drain()  # every backoff made due at once: the stage's three attempts

    run = fresh(run)
    assert run.status == RunStatus.FAILED and run.error.endswith("(gave up after 3 attempts)")
    assert youtube.token_requests == 3  # one request per attempt
    assert sleeps == []
    state = breaker("youtube").state()
    assert state.state == "open" and state.failure_count == 3 and "HTTP 503" in state.last_error
    assert Event.objects.filter(kind="breaker.opened", payload__breaker="youtube").count() == 1

    # Another publish meanwhile sends nothing and waits for the breaker instead.
    second = publish(worker, finished_run, operator)
    worker.step()
    assert youtube.token_requests == 3
    stage = stages_of(second)["publish"]
    assert stage.status == StageStatus.QUEUED
    assert "The youtube service is paused after repeated failures" in stage.log
    assert publish_job(second).run_after > timezone.now()
