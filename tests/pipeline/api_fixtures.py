"""Helpers for the pipeline API and command tests, beside the shared fixtures of
tests/pipeline/conftest.py (make_run, finished_run, make_track, channel, preset)."""

import io
import math
import struct
import wave

from django.utils import timezone

from pipeline.choices import UploadStatus
from pipeline.models import Video


def wav_bytes(seconds: float = 1.0, rate: int = 22050, freq: float = 220.0) -> bytes:
    """A real, decodable mono WAV (a quiet sine), for uploads that the service decodes."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        frames = b"".join(struct.pack("<h", int(3000 * math.sin(2 * math.pi * freq * i / rate)))
                          for i in range(int(seconds * rate)))
        out.writeframes(frames)
    return buffer.getvalue()


def mark_uploaded(video: Video) -> Video:
    """The video as the publish stage leaves it after a successful upload."""
    Video.objects.filter(pk=video.pk).update(youtube_id="abc123", youtube_url="https://youtu.be/abc123",
                                             upload_status=UploadStatus.UPLOADED, uploaded_at=timezone.now())
    video.refresh_from_db()
    return video
