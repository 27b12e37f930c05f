"""Shared pipeline test data: runs in a given state (made through services.start_run, then
moved to the state a worker would leave them in), rendered videos with real small files
under MEDIA_ROOT (a tmp dir, see tests/conftest.py), a connected channel, tracks.

Fixtures are factories: `make_run(user, status)`, `finished_run(user, **video_fields)`,
`make_track(user)`, plus `channel` (connected by an admin) and `preset` (a valid name).
"""

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from pipeline import services
from pipeline.choices import RunStatus, StageName, StageStatus
from pipeline.models import Run, Stage, Track, Video, YouTubeChannel

# Bytes of the fake MP4: every offset has a known value, so range tests can check the bytes.
VIDEO_BYTES = bytes(range(256)) * 40
AUDIO_BYTES = b"\x00\x01\x02\x03audio" * 500


def _preset():
    from pipeline.engines.presets import PRESETS

    return "study" if "study" in PRESETS else next(iter(PRESETS))


@pytest.fixture
def preset():
    return _preset()


def _image_bytes(size, fmt, colour=(40, 30, 80)):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


def move_run_to(run: Run, status: str, *, error: str = "") -> Run:
    """Put a run (and its stages) in the state a worker would leave it in."""
    now = timezone.now()
    stages = Stage.objects.filter(run=run)
    if status == RunStatus.RUNNING:
        stages.filter(name=StageName.COMPOSE).update(status=StageStatus.SUCCEEDED, attempts=1, started_at=now,
                                                     finished_at=now, progress=1, log="[12:00:00] Composed.\n")
        stages.filter(name=StageName.ARTWORK).update(status=StageStatus.RUNNING, attempts=1, started_at=now,
                                                     progress=0.5, log="[12:00:01] Drawing the cover.\n")
        Run.objects.filter(pk=run.pk).update(status=status, started_at=now, progress=0.38)
    elif status == RunStatus.FAILED:
        stages.filter(name=StageName.COMPOSE).update(status=StageStatus.SUCCEEDED, attempts=1, started_at=now,
                                                     finished_at=now, progress=1)
        stages.filter(name=StageName.ARTWORK).update(
            status=StageStatus.FAILED, attempts=3, started_at=now, finished_at=now,
            error=error or "No space left on device", log="[12:00:00] Attempt 3 started.\n[12:00:01] disk full\n")
        Run.objects.filter(pk=run.pk).update(status=status, started_at=now, finished_at=now, progress=0.35,
                                             error=error or "Artwork failed: No space left on device")
    elif status in (RunStatus.SUCCEEDED, RunStatus.CANCELLED):
        stage_status = StageStatus.SUCCEEDED if status == RunStatus.SUCCEEDED else StageStatus.CANCELLED
        stages.update(status=stage_status, attempts=1, started_at=now, finished_at=now,
                      progress=1 if status == RunStatus.SUCCEEDED else 0, log="[12:00:00] Done.\n")
        if status == RunStatus.SUCCEEDED and run.publish_target == "library":
            stages.filter(name=StageName.PUBLISH).update(status=StageStatus.SKIPPED)
        Run.objects.filter(pk=run.pk).update(status=status, started_at=now, finished_at=now, error=error,
                                             progress=1.0 if status == RunStatus.SUCCEEDED else 0.1)
    run.refresh_from_db()
    return run


@pytest.fixture
def make_run(db):
    """make_run(user, status="queued", **start_run_params) -> Run."""

    def make(user, status=RunStatus.QUEUED, *, error="", **params):
        params = {"preset": _preset(), "duration_s": 60, **params}
        run = services.start_run(user, **params)
        return move_run_to(run, status, error=error) if status != RunStatus.QUEUED else run

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
def make_track(db):
    """make_track(user, title) -> a Track row with a small file on disk (no decoding)."""

    def make(user, title="Rain on the window"):
        track = Track(title=title, uploaded_by=user, duration_s=95.5, size_bytes=len(AUDIO_BYTES))
        track.file.save("rain.m4a", ContentFile(AUDIO_BYTES), save=False)
        track.save()
        return track

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
