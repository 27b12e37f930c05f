"""Uploaded tracks are read only as the audio types they may be: a playlist cannot pull in other files.

An HLS playlist named `.mp3` used to be accepted (ffprobe: format `hls`) and, mixed into a
video, played whatever local media file it pointed at.
"""

import subprocess
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from pipeline.engines import EngineError
from pipeline.engines.compose import mix_library, validate_audio_file
from pipeline.engines.ffmpeg import FormatNotAccepted, ffmpeg_exe, probe
from pipeline.models import Track
from tests.api_helpers import field_errors

API = "/api/v1/pipeline"


def encode(path: Path, *args: str, seconds=3) -> Path:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
                    *args, str(path)], check=True)
    return path


@pytest.fixture
def secret(tmp_path) -> Path:
    """Someone else's media file on the server, outside the track library."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return encode(folder / "private-mix.ts", "-c:a", "aac", "-f", "mpegts")


def playlist(target: Path) -> bytes:
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3.0,\n{target}\n#EXT-X-ENDLIST\n".encode()


def media_files(settings) -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


# --- at upload: a clear 400 on the file field, nothing kept ------------------------------------------------------
@pytest.mark.django_db
def test_an_hls_playlist_named_mp3_is_refused_on_the_api(api_as, operator, secret, settings):
    upload = SimpleUploadedFile("night.mp3", playlist(secret), content_type="audio/mpeg")
    errors = field_errors(api_as(operator).post(f"{API}/tracks/", {"file": upload}, format="multipart"))
    assert "HLS/M3U playlist" in " ".join(errors["file"]) and "refused" in " ".join(errors["file"])
    assert not Track.objects.exists()
    assert media_files(settings) == []


@pytest.mark.django_db
def test_an_hls_playlist_named_mp3_is_refused_on_the_page(operator, secret):
    client = Client()
    client.force_login(operator)
    response = client.post("/pipeline/tracks/", {"file": SimpleUploadedFile("night.mp3", playlist(secret)),
                                                 "title": "Night"})
    assert response.status_code == 400
    assert "HLS/M3U playlist" in response.content.decode()
    assert not Track.objects.exists()


@pytest.mark.django_db
def test_a_concat_list_named_wav_is_refused(api_as, operator, secret):
    listing = f"ffconcat version 1.0\nfile {secret.name}\n".encode()
    upload = SimpleUploadedFile("loop.wav", listing, content_type="audio/wav")
    errors = field_errors(api_as(operator).post(f"{API}/tracks/", {"file": upload}, format="multipart"))
    assert "concat list" in " ".join(errors["file"])


# --- at decode: a file that got in anyway cannot open another path -----------------------------------------------
def test_a_stored_playlist_cannot_make_the_mixer_read_another_file(tmp_path, secret):
    crafted = tmp_path / "night.mp3"
    crafted.write_bytes(playlist(secret))
    with pytest.raises(FormatNotAccepted, match="HLS/M3U playlist"):
        validate_audio_file(crafted)
    out = tmp_path / "mix.m4a"
    with pytest.raises(EngineError):
        mix_library([crafted], out, duration_s=30)
    assert not out.exists()


def test_probing_with_the_audio_types_refuses_other_formats(tmp_path):
    video = encode(tmp_path / "clip.mp3", "-f", "mpegts")  # MPEG-TS, named .mp3
    with pytest.raises(FormatNotAccepted, match="not in a format accepted here"):
        validate_audio_file(video)
    assert probe(video)["format"]["format_name"] == "mpegts"  # our own probes still read any format


# --- what may be uploaded still is ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "args"), [
    ("a.wav", []),
    ("a.mp3", ["-c:a", "libmp3lame"]),
    ("a.flac", []),
    ("a.ogg", ["-c:a", "libvorbis"]),
    ("a.opus", ["-c:a", "libopus"]),
    ("a.m4a", ["-c:a", "aac"]),
    ("a.aac", ["-c:a", "aac", "-f", "adts"]),
])
def test_every_accepted_audio_type_still_validates(tmp_path, name, args):
    try:
        path = encode(tmp_path / name, *args)
    except subprocess.CalledProcessError:
        pytest.skip(f"this ffmpeg cannot encode {name}")
    info = validate_audio_file(path)
    assert info.duration_s == pytest.approx(3, abs=0.1)
