"""Run lifecycle and failure paths, through the real components.

Runs execute on the real django-tasks-db worker (in-process, tests.monitoring.worker, or
a real `manage.py db_worker` process), the media engines call the real ffmpeg, YouTube and
OpenAI are the local fake servers of tests/fakes. Nothing under test is patched: failures
come from the environment (an ffmpeg that exits 1, a full or read-only disk, fake servers
told to misbehave, a worker process killed with SIGKILL).

In `db` tests the worker runs inside the test's transaction, so the next stage (queued
with transaction.on_commit) and the events are only written when callbacks are executed:
the `worker` fixture wraps each worker pass in django_capture_on_commit_callbacks.

Tests that need a second process (a worker to kill) run on PostgreSQL only: pytest-django
keeps the SQLite test database in memory, where no other process can see it. On SQLite
the same recovery is checked from the state a killed worker leaves behind.

Every run is 30 s long. Tests about rendering start from the audio and cover of one set
of media made once for the module, instead of composing their own.
"""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from monitoring.breakers import breaker
from monitoring.jobs import recover_stale_jobs
from monitoring.models import AIUsage, Event, JobRun
from pipeline import services
from pipeline.choices import RunStatus, StageStatus, UploadStatus
from pipeline.engines import artwork, compose, render, thumbnail
from pipeline.engines.ffmpeg import ffmpeg_exe, probe
from pipeline.models import QuotaUsage, RenderSlot, Run, Stage, Video, YouTubeChannel
from tests.factories import AIUsageFactory, ScheduleFactory
from tests.monitoring.worker import make_due, run_worker
from tests.processes import process, wait_for

ON_POSTGRES = connection.vendor == "postgresql"
postgres_only = pytest.mark.skipif(
    not ON_POSTGRES, reason="needs a second process on the test database; pytest-django's SQLite one is in memory")
sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="on PostgreSQL a real worker process is killed instead")

EARLY_STAGES = ("compose", "artwork", "metadata")


# --- helpers ------------------------------------------------------------------------------------------------
def fresh(run) -> Run:
    return Run.objects.select_related("video").get(pk=run.pk)


def stages_of(run) -> dict[str, Stage]:
    return {stage.name: stage for stage in Run.objects.get(pk=run.pk).ordered_stages()}


def run_folder(run) -> Path:
    return Path(django_settings.MEDIA_ROOT) / "runs" / str(run.pk)


def leftovers(run) -> list[str]:
    """Temporary files of atomic writes left in the run's folder."""
    folder = run_folder(run)
    return sorted(p.name for p in folder.iterdir() if ".part" in p.name) if folder.is_dir() else []


def pipeline_events(run) -> list[str]:
    return list(Event.objects.filter(source="pipeline", payload__run=run.pk).order_by("pk")
                .values_list("kind", flat=True))


def pcm_digest(path) -> str:
    """SHA-256 of the decoded samples (independent of container details)."""
    pcm = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "2", "-ar", "44100",
                          "-"], capture_output=True, check=True).stdout
    assert len(pcm) > 44100 * 4 * 25  # at least 25 s of stereo samples
    return hashlib.sha256(pcm).hexdigest()


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def kill_job(job: JobRun, minutes_ago=10) -> None:
    """Leave a job as a worker that died holding it would: running, last heartbeat long ago."""
    then = timezone.now() - timedelta(minutes=minutes_ago)
    JobRun.objects.filter(pk=job.pk).update(status="running", started_at=then, heartbeat_at=then,
                                            worker_pid=999999, worker_host="gone-host")
    DBTaskResult.objects.filter(id=job.task_result_id).update(status="RUNNING", started_at=then)


def queued_job(run) -> JobRun:
    return JobRun.objects.get(name="pipeline.execute_stage", args=[run.pk], status="queued")


# --- a worker in another process (PostgreSQL) ----------------------------------------------------------------
@contextmanager
def worker_process(tmp_path, **env):
    """`manage.py db_worker` in its own process group, on this test's database and media folder."""
    db = connection.settings_dict
    url = urlsplit(os.environ["DATABASE_URL"])
    database_url = urlunsplit((url.scheme, url.netloc, "/" + db["NAME"], url.query, ""))
    environment = {**os.environ, "DATABASE_URL": database_url, "MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
                   "DJANGO_SETTINGS_MODULE": "lofisite.test_settings", "LOFISITE_TESTING": "1",
                   "JOB_HEARTBEAT_SECONDS": "1", "ENV_FILE": "/dev/null", **env}
    with process([sys.executable, "manage.py", "db_worker", "--interval", "0.1", "--no-startup-delay"],
                 env=environment, log_path=tmp_path / f"worker-{time.monotonic_ns()}.log", name="worker") as proc:
        yield proc


def slow_ffmpeg(tmp_path, seconds=3):
    """An FFMPEG_BINARY for the worker process: the real ffmpeg, started `seconds` late while the
    returned flag file exists, so that a 30 s compose lasts long enough to be caught in the middle."""
    flag = tmp_path / "slow"
    flag.touch()
    wrapper = script(tmp_path / "slow-ffmpeg", f'[ -e "{flag}" ] && sleep {seconds}\nexec {ffmpeg_exe()} "$@"\n')
    return {"FFMPEG_BINARY": str(wrapper)}, flag


def compose_running(run):
    return Stage.objects.filter(run=run, name="compose", status="running").exists()


def sigkill(proc) -> None:
    os.killpg(proc.pid, signal.SIGKILL)  # the worker and its ffmpeg children, without warning
    proc.wait()


# --- the happy path -----------------------------------------------------------------------------------------
def test_a_30_second_run_completes_every_stage_on_the_real_worker(operator, worker):
    run = worker.start(operator, seed=42)
    assert run.status == RunStatus.QUEUED and run.progress == 0
    worker.drain()

    run = fresh(run)
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
    # Library only: the publish stage is skipped and says that nothing was uploaded.
    publish = stages["publish"]
    assert publish.status == StageStatus.SKIPPED
    assert "Library only: nothing was uploaded to YouTube." in publish.log
    assert publish.outputs == {"reason": "library only"}

    video = run.video
    assert video.upload_status == UploadStatus.NOT_UPLOADED and video.youtube_id == ""
    assert video.title and video.tags and video.duration_s == pytest.approx(30, abs=0.5)
    for field in ("audio", "cover", "video", "thumbnail"):
        assert (Path(django_settings.MEDIA_ROOT) / getattr(video, field).name).is_file(), field
    info = probe(Path(django_settings.MEDIA_ROOT) / video.video.name)
    assert {s["codec_type"] for s in info["streams"]} == {"video", "audio"}
    assert info["duration"] == pytest.approx(30, abs=0.5)
    assert leftovers(run) == []

    assert pipeline_events(run) == ["run.queued", "run.started", "run.succeeded"]
    # One job per stage plus the one that closes the run; all done, nothing left queued.
    jobs = JobRun.objects.filter(name="pipeline.execute_stage", args=[run.pk])
    assert jobs.count() == 7 and set(jobs.values_list("status", flat=True)) == {"succeeded"}


def test_the_same_seed_gives_the_same_audio_and_another_seed_other_audio(operator, worker):
    first, again, other = (worker.start(operator, seed=seed) for seed in (1234, 1234, 1235))
    worker.step()  # one pass: each run composes its mix
    digests = {}
    for run in (first, again, other):
        run = fresh(run)
        assert stages_of(run)["compose"].status == StageStatus.SUCCEEDED
        digests[run.pk] = pcm_digest(Path(django_settings.MEDIA_ROOT) / run.video.audio.name)
    assert digests[first.pk] == digests[again.pk]
    assert digests[first.pk] != digests[other.pk]


# --- ffmpeg fails, then retry from the failed stage ------------------------------------------------------------
def test_ffmpeg_failure_fails_the_run_readably_and_retry_resumes_from_that_stage(operator, worker, monkeypatch,
                                                                                 tmp_path):
    run = worker.start(operator)
    for _ in EARLY_STAGES:
        worker.step()
    before = {name: (stage.finished_at, stage.attempts) for name, stage in stages_of(run).items()
              if name in EARLY_STAGES}
    assert all(attempts == 1 for _, attempts in before.values())

    broken = script(tmp_path / "ffmpeg", 'echo "Conversion failed: simulated encoder crash" >&2\nexit 1\n')
    monkeypatch.setenv("FFMPEG_BINARY", str(broken))
    worker.drain()

    run = fresh(run)
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("Render failed: ffmpeg failed (exit code 1)")
    assert "simulated encoder crash" in run.error
    stages = stages_of(run)
    assert stages["render"].status == StageStatus.FAILED and stages["render"].attempts == 1  # not transient
    assert "simulated encoder crash" in stages["render"].error and "simulated encoder crash" in stages["render"].log
    assert stages["thumbnail"].status == StageStatus.PENDING and stages["publish"].status == StageStatus.PENDING
    assert not run.video.video and not (run_folder(run) / "video.mp4").exists() and leftovers(run) == []
    assert pipeline_events(run)[-1] == "run.failed"
    assert Event.objects.get(kind="run.failed").status == "failed"

    monkeypatch.delenv("FFMPEG_BINARY")  # the operator fixes ffmpeg...
    worker.commit(services.retry_run, run, operator)  # ...and retries
    assert fresh(run).status == RunStatus.QUEUED
    worker.drain()

    run = fresh(run)
    assert run.status == RunStatus.SUCCEEDED and run.error == "" and run.progress == 1.0
    stages = stages_of(run)
    for name in EARLY_STAGES:  # not re-run
        assert (stages[name].finished_at, stages[name].attempts) == before[name], name
    assert stages["render"].status == StageStatus.SUCCEEDED and stages["render"].error == ""
    assert stages["render"].log.count("Attempt 1 started.") == 2  # the failed try and the retry
    assert (run_folder(run) / "video.mp4").is_file()
    assert pipeline_events(run)[-3:] == ["run.retry", "run.started", "run.succeeded"]


# --- disk full, unwritable -------------------------------------------------------------------------------------
def test_media_folder_that_cannot_be_created_fails_the_run_readably(operator, worker, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a plain file where the media folder should be")
    settings.MEDIA_ROOT = blocker / "media"
    run = worker.start(operator)
    worker.drain()

    run = fresh(run)
    assert run.status == RunStatus.FAILED
    # Named by its media name, never by the server's path to it.
    assert run.error == f"Compose failed: cannot write to runs/{run.pk}: Not a directory"
    assert stages_of(run)["compose"].attempts == 1  # a write error is not retried
    assert not run.video.audio
    assert blocker.read_text() == "a plain file where the media folder should be"


@contextmanager
def mounted_tmpfs(path: Path, options: str):
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small file system needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_read_only_media_folder_fails_the_run_readably(operator, worker, settings, tmp_path):
    with mounted_tmpfs(tmp_path / "ro-media", "ro,size=1m") as media:
        settings.MEDIA_ROOT = media
        run = worker.start(operator)
        worker.drain()
        run = fresh(run)
        assert run.status == RunStatus.FAILED
        assert run.error == f"Compose failed: cannot write to runs/{run.pk}: read-only file system"
        assert list(media.iterdir()) == []


def test_disk_full_during_render_fails_readably_leaves_nothing_and_retry_succeeds(operator, worker, settings,
                                                                                  tmp_path):
    with mounted_tmpfs(tmp_path / "small-media", "size=24m") as media:
        settings.MEDIA_ROOT = media
        run = worker.start(operator)
        for _ in EARLY_STAGES:
            worker.step()
        # Something else fills the disk before the render.
        filler = media / "filler.bin"
        with open(filler, "wb") as handle:
            try:
                while True:
                    handle.write(b"\0" * (1 << 20))
                    handle.flush()
            except OSError:
                pass
        worker.drain()

        run = fresh(run)
        assert run.status == RunStatus.FAILED
        # Named by its media name, never by the server's path to it.
        assert run.error == f"Render failed: disk full while writing runs/{run.pk}/video.mp4"
        assert stages_of(run)["render"].status == StageStatus.FAILED
        assert sorted(p.name for p in run_folder(run).iterdir()) == ["audio.m4a", "cover.png"]  # no half video

        filler.unlink()  # the operator frees space and retries
        worker.commit(services.retry_run, run, operator)
        worker.drain()
        run = fresh(run)
        assert run.status == RunStatus.SUCCEEDED, run.error
        assert probe(media / run.video.video.name)["duration"] == pytest.approx(30, abs=0.5)


# --- YouTube ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Real media of a 30 s video, made once by the engines for the publish tests."""
    folder = tmp_path_factory.mktemp("rendered")
    compose.compose_mix(folder / "audio.m4a", duration_s=30, preset="study", seed=5)
    artwork.make_artwork(folder / "cover.png", preset="study", seed=5)
    render.render_video(folder / "cover.png", folder / "audio.m4a", folder / "video.mp4", duration_s=30)
    thumbnail.make_thumbnail(folder / "cover.png", folder / "thumbnail.jpg", title="Rain study", subtitle="Study")
    return folder


@pytest.fixture
def library_video(make_run, rendered):
    """library_video(user) -> the Video of a finished library-only run, with real files."""

    def make(user):
        run = make_run(user, RunStatus.SUCCEEDED)
        folder = run_folder(run)
        folder.mkdir(parents=True)
        for name in ("audio.m4a", "cover.png", "video.mp4", "thumbnail.jpg"):
            shutil.copy(rendered / name, folder / name)
        Video.objects.filter(run=run).update(
            title="Rainy study session", description="Lo-fi beats to study to.", tags=["lofi", "study"],
            duration_s=30.0, size_bytes=(folder / "video.mp4").stat().st_size,
            audio=f"runs/{run.pk}/audio.m4a", cover=f"runs/{run.pk}/cover.png", video=f"runs/{run.pk}/video.mp4",
            thumbnail=f"runs/{run.pk}/thumbnail.jpg")
        return Video.objects.select_related("run").get(run=run)

    return make


def ready_to_render(run, rendered) -> None:
    """Give a queued run the audio and cover its first three stages would have made (saves composing)."""
    folder = run_folder(run)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("audio.m4a", "cover.png"):
        shutil.copy(rendered / name, folder / name)
    now = timezone.now()
    Stage.objects.filter(run=run, name__in=EARLY_STAGES).update(status="succeeded", attempts=1, started_at=now,
                                                                finished_at=now, progress=1.0)
    Video.objects.filter(run=run).update(audio=f"runs/{run.pk}/audio.m4a", cover=f"runs/{run.pk}/cover.png",
                                         duration_s=30.0, title="Rainy study session", tags=["lofi"],
                                         description="Lo-fi beats to study to.")
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, started_at=now, progress=0.45)


def publish(worker, video, user, **params):
    run = worker.commit(services.publish_video, video, user, **{"privacy": "public", **params})
    worker.drain()
    return fresh(run)


def test_run_to_youtube_survives_server_errors_and_resumes_the_same_upload(operator, worker, youtube):
    youtube.fail_next_chunks(2, status=500)  # each 500 ends an attempt (no retries inside the job)
    run = worker.start(operator, publish_target="youtube", privacy="unlisted")
    worker.drain()

    run = fresh(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    video = run.video
    publish_stage = stages_of(run)["publish"]
    assert publish_stage.status == StageStatus.SUCCEEDED and publish_stage.attempts == 3
    assert "Attempt 1 failed (YouTube unreachable" in publish_stage.log
    assert "Attempt 2 failed (YouTube unreachable" in publish_stage.log
    assert len(youtube.uploads) == 1  # the later attempts resumed the same upload session
    upload = youtube.last_upload
    assert bytes(upload.data) == (Path(django_settings.MEDIA_ROOT) / video.video.name).read_bytes()
    assert video.upload_status == UploadStatus.UPLOADED and video.upload_session_url == ""
    assert video.youtube_id == upload.video_id and video.youtube_url.endswith(upload.video_id)
    sent = youtube.videos[video.youtube_id]
    assert sent["snippet"]["title"] == video.title and sent["snippet"]["categoryId"] == "10"
    assert sent["status"]["privacyStatus"] == "unlisted"
    assert sent["status"]["containsSyntheticMedia"] is True and sent["status"]["madeForKids"] is False
    assert youtube.thumbnails[video.youtube_id] == (Path(django_settings.MEDIA_ROOT) / video.thumbnail.name
                                                   ).read_bytes()
    assert "Thumbnail set." in publish_stage.log
    ledger = sorted(QuotaUsage.objects.filter(video=video).values_list("bucket", "operation", "units"))
    assert ledger == [("default", "thumbnails.set", 50), ("videos.insert", "videos.insert", 1)]
    assert set(QuotaUsage.objects.filter(video=video).values_list("user", flat=True)) == {operator.pk}


def test_interrupted_upload_resumes_and_arrives_byte_identical(operator, worker, youtube, library_video):
    video = library_video(operator)
    youtube.drop_next_chunk(after_bytes=100_000)  # the connection dies mid-chunk
    run = publish(worker, video, operator)

    assert run.status == RunStatus.SUCCEEDED, run.error
    upload = youtube.last_upload
    assert len(youtube.uploads) == 1 and upload.status_queries >= 1  # asked where to go on
    assert bytes(upload.data) == (Path(django_settings.MEDIA_ROOT) / video.video.name).read_bytes()
    assert upload.chunk_ranges[1][0] == 100_000  # resent from the bytes that had arrived
    assert fresh(run).video.upload_status == UploadStatus.UPLOADED


def test_local_quota_ledger_stops_the_upload_before_any_request(operator, worker, youtube, library_video, settings):
    settings.YOUTUBE_DAILY_QUOTA = {"videos.insert": 1, "default": 10_000}
    earlier = library_video(operator)
    QuotaUsage.objects.create(day=services.quota_day(), bucket="videos.insert", units=1,
                              operation="videos.insert", video=earlier, user=operator)
    video = library_video(operator)
    run = publish(worker, video, operator)

    assert run.status == RunStatus.FAILED
    assert run.error == ("Publish failed: The daily YouTube quota for videos.insert is used up (1 of 1); it resets "
                         "at midnight Pacific time. Retry the run tomorrow.")
    assert run.video.upload_status == UploadStatus.QUOTA_EXCEEDED
    assert "quota" in run.video.upload_error
    assert youtube.requests == []
    assert QuotaUsage.objects.filter(bucket="videos.insert").count() == 1


def test_youtube_quota_exceeded_answer_fails_with_a_clear_message(operator, worker, youtube, library_video):
    youtube.insert_error = "quotaExceeded"
    run = publish(worker, library_video(operator), operator)

    assert run.status == RunStatus.FAILED
    assert run.error == "Publish failed: The daily YouTube API quota is used up; it resets at midnight Pacific Time."
    assert stages_of(run)["publish"].attempts == 1  # retrying today cannot help
    assert run.video.upload_status == UploadStatus.QUOTA_EXCEEDED
    assert run.video.upload_error == "The daily YouTube API quota is used up; it resets at midnight Pacific Time."
    assert youtube.uploads == {} and run.video.youtube_id == ""


def test_upload_limit_exceeded_is_shown_as_such(operator, worker, youtube, library_video):
    youtube.insert_error = "uploadLimitExceeded"
    run = publish(worker, library_video(operator), operator)

    assert run.status == RunStatus.FAILED
    assert "upload limit" in run.error and run.error.startswith("Publish failed: ")
    assert run.video.upload_status == UploadStatus.LIMIT_EXCEEDED
    # YouTube answered: a refusal is not an outage, so the breaker stays closed.
    assert breaker("youtube").state().failure_count == 0


def test_video_locked_private_is_reported_as_not_public(operator, worker, youtube, library_video):
    youtube.lock_private = True
    run = publish(worker, library_video(operator), operator, privacy="public")

    assert run.status == RunStatus.SUCCEEDED
    assert run.video.upload_status == UploadStatus.LOCKED_PRIVATE
    assert run.video.get_upload_status_display() == "Uploaded but locked private"
    assert "it is NOT public" in stages_of(run)["publish"].log


def test_open_breaker_sends_nothing_retries_later_then_fails_visibly(operator, worker, youtube, library_video,
                                                                     settings):
    settings.CIRCUIT_BREAKERS = {**settings.CIRCUIT_BREAKERS,
                                 "youtube": {"failure_threshold": 1, "recovery_timeout": 600, "call_timeout": 5}}
    with pytest.raises(ConnectionError):
        breaker("youtube").call(lambda: (_ for _ in ()).throw(ConnectionError("YouTube is down")))
    assert breaker("youtube").state().state == "open"
    video = library_video(operator)
    run = worker.commit(services.publish_video, video, operator)

    worker.step()
    stage = stages_of(run)["publish"]
    assert stage.status == StageStatus.QUEUED and stage.attempts == 1
    assert "Attempt 1 failed (The youtube service is paused after repeated failures" in stage.log
    job = JobRun.objects.filter(args=[run.pk]).latest("pk")
    assert job.status == "retrying"
    assert (job.run_after - timezone.now()).total_seconds() > 500  # not before the breaker may close
    assert fresh(run).status == RunStatus.RUNNING

    worker.drain()  # the later attempts find it still open
    run = fresh(run)
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("Publish failed: The youtube service is paused after repeated failures")
    assert run.error.endswith("(gave up after 3 attempts)")
    assert run.video.upload_status == UploadStatus.FAILED
    assert youtube.requests == []


def test_thumbnail_refused_by_the_quota_then_retry_sets_it_without_uploading_again(operator, worker, youtube,
                                                                                    library_video, settings):
    settings.YOUTUBE_DAILY_QUOTA = {"videos.insert": 100, "default": 49}  # thumbnails.set costs 50
    run = publish(worker, library_video(operator), operator)

    assert run.status == RunStatus.FAILED and "quota for default is used up" in run.error
    video = run.video
    assert video.upload_status == UploadStatus.UPLOADED and video.youtube_id  # the video itself is up
    assert youtube.thumbnails == {}

    settings.YOUTUBE_DAILY_QUOTA = {"videos.insert": 100, "default": 10_000}
    worker.commit(services.retry_run, run, operator)
    worker.drain()
    run = fresh(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert len(youtube.uploads) == 1 and list(youtube.videos) == [video.youtube_id]  # not uploaded twice
    assert list(youtube.thumbnails) == [video.youtube_id]
    assert run.video.upload_status == UploadStatus.UPLOADED and run.video.youtube_id == video.youtube_id
    assert QuotaUsage.objects.filter(operation="videos.insert").count() == 1


# --- AI (the shared `fake_openai` of tests/conftest.py) -----------------------------------------------------
AI_METADATA = {"title": "Midnight Rain - lofi beats to study to", "description": "Soft rain and warm keys.",
               "tags": ["lofi", "study", "rain"]}


def test_ai_writes_artwork_and_metadata_and_every_call_is_costed(operator, worker, fake_openai):
    fake_openai.chat_handler = lambda request: AI_METADATA
    run = worker.start(operator)
    for _ in EARLY_STAGES:
        worker.step()

    stages = stages_of(run)
    assert stages["artwork"].outputs == {"source": "openai"}
    assert stages["metadata"].outputs["source"] == "openai"
    video = fresh(run).video
    assert video.title == AI_METADATA["title"] and video.tags == AI_METADATA["tags"]
    assert video.description.startswith("Soft rain and warm keys.")
    from PIL import Image

    with Image.open(Path(django_settings.MEDIA_ROOT) / video.cover.name) as cover:
        assert cover.size == (1920, 1080)
    assert [r.path for r in fake_openai.requests] == ["/v1/images/generations", "/v1/chat/completions"]
    usage = {row.request_type: row for row in AIUsage.objects.all()}
    assert set(usage) == {"pipeline.artwork", "pipeline.metadata"}
    for row in usage.values():
        assert row.user == operator and row.success
        assert row.prompt_tokens > 0 and row.completion_tokens > 0 and row.cost_usd > 0
    assert usage["pipeline.artwork"].images == 1


def test_ai_budget_exceeded_sends_nothing_and_the_run_succeeds_offline(operator, worker, fake_openai):
    operator.ai_monthly_budget_usd = Decimal("1.00")
    operator.save(update_fields=["ai_monthly_budget_usd"])
    AIUsageFactory(user=operator, request_type="vinted.draft", cost_usd=Decimal("1.00"))
    run = worker.start(operator)
    worker.drain()

    run = fresh(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert fake_openai.requests == []
    stages = stages_of(run)
    assert stages["artwork"].outputs == {"source": "procedural"}
    assert stages["metadata"].outputs["source"] == "template"
    assert "AI image generation unavailable (AI budget reached: spent 1.00 of 1.00 USD" in stages["artwork"].log
    assert "AI metadata unavailable (AI budget reached" in stages["metadata"].log
    assert AIUsage.objects.count() == 1  # nothing new spent
    assert Event.objects.filter(source="ai", kind="budget.exceeded", user=operator).count() == 1


def test_without_a_key_nothing_is_sent_or_recorded(operator, worker, settings, fake_openai):
    settings.OPENAI_API_KEY = ""  # the fake is running, but no key is configured
    run = worker.start(operator)
    for _ in EARLY_STAGES:
        worker.step()
    assert fake_openai.requests == []
    stages = stages_of(run)
    assert stages["artwork"].outputs == {"source": "procedural"} and "Cover art: procedural" in stages["artwork"].log
    assert stages["metadata"].outputs["source"] == "template"
    assert "unavailable" not in stages["artwork"].log + stages["metadata"].log
    assert not AIUsage.objects.exists()


# --- a worker dies ------------------------------------------------------------------------------------------
@postgres_only
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_compose_is_recovered_and_the_run_resumes(operator, settings, tmp_path):
    settings.JOB_STALE_AFTER_SECONDS = 1
    run = services.start_run(operator, preset="study", duration_s=30, seed=8)
    slow, _ = slow_ffmpeg(tmp_path)
    with worker_process(tmp_path, **slow) as proc:
        wait_for(lambda: compose_running(run), proc=proc, what="compose to start")
        sigkill(proc)

    # What the dead worker left behind: a run and a stage that say "running".
    assert fresh(run).status == RunStatus.RUNNING
    assert stages_of(run)["compose"].status == StageStatus.RUNNING
    dead = JobRun.objects.get(status="running")
    with time_machine.travel(timedelta(seconds=5), tick=False):  # the scheduler's next look: heartbeat stale
        assert recover_stale_jobs() == 1

    compose_stage = stages_of(run)["compose"]
    assert compose_stage.status == StageStatus.QUEUED
    assert "The worker running this stage stopped (killed or crashed). Resuming from this stage." in compose_stage.log
    dead.refresh_from_db()
    assert dead.status == "dead" and "stopped sending heartbeats" in dead.error
    assert Event.objects.filter(kind="run.recovered", payload__run=run.pk).exists()

    run_worker()  # another worker takes over
    run = fresh(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    stages = stages_of(run)
    assert stages["compose"].attempts == 2 and all(stages[n].attempts == 1 for n in ("artwork", "render"))
    assert run.video.duration_s == pytest.approx(30, abs=0.5)
    assert leftovers(run) == []  # the dead worker's temporary file was cleaned up


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_slow_worker_wrongly_declared_dead_does_not_fail_the_run(operator, settings, tmp_path):
    run = services.start_run(operator, preset="study", duration_s=30, seed=8)
    slow, flag = slow_ffmpeg(tmp_path)
    with worker_process(tmp_path, **slow) as proc:
        wait_for(lambda: compose_running(run), proc=proc, what="compose to start")
        settings.JOB_STALE_AFTER_SECONDS = 0  # every heartbeat looks stale: the living worker is "dead"
        assert recover_stale_jobs() == 1
        flag.unlink()  # from now on ffmpeg starts at once
        # The worker notices at its next heartbeat, drops the stage and takes the re-queued job.
        wait_for(lambda: fresh(run).status in services.TERMINAL_RUN_STATUSES, proc=proc, what="the run to finish")
    run = fresh(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    # Two orders are both right, and which one happens depends on the machine's load: the
    # worker notices at a heartbeat that its job was handed on and drops the stage (a second
    # attempt runs it, "job.lost" is logged), or its compose ends before that heartbeat and
    # the re-queued job finds the stage done. Never a failed run, never a third attempt.
    attempts = stages_of(run)["compose"].attempts
    assert attempts in (1, 2)
    if attempts == 2:
        assert Event.objects.filter(kind="job.lost").exists()


@sqlite_only
def test_what_a_killed_worker_leaves_mid_render_is_recovered(operator, worker, settings, rendered):
    settings.JOB_STALE_AFTER_SECONDS = 60
    run = worker.start(operator)
    ready_to_render(run, rendered)
    # A worker took the render job, claimed the render slot, wrote part of the video, and was killed.
    job = queued_job(run)
    kill_job(job)
    now = timezone.now() - timedelta(minutes=10)
    Stage.objects.filter(run=run, name="render").update(status="running", attempts=1, started_at=now)
    RenderSlot.objects.create(run=run, claimed_at=now)
    (run_folder(run) / ".video.x1y2z3.part.mp4").write_bytes(b"\0" * 1000)

    assert worker.commit(recover_stale_jobs) == 1
    render_stage = stages_of(run)["render"]
    assert render_stage.status == StageStatus.QUEUED
    assert "Resuming from this stage." in render_stage.log
    assert RenderSlot.objects.get().run is None  # the dead worker's slot is free again
    worker.drain()

    run = fresh(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert stages_of(run)["render"].attempts == 2 and stages_of(run)["compose"].attempts == 1
    assert leftovers(run) == []


def test_worker_death_on_the_last_attempt_fails_the_run_visibly(operator, worker, settings):
    run = worker.start(operator)
    job = queued_job(run)
    kill_job(job)
    Stage.objects.filter(run=run, name="compose").update(status="running",
                                                         attempts=settings.PIPELINE_STAGE_MAX_ATTEMPTS)
    Run.objects.filter(pk=run.pk).update(status="running")

    assert worker.commit(recover_stale_jobs) == 1
    run = fresh(run)
    assert run.status == RunStatus.FAILED
    assert run.error == ("Compose failed: The worker running this stage stopped (killed or crashed). "
                         f"Gave up after {settings.PIPELINE_STAGE_MAX_ATTEMPTS} attempts.")
    assert stages_of(run)["compose"].status == StageStatus.FAILED
    # Nothing will pick the run up again (the only task left is the run.failed notification's).
    notices = JobRun.objects.filter(name="monitoring.deliver_notification").values_list("task_result_id", flat=True)
    assert not DBTaskResult.objects.filter(status="READY").exclude(id__in=list(notices)).exists()
    assert Event.objects.filter(kind="run.failed", payload__run=run.pk).exists()


# --- cancel and retry ---------------------------------------------------------------------------------------
def test_cancel_a_queued_run(operator, worker):
    run = worker.start(operator)
    worker.commit(services.cancel_run, run, operator)
    run = fresh(run)
    assert run.status == RunStatus.CANCELLED and run.error == "Cancelled by otto (Operator) before it started running."
    assert {s.status for s in stages_of(run).values()} == {StageStatus.CANCELLED}
    worker.drain()  # the queued job finds the run cancelled and does nothing
    assert all(s.started_at is None for s in stages_of(run).values())
    assert not run_folder(run).exists()
    with pytest.raises(ValidationError, match="already cancelled"):
        services.cancel_run(run, operator)


def test_cancel_between_stages_stops_the_run_and_retry_queues_the_rest(operator, worker):
    run = worker.start(operator)
    worker.step()  # compose done; the artwork job is queued
    assert fresh(run).status == RunStatus.RUNNING
    worker.commit(services.cancel_run, run, operator)
    worker.drain()

    run = fresh(run)
    assert run.status == RunStatus.CANCELLED
    stages = stages_of(run)
    assert stages["compose"].status == StageStatus.SUCCEEDED
    assert {stages[n].status for n in ("artwork", "metadata", "render", "thumbnail", "publish")} == {
        StageStatus.CANCELLED}
    assert stages["artwork"].started_at is None
    assert "run.cancelled" in pipeline_events(run)

    # A retry resumes at the first stage that did not finish.
    worker.commit(services.retry_run, run, operator)
    stages = stages_of(run)
    assert fresh(run).status == RunStatus.QUEUED and stages["compose"].status == StageStatus.SUCCEEDED
    assert {stages[n].status for n in ("artwork", "metadata", "render", "thumbnail", "publish")} == {
        StageStatus.PENDING}
    assert queued_job(run)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_cancel_while_a_stage_runs_stops_it_and_writes_nothing(operator, tmp_path):
    run = services.start_run(operator, preset="study", duration_s=30, seed=3)
    slow, _ = slow_ffmpeg(tmp_path)
    with worker_process(tmp_path, **slow) as proc:
        wait_for(lambda: compose_running(run), proc=proc, what="compose to start")
        services.cancel_run(run, operator)
        wait_for(lambda: fresh(run).status in services.TERMINAL_RUN_STATUSES, proc=proc, what="the run to stop")
    run = fresh(run)
    assert run.status == RunStatus.CANCELLED and run.error == "Cancelled by otto (Operator)."
    stages = stages_of(run)
    assert stages["compose"].status == StageStatus.CANCELLED
    assert "Cancelled by otto (Operator)." in stages["compose"].log
    assert {stages[n].status for n in ("artwork", "metadata", "render", "thumbnail", "publish")} == {
        StageStatus.CANCELLED}
    assert not run.video.audio and not (run_folder(run) / "audio.m4a").exists() and leftovers(run) == []


def test_retry_rules(operator, other_operator, viewer, admin_user, worker, make_run):
    running = make_run(operator, RunStatus.RUNNING)
    succeeded = make_run(operator, RunStatus.SUCCEEDED)
    failed = make_run(operator, RunStatus.FAILED)
    for run in (running, succeeded):
        with pytest.raises(ValidationError, match="Only failed or cancelled runs can be retried"):
            services.retry_run(run, operator)
    with pytest.raises(ValidationError, match="nothing to cancel"):
        services.cancel_run(succeeded, operator)
    for outsider in (viewer, other_operator):
        with pytest.raises(PermissionDenied):
            services.retry_run(failed, outsider)
        with pytest.raises(PermissionDenied):
            services.cancel_run(running, outsider)

    # An admin may retry anyone's run; it resumes at the failed stage with fresh attempts.
    worker.commit(services.retry_run, failed, admin_user)
    failed = fresh(failed)
    stages = stages_of(failed)
    assert failed.status == RunStatus.QUEUED and failed.error == "" and failed.finished_at is None
    assert stages["compose"].status == StageStatus.SUCCEEDED
    assert (stages["artwork"].status, stages["artwork"].attempts, stages["artwork"].error) == ("pending", 0, "")
    assert queued_job(failed)


# --- render concurrency -------------------------------------------------------------------------------------
def test_a_run_waits_for_the_render_slot_and_proceeds_when_it_is_free(operator, worker, settings, make_run,
                                                                     rendered):
    # Two slot rows exist from a time when two renders were allowed; now the limit is one.
    settings.PIPELINE_MAX_CONCURRENT_RENDERS = 1
    other = make_run(operator, RunStatus.RUNNING)
    Stage.objects.filter(run=other, name="render").update(status="running", started_at=timezone.now())
    RenderSlot.objects.create(run=other, claimed_at=timezone.now())  # another worker is rendering it
    RenderSlot.objects.create()

    run = worker.start(operator)
    ready_to_render(run, rendered)
    for _ in range(12):  # longer than any job's retries: waiting for a slot is not failing
        worker.step()
        make_due()
    run = fresh(run)
    render_stage = stages_of(run)["render"]
    assert run.status == RunStatus.RUNNING
    assert render_stage.status == StageStatus.QUEUED and render_stage.attempts == 0
    assert render_stage.log.count("Waiting for a free render slot.") == 1
    assert DBTaskResult.objects.filter(status="READY").exists()  # it keeps polling for the slot

    RenderSlot.objects.filter(run=other).update(run=None, claimed_at=None)  # the other render finished
    worker.drain()
    run = fresh(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert stages_of(run)["render"].attempts == 1
    assert not RenderSlot.objects.filter(run__isnull=False).exists()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_never_render_at_once(operator, settings, tmp_path, monkeypatch, rendered):
    settings.PIPELINE_MAX_CONCURRENT_RENDERS = 1
    # An ffmpeg that takes a second longer for the final mux, so the renders surely overlap in time.
    slow = script(tmp_path / "ffmpeg", f'case "$*" in *faststart*) sleep 1;; esac\nexec {ffmpeg_exe()} "$@"\n')
    monkeypatch.setenv("FFMPEG_BINARY", str(slow))
    runs = [services.start_run(operator, preset="study", duration_s=30, seed=seed) for seed in (1, 2)]
    for run in runs:
        ready_to_render(run, rendered)

    with worker_process(tmp_path, FFMPEG_BINARY=str(slow)) as proc:
        wait_for(lambda: Stage.objects.filter(name="render", status="running").exists(), proc=proc,
                 what="the other worker to start a render")
        deadline = time.monotonic() + 90
        while not all(fresh(r).status in services.TERMINAL_RUN_STATUSES for r in runs):
            assert time.monotonic() < deadline, "runs did not finish"
            make_due()
            run_worker(max_tasks=1)  # this process is the second worker
            time.sleep(0.1)

    renders = [stages_of(r)["render"] for r in runs]
    assert all(fresh(r).status == RunStatus.SUCCEEDED for r in runs), [fresh(r).error for r in runs]
    first, second = sorted(renders, key=lambda s: s.started_at)
    assert first.finished_at <= second.started_at  # one after the other
    assert "Waiting for a free render slot." in second.log


# --- schedules ----------------------------------------------------------------------------------------------
def make_schedule(user, **fields):
    return ScheduleFactory(created_by=user, **{"name": "Evening mix", "timezone": "Europe/Paris", "preset": "sleep",
                                               "duration_s": 30, "publish_target": "youtube", **fields})


def test_a_due_schedule_starts_one_run_even_when_fired_twice(operator, worker):
    # 17:30 UTC on 28 March 2026 is 18:30 in Paris: today's 18:00 has passed, and the clocks move to
    # summer time that night, so the next 18:00 in Paris is 16:00 UTC.
    now = datetime(2026, 3, 28, 17, 30, tzinfo=UTC)
    schedule = make_schedule(operator, next_run_at=now - timedelta(minutes=30))

    assert worker.commit(services.fire_due_schedules, now) == 1
    assert worker.commit(services.fire_due_schedules, now) == 0  # a second scheduler tick, same moment
    assert worker.commit(services.fire_due_schedules, now + timedelta(hours=1)) == 0

    schedule.refresh_from_db()
    assert schedule.next_run_at == datetime(2026, 3, 29, 16, 0, tzinfo=UTC)
    assert schedule.last_run_at == now
    run = Run.objects.get()
    assert (run.schedule, run.created_by, run.preset, run.duration_s) == (schedule, operator, "sleep", 30)
    assert run.status == RunStatus.QUEUED and queued_job(run)
    # No channel is connected: the run is library-only rather than failing at the end.
    assert run.publish_target == "library"

    assert worker.commit(services.fire_due_schedules, datetime(2026, 3, 29, 16, 0, tzinfo=UTC)) == 1
    schedule.refresh_from_db()
    assert schedule.next_run_at == datetime(2026, 3, 30, 16, 0, tzinfo=UTC)


def test_a_schedule_publishes_to_youtube_when_the_channel_is_connected(operator, admin_user, worker):
    YouTubeChannel.objects.create(client_id="id", client_secret="secret", refresh_token="token")
    now = datetime(2026, 7, 3, 11, 31, tzinfo=UTC)  # Friday 07:31 in New York
    schedule = make_schedule(operator, timezone="America/New_York", cron="30 7 * * 1-5",
                             next_run_at=now - timedelta(minutes=1))

    assert worker.commit(services.fire_due_schedules, now) == 1
    assert Run.objects.get().publish_target == "youtube"
    schedule.refresh_from_db()
    assert schedule.next_run_at == datetime(2026, 7, 6, 11, 30, tzinfo=UTC)  # Monday 07:30 EDT


def test_disabled_and_future_schedules_do_not_fire(operator, worker):
    now = timezone.now()
    make_schedule(operator, name="off", enabled=False, next_run_at=now - timedelta(hours=1))
    make_schedule(operator, name="later", next_run_at=now + timedelta(hours=1))
    assert worker.commit(services.fire_due_schedules, now) == 0
    assert not Run.objects.exists()



@contextmanager
def runs_cannot_be_created():
    """The database refuses every new run (a trigger), as a scheduler that died between claiming a
    schedule and creating its run would leave it: the claim must not survive without the run."""
    from django.db import connection

    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute("CREATE FUNCTION test_refuse_runs() RETURNS trigger AS $$ "
                           "BEGIN RAISE EXCEPTION 'simulated crash'; END $$ LANGUAGE plpgsql")
            cursor.execute("CREATE TRIGGER test_refuse_runs BEFORE INSERT ON pipeline_run "
                           "FOR EACH ROW EXECUTE FUNCTION test_refuse_runs()")
        else:
            cursor.execute("CREATE TRIGGER test_refuse_runs BEFORE INSERT ON pipeline_run "
                           "BEGIN SELECT RAISE(ABORT, 'simulated crash'); END")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER test_refuse_runs" + (" ON pipeline_run" if postgres else ""))
            if postgres:
                cursor.execute("DROP FUNCTION test_refuse_runs()")


def test_a_schedule_whose_run_could_not_be_created_stays_due(operator, worker):
    now = datetime(2026, 3, 28, 17, 30, tzinfo=UTC)
    due = now - timedelta(minutes=30)
    schedule = make_schedule(operator, next_run_at=due)

    with runs_cannot_be_created(), pytest.raises(DatabaseError):
        worker.commit(services.fire_due_schedules, now)
    schedule.refresh_from_db()
    assert (schedule.next_run_at, schedule.last_run_at) == (due, None), "the claim outlived the run it was for"
    assert not Run.objects.exists()

    assert worker.commit(services.fire_due_schedules, now) == 1  # the next tick fires it, once
    assert Run.objects.get().schedule == schedule
