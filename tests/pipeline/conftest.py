"""Shared pipeline test data and workers: runs in a given state (tests.factories.RunFactory: made
through services.start_run, then moved to the state a worker would leave them in), rendered videos
with real small files under MEDIA_ROOT (a tmp dir, see tests/conftest.py), a connected channel, tracks.

Fixtures are factories: `make_run(user, status)`, `finished_run(user, **video_fields)`,
`make_track(user)`, plus `channel` (a channel row, nothing called), `preset` (a valid name),
`fake_youtube` (the fake Google/YouTube with the settings pointing at it), `youtube` (the same,
with the channel connected through it), `worker` (the real task worker, in this process).
"""

import io
from pathlib import Path

import pytest
from django.conf import settings
from django_tasks_db.models import DBTaskResult
from PIL import Image

from pipeline import services
from pipeline.choices import RunStatus
from pipeline.models import Run, Video, YouTubeChannel
from tests.factories import (
    AUDIO_BYTES,
    RunFactory,
    TrackFactory,
    default_preset,
    move_run_to,  # noqa: F401  (imported from here by page tests)
)
from tests.monitoring.worker import make_due, run_worker

# Bytes of the fake MP4: every offset has a known value, so range tests can check the bytes.
VIDEO_BYTES = bytes(range(256)) * 40


@pytest.fixture
def preset():
    return default_preset()


def _image_bytes(size, fmt, colour=(40, 30, 80)):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def make_run(db):
    """make_run(user, status="queued", **start_run_params) -> Run (tests.factories.RunFactory)."""

    def make(user, status=RunStatus.QUEUED, **params):
        return RunFactory(created_by=user, status=status, **params)

    return make


def write_media(run: Run, **video_fields) -> Video:
    """Write small real files for the run's audio, video, cover and thumbnail and point its Video at them."""
    folder = Path(settings.MEDIA_ROOT) / "runs" / str(run.pk)
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "audio": ("audio.m4a", AUDIO_BYTES),
        "video": ("video.mp4", VIDEO_BYTES),
        "cover": ("cover.png", _image_bytes((192, 108), "PNG")),
        "thumbnail": ("thumbnail.jpg", _image_bytes((128, 72), "JPEG", (200, 120, 90))),
    }
    for name, content in files.values():
        (folder / name).write_bytes(content)
    fields = {"title": "Rainy study session", "description": "Lo-fi beats to study to.", "tags": ["lofi", "study"],
              "duration_s": float(run.duration_s), "size_bytes": len(VIDEO_BYTES), "loudness_lufs": -14.1,
              **{field: f"runs/{run.pk}/{name}" for field, (name, _) in files.items()}, **video_fields}
    Video.objects.filter(run=run).update(**fields)
    return Video.objects.select_related("run").get(run=run)


@pytest.fixture
def finished_run(make_run):
    """finished_run(user, **video_fields) -> a succeeded library run whose Video has files on disk."""

    def make(user, *, run_params=None, **video_fields):
        run = make_run(user, RunStatus.SUCCEEDED, **(run_params or {}))
        write_media(run, **video_fields)
        run.refresh_from_db()
        return run

    return make


@pytest.fixture
def channel(admin_user):
    """A connected YouTube channel, as connecting one leaves it (nothing is called in page tests;
    `fake_youtube` is for tests that talk to YouTube)."""
    return YouTubeChannel.objects.create(client_id="client-123.apps.googleusercontent.com",
                                         client_secret="s3cret-client-value", refresh_token="1//refresh-token-xyz",
                                         channel_id="UCtestchannel", channel_title="Lo-fi test channel",
                                         connected_by=admin_user)


@pytest.fixture
def fake_youtube(settings):
    """The fake YouTube (OAuth, Data API, uploads) with every YouTube setting pointing at it."""
    from tests.fakes.youtube_server import FakeYouTube

    with FakeYouTube() as fake:
        settings.YOUTUBE_AUTH_URL, settings.YOUTUBE_TOKEN_URL = fake.auth_url, fake.token_url
        settings.YOUTUBE_API_BASE, settings.YOUTUBE_UPLOAD_BASE = fake.api_base, fake.upload_base
        yield fake


@pytest.fixture
def youtube(fake_youtube, settings, admin_user):
    """`fake_youtube` with the channel connected with its credentials (services.connect_channel), in
    chunks small enough that a 30 s video takes several; its record starts after connecting."""
    settings.YOUTUBE_CHUNK_SIZE = 256 * 1024
    services.connect_channel(admin_user, client_id=fake_youtube.client_id, client_secret=fake_youtube.client_secret,
                             refresh_token=fake_youtube.refresh_token)
    # Connecting verified the credentials; tests watch what publishing sends.
    fake_youtube.requests.clear()
    fake_youtube.token_requests = 0
    return fake_youtube


@pytest.fixture
def worker(django_capture_on_commit_callbacks):
    """The real worker, in this process.

    worker.start(user, **params): services.start_run with its queueing committed.
    worker.step(): one pass: every queued run advances by one stage.
    worker.drain(): passes until nothing is queued, making backoff waits due at once.
    worker.commit(fn, *args): call a service and run its on_commit callbacks (queueing, events).
    """

    class Worker:
        def commit(self, fn, *args, **kwargs):
            with django_capture_on_commit_callbacks(execute=True):
                return fn(*args, **kwargs)

        def start(self, user, **params):
            return self.commit(services.start_run, user, **{"preset": "study", "duration_s": 30, **params})

        def step(self):
            self.commit(run_worker)

        def drain(self, rounds=40):
            for _ in range(rounds):
                self.step()
                if not DBTaskResult.objects.filter(status="READY").exists():
                    return
                make_due()
            raise AssertionError(f"tasks still queued after {rounds} worker passes")

    return Worker()


@pytest.fixture
def make_track(db):
    """make_track(user, title) -> a Track row with a small file on disk (no decoding)."""

    def make(user, title="Rain on the window"):
        return TrackFactory(uploaded_by=user, title=title)

    return make


@pytest.fixture(scope="session")
def clip_bytes(tmp_path_factory):
    """The bytes of a real 1-second MP4 clip (H.264 + AAC), made once by ffmpeg, for intro/outro uploads."""
    import subprocess

    from pipeline.engines.ffmpeg import ffmpeg_exe

    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=1",
                    "-f", "lavfi", "-i", "sine=d=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-shortest", str(path)], check=True)
    return path.read_bytes()
