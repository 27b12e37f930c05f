"""The media engines against real ffmpeg: streams, durations, loudness, determinism, limits.

No database: engines take paths and numbers. Media is kept short (30 s or less).
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.engines import EngineError, TransientEngineError
from pipeline.engines.artwork import make_artwork
from pipeline.engines.compose import (
    SR,
    TARGET_LUFS,
    _encode_split,
    _library_timeline,
    compose_mix,
    mix_library,
    parse_key,
    validate_audio_file,
)
from pipeline.engines.ffmpeg import ffmpeg_exe, measure_loudness, probe, run_ffmpeg
from pipeline.engines.metadata import (
    clean_metadata,
    generate_metadata,
    tags_length,
    validate_metadata,
)
from pipeline.engines.presets import PRESETS
from pipeline.engines.render import render_video
from pipeline.engines.thumbnail import make_thumbnail


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args], check=True)


def decode(path: Path) -> np.ndarray:
    """Decoded audio as (frames, 2) float32 at 44.1 kHz."""
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "2", "-ar", str(SR), "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.float32).reshape(-1, 2)


def pcm_hash(path: Path) -> str:
    return hashlib.sha256(decode(path).tobytes()).hexdigest()


def audio_stream(info: dict) -> dict:
    return next(s for s in info["streams"] if s["codec_type"] == "audio")


def dominant_hz(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x[:, 0] * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / SR)[np.argmax(spectrum)])


def top_level_boxes(path: Path) -> list[str]:
    boxes, data = [], path.read_bytes()
    at = 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        boxes.append(data[at + 4 : at + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[at + 8 : at + 16], "big")
        if size < 8:
            break
        at += size
    return boxes


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("engines")


@pytest.fixture(scope="module")
def study_mix(media):
    progress: list[float] = []
    result = compose_mix(media / "study.m4a", duration_s=30, preset="study", seed=1, progress=progress.append)
    return result, progress


@pytest.fixture(scope="module")
def cover(media) -> Path:
    return make_artwork(media / "cover.png", preset="rainy-night", seed=3).path


# --------------------------------------------------------------------------- ffmpeg helpers


def test_ffmpeg_binary_comes_from_the_environment_first(monkeypatch):
    monkeypatch.setenv("FFMPEG_BINARY", "/opt/custom/ffmpeg")
    assert ffmpeg_exe() == "/opt/custom/ffmpeg"
    monkeypatch.delenv("FFMPEG_BINARY")
    monkeypatch.setenv("PATH", "")
    assert Path(ffmpeg_exe()).is_file()  # the imageio-ffmpeg wheel's binary


def test_probe_without_ffprobe_reads_the_same_facts(media, monkeypatch):
    clip = media / "probe.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=f=330:d=3", "-ac", "2", "-ar", "44100", "-c:a", "aac", str(clip))
    with_ffprobe = probe(clip)
    monkeypatch.setenv("FFPROBE_BINARY", "")
    without = probe(clip)
    a, b = audio_stream(with_ffprobe), audio_stream(without)
    assert (a["codec_name"], a["sample_rate"], a["channels"]) == (b["codec_name"], b["sample_rate"], b["channels"])
    assert without["duration"] == pytest.approx(with_ffprobe["duration"], abs=0.02)


def test_ffmpeg_failure_raises_engine_error_with_its_message(media):
    with pytest.raises(EngineError, match="No such file"):
        run_ffmpeg(["-i", str(media / "missing.wav"), "-f", "null", "-"])


def test_ffmpeg_timeout_is_transient(media):
    with pytest.raises(TransientEngineError, match="did not finish"):
        run_ffmpeg(["-re", "-f", "lavfi", "-i", "sine=d=600", "-f", "null", "-"], timeout=0.5)


# --------------------------------------------------------------------------- composer


def test_composed_mix_is_aac_stereo_441_of_the_requested_length(study_mix):
    result, progress = study_mix
    info = probe(result.path)
    stream = audio_stream(info)
    assert [s["codec_type"] for s in info["streams"]] == ["audio"]
    assert (stream["codec_name"], stream["sample_rate"], stream["channels"]) == ("aac", "44100", 2)
    assert info["duration"] == pytest.approx(30, abs=0.05)
    assert 120_000 < int(info["format"]["bit_rate"]) < 200_000
    assert progress[-1] == 1.0 and progress == sorted(progress)
    assert 78 <= result.bpm <= 88 and result.tracklist[0].start_s == 0


def test_composed_mix_is_normalised_to_minus_14_lufs(study_mix):
    result, _ = study_mix
    measured = measure_loudness(result.path)
    assert abs(measured - TARGET_LUFS) <= 1.0
    assert abs(measured - result.loudness_lufs) <= 1.0


@pytest.fixture(scope="module")
def other_seed_mix(media):
    return compose_mix(media / "other.m4a", duration_s=30, preset="study", seed=2)


def test_same_seed_gives_the_same_file_and_another_seed_other_audio(study_mix, other_seed_mix, media):
    first, _ = study_mix
    again = compose_mix(media / "again.m4a", duration_s=30, preset="study", seed=1)
    assert again.path.read_bytes() == first.path.read_bytes()
    assert pcm_hash(other_seed_mix.path) != pcm_hash(first.path)


def band_profile(path: Path) -> np.ndarray:
    """Share of energy in third-octave bands from 40 Hz to 12 kHz, in dB: a timbre fingerprint."""
    mono = decode(path)[SR * 3 : SR * 27].mean(axis=1)
    power = np.abs(np.fft.rfft(mono)) ** 2
    freqs = np.fft.rfftfreq(len(mono), 1 / SR)
    edges = 40 * 2 ** (np.arange(28) / 3)
    bands = np.array([power[(freqs >= lo) & (freqs < hi)].sum() for lo, hi in zip(edges, edges[1:], strict=False)])
    return 10 * np.log10(bands / bands.sum() + 1e-12)


def test_presets_sound_different(study_mix, other_seed_mix, media):
    study, _ = study_mix
    sleep = compose_mix(media / "sleep.m4a", duration_s=30, preset="sleep", seed=1, bpm=64, key="Eb")
    assert (sleep.bpm, sleep.key) == (64, "Eb")
    assert {t.key for t in sleep.tracklist} == {"Eb"}

    def distance(a, b):
        return float(np.sqrt(np.mean((band_profile(a) - band_profile(b)) ** 2)))

    # Two seeds of one preset are closer to each other than the same seed in two presets.
    assert distance(study.path, sleep.path) > 1.5 * distance(study.path, other_seed_mix.path)


def test_halves_are_joined_without_a_seam(media):
    # A continuous sweep through the two-encoder path: around the join the decoded audio
    # follows the source as closely as anywhere else.
    total = SR * 20 + 777
    t = np.arange(total) / SR
    sweep = (0.3 * np.sin(2 * np.pi * (220 * t + 5 * t * t))).astype(np.float32)
    source = np.stack([sweep, sweep], axis=1)

    def chunks(first, stop):
        for at in range(first, stop, 4096):
            yield (source[at : min(stop, at + 4096)] * 32767).astype(np.int16)

    out = media / "sweep.m4a"
    _encode_split(chunks, total, out, None, None)
    decoded = decode(out)[:total, 0]
    assert probe(out)["duration"] == pytest.approx(total / SR, abs=0.001)
    error = np.abs(decoded - sweep)
    split = total // 2 // 1024 * 1024
    assert error[split - 2048 : split + 2048].max() < 0.01
    assert error[SR : total - SR].max() < 0.01


def test_parse_key():
    assert parse_key("F#m") == (6, True)
    assert parse_key("Eb") == (3, False)
    assert parse_key("a minor") == (9, True)
    with pytest.raises(ValueError):
        parse_key("H#")


def test_bad_parameters_are_refused(media):
    with pytest.raises(ValueError, match="duration"):
        compose_mix(media / "x.m4a", duration_s=10)
    with pytest.raises(ValueError, match="unknown preset"):
        compose_mix(media / "x.m4a", duration_s=30, preset="polka")


# --------------------------------------------------------------------------- library mode


@pytest.fixture(scope="module")
def uploads(media) -> list[Path]:
    specs = [("low.mp3", 220, 8, "-ar 48000 -ac 1"), ("mid.wav", 440, 10, "-ar 44100"), ("high.m4a", 880, 12, "")]
    paths = []
    for name, hz, seconds, extra in specs:
        path = media / name
        ffmpeg("-f", "lavfi", "-i", f"sine=f={hz}:d={seconds}", *extra.split(), str(path))
        paths.append(path)
    return paths


def test_library_mix_has_the_exact_length_and_a_true_tracklist(uploads, media):
    lengths = {p.stem: probe(p)["duration"] for p in uploads}
    result = mix_library(uploads, media / "library.m4a", duration_s=30, crossfade_s=2, seed=5)
    info = probe(result.path)
    assert info["duration"] == pytest.approx(30, abs=0.03)
    assert audio_stream(info)["sample_rate"] == "44100"
    assert abs(measure_loudness(result.path) - TARGET_LUFS) <= 1.0

    entries = result.tracklist
    assert entries[0].start_s == 0
    assert {e.title for e in entries[:3]} == {"low", "mid", "high"}  # every upload before any repeats
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.start_s == pytest.approx(before.start_s + lengths[before.title] - 2, abs=0.05)
    audio = decode(result.path)
    hz = {"low": 220, "mid": 440, "high": 880}
    for entry, nxt in zip(entries, entries[1:], strict=False):
        middle = int((entry.start_s + nxt.start_s) / 2 * SR)
        assert dominant_hz(audio[middle - 8192 : middle + 8192]) == pytest.approx(hz[entry.title], rel=0.02)


def test_library_order_is_a_seeded_shuffle_without_immediate_repeats():
    lengths = [SR * 10, SR * 11, SR * 12, SR * 13]

    def order(seed):
        return [p.track for p in _library_timeline(lengths, SR * 200, SR * 2, seed)]

    assert order(1) == order(1)
    assert len({tuple(order(seed)) for seed in range(6)}) > 1
    for seed in range(6):
        tracks = order(seed)
        assert all(a != b for a, b in zip(tracks, tracks[1:], strict=False))
        assert sorted(tracks[:4]) == [0, 1, 2, 3]  # every track once before any repeats


def test_validate_audio_file_accepts_audio_and_rejects_text(uploads, media):
    info = validate_audio_file(uploads[0])
    assert info.duration_s == pytest.approx(8, abs=0.1) and info.codec == "mp3"
    fake = media / "song.mp3"
    fake.write_text("this is not audio, just a text file with an mp3 name\n" * 20)
    with pytest.raises(EngineError, match="song.mp3"):
        validate_audio_file(fake)


# --------------------------------------------------------------------------- artwork and thumbnail


def test_artwork_is_a_deterministic_1920x1080_png(media, cover):
    again = make_artwork(media / "cover-again.png", preset="rainy-night", seed=3)
    other = make_artwork(media / "cover-other.png", preset="sunset", seed=3)
    with Image.open(cover) as img:
        assert (img.format, img.size, img.mode) == ("PNG", (1920, 1080), "RGB")
        night = np.asarray(img, dtype=np.float32)
    assert again.path.read_bytes() == cover.read_bytes()
    with Image.open(other.path) as img:
        sunset = np.asarray(img, dtype=np.float32)
    # Sunset's palette is warmer: more red than blue in the sky; the rainy night the reverse.
    assert sunset[:500, :, 0].mean() > sunset[:500, :, 2].mean() * 0.9
    assert night[:500, :, 2].mean() > night[:500, :, 0].mean()


def test_thumbnail_is_a_1280x720_jpeg_under_2_mb(media, cover):
    title = "Rain on the window – 1 hour of lofi beats to relax and unwind after a very long day"
    result = make_thumbnail(cover, media / "thumb.jpg", title=title, subtitle="lofi mix · 1 hour")
    with Image.open(result.path) as img:
        assert (img.format, img.size) == ("JPEG", (1280, 720))
        pixels = np.asarray(img.convert("L"), dtype=np.float32)
    assert result.path.stat().st_size < 2 * 1024 * 1024
    # White title text over the darkened lower part: bright pixels where the text is.
    assert (pixels[380:700] > 235).mean() > 0.02


def test_thumbnail_of_a_missing_cover_is_an_engine_error(media):
    with pytest.raises(EngineError, match="cover"):
        make_thumbnail(media / "nope.png", media / "thumb2.jpg", title="x")
    assert not (media / "thumb2.jpg").exists()


# --------------------------------------------------------------------------- render


def test_render_still_mp4_streams_pixels_faststart_and_duration(study_mix, cover, media):
    progress: list[float] = []
    result = render_video(cover, study_mix[0].path, media / "still.mp4", duration_s=30, progress=progress.append)
    info = probe(result.path)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = audio_stream(info)
    assert (video["codec_name"], video["pix_fmt"], video["width"], video["height"]) == ("h264", "yuv420p", 1920, 1080)
    assert audio["codec_name"] == "aac"
    assert info["duration"] == pytest.approx(30, abs=0.5)
    boxes = top_level_boxes(result.path)
    assert boxes.index("moov") < boxes.index("mdat")
    assert progress[-1] == 1.0
    # A still at 1 frame per second: about 30 frames, not 750.
    frames = subprocess.run(
        [shutil.which("ffprobe") or "ffprobe", "-v", "error", "-count_packets", "-select_streams", "v",
         "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", str(result.path)],
        capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    if frames:
        assert int(frames) <= 31


def test_render_with_intro_and_outro_concatenates_cleanly(study_mix, cover, media):
    intro, outro = media / "intro.mp4", media / "outro.avi"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=2", "-f", "lavfi", "-i", "sine=f=660:d=2",
           "-c:v", "libx264", "-c:a", "aac", "-shortest", str(intro))  # fmt: skip
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30:d=1.5", "-c:v", "mpeg4", str(outro))
    result = render_video(cover, study_mix[0].path, media / "full.mp4", duration_s=30, intro=intro, outro=outro)
    info = probe(result.path)
    assert {s["codec_type"] for s in info["streams"]} == {"video", "audio"}
    assert info["duration"] == pytest.approx(33.5, abs=0.5)
    assert (result.intro_s, result.outro_s) == pytest.approx((2.0, 1.5), abs=0.05)
    decoding = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(result.path), "-f", "null", "-"], capture_output=True, text=True
    )
    assert decoding.returncode == 0 and decoding.stderr.strip() == ""


def test_render_motion_moves(study_mix, cover, media):
    result = render_video(cover, study_mix[0].path, media / "motion.mp4", duration_s=30, motion=True)
    assert probe(result.path)["duration"] == pytest.approx(30, abs=0.5)
    frames = []
    for at in ("2", "8"):
        raw = subprocess.run(
            [ffmpeg_exe(), "-v", "error", "-ss", at, "-i", str(result.path), "-frames:v", "1",
             "-f", "rawvideo", "-pix_fmt", "gray", "-"],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
        frames.append(np.frombuffer(raw, dtype=np.uint8).astype(np.int16))
    assert np.abs(frames[0] - frames[1]).mean() > 1


def test_render_failure_is_an_engine_error_and_leaves_nothing(study_mix, media):
    out_dir = media / "failed"
    out_dir.mkdir()
    with pytest.raises(EngineError, match="cover"):
        render_video(media / "no-cover.png", study_mix[0].path, out_dir / "a.mp4", duration_s=30)
    broken = media / "broken.png"
    broken.write_text("not an image")
    with pytest.raises(EngineError, match="ffmpeg failed"):
        render_video(broken, study_mix[0].path, out_dir / "b.mp4", duration_s=30)
    assert list(out_dir.iterdir()) == []


def _unprivileged(fn) -> str:
    """Run fn in a child process that cannot bypass file permissions; return its outcome."""
    if os.geteuid() != 0:
        try:
            fn()
        except EngineError as exc:
            return f"EngineError: {exc}"
        return "no error"
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: drop root, run, report, exit without running pytest's cleanup
        message = "no error"
        try:
            os.setgid(65534)
            os.setuid(65534)
            fn()
        except EngineError as exc:
            message = f"EngineError: {exc}"
        except BaseException as exc:
            message = f"{type(exc).__name__}: {exc}"
        os.write(write_end, message.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        outcome = pipe.read().decode()
    os.waitpid(pid, 0)
    return outcome


@pytest.mark.parametrize("engine", ["thumbnail", "artwork", "compose"])
def test_unwritable_directory_gives_a_readable_error_and_no_file(cover, engine):
    base = Path(tempfile.mkdtemp(prefix="lofi-engines-"))
    try:
        base.chmod(0o755)
        source = base / "cover.png"
        shutil.copy(cover, source)
        source.chmod(0o644)
        locked = base / "locked"
        locked.mkdir(mode=0o555)
        target = {"thumbnail": "thumb.jpg", "artwork": "cover.png", "compose": "mix.m4a"}[engine]
        run = {
            "thumbnail": lambda: make_thumbnail(source, locked / target, title="hello"),
            "artwork": lambda: make_artwork(locked / target, seed=1),
            "compose": lambda: compose_mix(locked / target, duration_s=30),
        }[engine]
        outcome = _unprivileged(run)
        assert outcome == f"EngineError: cannot write to {locked / target}: permission denied"
        assert list(locked.iterdir()) == []
    finally:
        (base / "locked").chmod(0o755)
        shutil.rmtree(base)


# --------------------------------------------------------------------------- metadata


def test_generated_metadata_fits_youtube_and_lists_tracks(study_mix):
    result, _ = study_mix
    for preset in PRESETS:
        meta = generate_metadata(preset, 3600, 80, "Dm", seed=7, tracklist=result.tracklist)
        assert validate_metadata(meta.title, meta.description, meta.tags) == {}
        assert "0:00 " in meta.description
        assert " ai " not in f" {meta.title} {meta.description} ".lower()
    titles = {generate_metadata("study", 3600, 80, "Dm", seed=s).title for s in range(8)}
    assert len(titles) > 2


def test_validation_reports_each_youtube_limit_without_changing_anything():
    assert validate_metadata("t" * 100, "é" * 2500, ["x" * 249, "y" * 250]) == {}  # exactly at every limit
    errors = validate_metadata("t" * 101, "ok", ["ok"])
    assert set(errors) == {"title"} and "101" in errors["title"]
    assert set(validate_metadata("a <b> title", "ok", [])) == {"title"}
    assert set(validate_metadata("ok", "fine > worse", [])) == {"description"}
    # 2500 two-byte characters and one more byte: 2501 characters but 5001 bytes.
    errors = validate_metadata("ok", "é" * 2500 + "a", [])
    assert set(errors) == {"description"} and "5001 bytes" in errors["description"]
    # Two tags with spaces: 248 + 2 quotes each, plus a comma = 501.
    tags = ["a " + "x" * 246, "b " + "y" * 246]
    assert tags_length(tags) == 501
    assert set(validate_metadata("ok", "ok", tags)) == {"tags"}
    assert set(validate_metadata("", "ok", [])) == {"title"}


def test_clean_metadata_trims_to_the_limits():
    meta = clean_metadata("word " * 40 + "<end>", "ü" * 3000 + "\nlast line", [f"tag number {i}" for i in range(80)])
    assert len(meta.title) <= 100 and meta.title.endswith("…") and "<" not in meta.title
    assert len(meta.description.encode()) <= 5000
    assert tags_length(meta.tags) <= 500 and meta.tags[0] == "tag number 0"
    assert validate_metadata(meta.title, meta.description, meta.tags) == {}
