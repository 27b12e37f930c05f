"""What a run's stages and events say: media names, never server paths; durations as people read them;
every event about a run points at that run.

Stages run on the real in-process worker with the real engines; failures come from an ffmpeg
that fails (tests/pipeline/test_runs.py does the same), never from patching the code under test.
"""

import re

import pytest
from django.conf import settings as django_settings
from django_tasks_db.models import DBTaskResult

from monitoring.models import Event, JobRun
from pipeline import services
from pipeline.choices import RunStatus, StageStatus
from pipeline.engines.ffmpeg import ffmpeg_exe
from pipeline.models import Run
from tests.monitoring.worker import make_due, run_worker

# An absolute path of more than one part: "/tmp/pytest-1/media/runs/3/x.m4a", "/usr/lib/libx.so".
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])/[^\s/'\"]+/")


@pytest.fixture
def drive(django_capture_on_commit_callbacks):
    """drive(fn, *args): call a service with its on_commit callbacks run; drive.drain(): run the worker dry."""

    class Driver:
        def __call__(self, fn, *args, **kwargs):
            with django_capture_on_commit_callbacks(execute=True):
                return fn(*args, **kwargs)

        def drain(self, rounds=20):
            for _ in range(rounds):
                self(run_worker)
                if not DBTaskResult.objects.filter(status="READY").exists():
                    return
                make_due()
            raise AssertionError(f"tasks still queued after {rounds} worker passes")

    return Driver()


def ffmpeg_that_names_its_paths(tmp_path, ending):
    """An ffmpeg whose encode of the mix's first half complains about every absolute path it was given
    (as the real one does), then `ending`; every other call is the real ffmpeg."""
    script = tmp_path / "ffmpeg"
    script.write_text(
        '#!/bin/sh\ncase "$*" in *.0.m4a*)\n'
        '  for a in "$@"; do case "$a" in /*) echo "$a: Invalid data found" >&2;; esac; done\n'
        '  echo "while reading /usr/share/ffmpeg/presets/x.ffpreset" >&2\n'
        f'  {ending};;\nesac\nexec {ffmpeg_exe()} "$@"\n')
    script.chmod(0o755)
    return script


def texts_shown(run: Run) -> dict[str, str]:
    run = Run.objects.get(pk=run.pk)
    shown = {"run.error": run.error}
    for stage in run.ordered_stages():
        shown[f"{stage.name}.error"], shown[f"{stage.name}.log"] = stage.error, stage.log
    for event in Event.objects.filter(payload__run=run.pk):
        shown[f"event {event.kind}"] = event.message
    for job in JobRun.objects.filter(args=[run.pk]):
        shown[f"job #{job.pk}"] = job.error
    return shown


def assert_no_server_paths(run, tmp_path):
    for where, text in texts_shown(run).items():
        assert str(tmp_path) not in text and str(django_settings.MEDIA_ROOT) not in text, (where, text)
        assert not ABSOLUTE_PATH.search(text), (where, text)


@pytest.mark.django_db
def test_a_compose_failure_names_media_files_never_server_paths(operator, drive, monkeypatch, tmp_path):
    monkeypatch.setenv("FFMPEG_BINARY", str(ffmpeg_that_names_its_paths(tmp_path, "exit 1")))
    run = drive(services.start_run, operator, preset="study", duration_s=30)
    drive.drain()

    run = Run.objects.get(pk=run.pk)
    assert run.status == RunStatus.FAILED
    compose = run.stages.get(name="compose")
    assert compose.status == StageStatus.FAILED
    assert run.error.startswith("Compose failed: ffmpeg failed (exit code 1)")
    assert f"runs/{run.pk}/" in run.error  # the file is named by its media name
    assert "x.ffpreset" in compose.error  # any other path is cut to its file name
    assert_no_server_paths(run, tmp_path)


@pytest.mark.django_db
def test_a_transient_stage_failure_and_its_retries_show_no_server_paths(operator, drive, monkeypatch, tmp_path,
                                                                         settings):
    monkeypatch.setenv("FFMPEG_BINARY", str(ffmpeg_that_names_its_paths(tmp_path, "kill -KILL $$")))
    run = drive(services.start_run, operator, preset="study", duration_s=30)
    drive.drain()

    run = Run.objects.get(pk=run.pk)
    compose = run.stages.get(name="compose")
    assert compose.attempts == settings.PIPELINE_STAGE_MAX_ATTEMPTS  # retried as transient, then given up
    assert run.status == RunStatus.FAILED and "gave up after" in run.error and "killed by signal 9" in run.error
    assert compose.log.count("retrying in about") == settings.PIPELINE_STAGE_MAX_ATTEMPTS - 1
    assert f"runs/{run.pk}/" in compose.log
    assert_no_server_paths(run, tmp_path)


@pytest.mark.django_db
def test_every_event_about_a_run_points_at_it_and_reads_durations_as_clock_time(operator, drive, monkeypatch,
                                                                                 tmp_path):
    run = drive(services.start_run, operator, preset="study", duration_s=4500)
    queued = Event.objects.get(kind="run.queued", payload__run=run.pk)
    assert queued.message == f"{run} queued (study, 1:15:00)"
    drive(services.cancel_run, run, operator)
    drive(services.retry_run, run, operator)
    monkeypatch.setenv("FFMPEG_BINARY", str(ffmpeg_that_names_its_paths(tmp_path, "exit 1")))
    drive.drain()

    events = list(Event.objects.filter(payload__run=run.pk).order_by("pk"))
    assert [e.kind for e in events] == ["run.queued", "run.cancelled", "run.retry", "run.started", "run.failed"]
    for event in events:
        assert event.target == run, event.kind
        assert event.target_url == run.get_absolute_url(), event.kind


@pytest.mark.django_db
def test_artwork_and_metadata_events_point_at_the_run(operator, drive, finished_run):
    run = finished_run(operator)
    drive(services.regenerate_thumbnail, run.video, operator)
    drive(services.update_metadata, run.video, operator, title="A new title", description="New words.",
          tags=["lofi"])
    events = Event.objects.filter(kind__in=["video.thumbnail", "video.metadata_edited"], payload__run=run.pk)
    assert sorted(e.kind for e in events) == ["video.metadata_edited", "video.thumbnail"]
    assert all(e.target == run for e in events)


@pytest.mark.django_db
def test_a_deleted_run_is_named_in_its_event_without_a_dead_link(operator, drive, finished_run):
    run = finished_run(operator)
    pk = run.pk
    drive(services.delete_run, run, operator)
    event = Event.objects.get(kind="run.deleted")
    assert event.payload["run"] == pk and event.target_id == str(pk)
    assert event.target_url == ""  # the run is gone: the page shows no link to it
