"""Run lifecycle and failure paths, through the real components.

Runs execute on the real django-tasks-db worker (in-process, tests.monitoring.worker),
the media engines call the real ffmpeg, YouTube and OpenAI are the local fake servers
of tests/fakes. Nothing under test is patched: failures come from the environment
(an ffmpeg that exits 1, a full or read-only disk, fake servers told to misbehave, a
worker process killed with SIGKILL).

In `db` tests the worker runs inside the test's transaction, so the next stage (queued
with transaction.on_commit) and the events are only written when callbacks are executed:
`steps()` / `drain()` wrap each worker pass in django_capture_on_commit_callbacks.
Every run is 30 s long.
"""

import hashlib
import subprocess

import pytest
from django_tasks_db.models import DBTaskResult

from monitoring.models import Event, JobRun
from pipeline import services
from pipeline.choices import RunStatus, StageStatus
from pipeline.engines.ffmpeg import ffmpeg_exe, probe
from pipeline.models import Run
from tests.monitoring.worker import make_due, run_worker

DONE = (StageStatus.SUCCEEDED, StageStatus.SKIPPED)


# --- helpers ---------------------------------------------------------------------------------------------
@pytest.fixture
def worker(django_capture_on_commit_callbacks):
    """worker.step(): one pass of the real worker (each queued run advances one stage).
    worker.drain(): passes until nothing is queued, making backoff waits due at once."""

    class Worker:
        def start(self, user, **params):
            """services.start_run with the queueing committed (a 30 s 'study' run unless told)."""
            with django_capture_on_commit_callbacks(execute=True):
                return services.start_run(user, **{"preset": "study", "duration_s": 30, **params})

        def step(self):
            with django_capture_on_commit_callbacks(execute=True):
                run_worker()

        def drain(self, rounds=40):
            for _ in range(rounds):
                self.step()
                if not DBTaskResult.objects.filter(status="READY").exists():
                    return
                make_due()
            raise AssertionError(f"tasks still queued after {rounds} worker passes")

    return Worker()


def stages_of(run):
    return {stage.name: stage for stage in Run.objects.get(pk=run.pk).ordered_stages()}


def pcm_digest(path) -> str:
    """SHA-256 of the decoded audio samples (independent of container details)."""
    pcm = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "2", "-ar", "44100",
                          "-"], capture_output=True, check=True).stdout
    assert len(pcm) > 44100 * 4 * 20  # at least 20 s of stereo samples
    return hashlib.sha256(pcm).hexdigest()


# --- the happy path ----------------------------------------------------------------------------------------
def test_a_30_second_run_completes_every_stage_on_the_real_worker(operator, worker, settings):
    run = worker.start(operator, seed=42)
    assert run.status == RunStatus.QUEUED
    worker.drain()

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.progress == 1.0 and run.error == ""
    assert run.started_at and run.finished_at and run.elapsed_s > 0
    stages = stages_of(run)
    for name in ("compose", "artwork", "metadata", "render", "thumbnail"):
        stage = stages[name]
        assert stage.status == StageStatus.SUCCEEDED, (name, stage.error, stage.log)
        assert stage.attempts == 1 and stage.progress == 1.0
        assert stage.duration_s is not None and stage.duration_s >= 0
        assert "Attempt 1 started." in stage.log and "Finished in" in stage.log
    assert stages["compose"].outputs["duration_s"] == pytest.approx(30, abs=0.5)
    assert stages["render"].outputs["size_bytes"] > 0
    # Library only: the publish stage is skipped and says so.
    publish = stages["publish"]
    assert publish.status == StageStatus.SKIPPED
    assert "Library only: nothing was uploaded to YouTube." in publish.log
    assert publish.outputs == {"reason": "library only"}

    video = run.video
    video.refresh_from_db()
    assert video.upload_status == "not_uploaded" and video.youtube_id == ""
    assert video.title and video.tags
    media = settings.MEDIA_ROOT
    for field in ("audio", "cover", "video", "thumbnail"):
        assert (media / getattr(video, field).name).is_file(), field
    info = probe(media / video.video.name)
    assert {s["codec_type"] for s in info["streams"]} == {"video", "audio"}
    assert info["duration"] == pytest.approx(30, abs=0.5)
    # Nothing half-written is left beside the outputs.
    assert not [p.name for p in (media / f"runs/{run.pk}").iterdir() if ".part" in p.name]

    kinds = list(Event.objects.filter(source="pipeline", payload__run=run.pk).order_by("pk")
                 .values_list("kind", flat=True))
    assert kinds == ["run.queued", "run.started", "run.succeeded"]
    # One job per stage plus the final one that closes the run; none left behind.
    assert JobRun.objects.filter(name="pipeline.execute_stage").count() == 7
    assert set(JobRun.objects.values_list("status", flat=True)) == {"succeeded"}


def test_tmp_timing(operator, worker):
    import time
    run = worker.start(operator, seed=42)
    for _ in range(8):
        t = time.monotonic()
        worker.step()
        print("step", time.monotonic() - t)
    for s in stages_of(run).values():
        print(s.name, s.duration_s)
