"""The library engine, `mix_library`: checks uploaded tracks, measures each once, and
streams them in a seeded order with equal-power crossfades into the parallel encoder."""

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import EngineError, Log, Progress
from ..ffmpeg import AUDIO_FORMATS, FFmpegProcess, FormatNotAccepted, media_input, probe, run_ffmpeg
from .common import CHUNK, SR, MixResult, TrackInfo, _check_duration
from .encode import _encode_split
from .loudness import TARGET_LUFS
from .mixdown import _to_pcm


@dataclass(frozen=True)
class AudioInfo:
    """An uploaded audio file that ffmpeg can decode."""

    path: Path
    duration_s: float
    codec: str
    sample_rate: int
    channels: int
    title: str


def validate_audio_file(path: Path | str) -> AudioInfo:
    """Check that `path` really is decodable audio; EngineError with a clear reason if not."""
    path = Path(path)
    try:
        info = probe(path, AUDIO_FORMATS)
    except FormatNotAccepted:
        raise
    except EngineError:
        raise EngineError(f"{path.name} is not an audio file ffmpeg can read")
    audio = [s for s in info["streams"] if s.get("codec_type") == "audio"]
    if not audio:
        raise EngineError(f"{path.name} has no audio stream")
    duration = info["duration"] or float(audio[0].get("duration") or 0)
    if duration < 1:
        raise EngineError(f"{path.name} is too short to use ({duration:.1f} s)")
    try:  # decoding the start catches files whose header is fine but whose data is not
        demuxer = info["format"].get("format_name", "").split(",")[0]  # forced: the one the probe chose
        source = ["-f", demuxer, "-i", path] if demuxer else media_input(path, AUDIO_FORMATS)
        run_ffmpeg(["-xerror", "-t", "20", *source, "-map", "0:a:0", "-f", "null", "-"], timeout=120)
    except EngineError as exc:
        raise EngineError(f"{path.name} could not be decoded: {exc}")
    tags = {k.lower(): v for k, v in info["format"].get("tags", {}).items()}
    title = tags.get("title") or path.stem.replace("_", " ").strip()
    if tags.get("artist") and tags.get("title"):
        title = f"{tags['artist']} - {tags['title']}"
    return AudioInfo(
        path=path,
        duration_s=duration,
        codec=str(audio[0].get("codec_name")),
        sample_rate=int(audio[0].get("sample_rate") or 0),
        channels=int(audio[0].get("channels") or 0),
        title=title,
    )


# Decoding and measuring use the same conversion, so the frame counts agree exactly.
_LIBRARY_FILTER = f"aresample={SR},aformat=sample_fmts=flt:channel_layouts=stereo"
_SAMPLES_RE = re.compile(r"Number of samples:\s*(\d+)")
_LOUDNESS_RE = re.compile(r"^\s*I:\s+(-?\d+(?:\.\d+)?) LUFS")


def _measure_track(path: Path) -> tuple[int, float]:
    """Exact length in frames at 44.1 kHz and integrated loudness, from one decode."""
    lines = run_ffmpeg(
        ["-nostats", *media_input(path, AUDIO_FORMATS), "-map", "0:a:0", "-af",
         f"{_LIBRARY_FILTER},ebur128=framelog=verbose,astats=measure_perchannel=none:measure_overall=Number_of_samples",
         "-f", "null", "-"],
        loglevel="info",
        timeout=600,
    )  # fmt: skip
    frames = [int(m.group(1)) for line in lines if (m := _SAMPLES_RE.search(line))]
    loudness = [float(m.group(1)) for line in lines if (m := _LOUDNESS_RE.match(line))]
    if not frames or not loudness:
        raise EngineError(f"could not measure {path.name}")
    return frames[-1], loudness[-1]


@dataclass
class _Placement:
    track: int
    start: int
    length: int
    fade_in: int
    fade_out: int


class _Decoder:
    """A track decoded by ffmpeg to stereo float32 at 44.1 kHz, read frame-exactly."""

    def __init__(self, path: Path, skip: int):
        self.proc = FFmpegProcess(
            [*media_input(path, AUDIO_FORMATS), "-map", "0:a:0", "-af", _LIBRARY_FILTER, "-f", "f32le", "pipe:1"],
            stdout=True,
        )
        while skip > 0:
            skip -= len(self.read(min(skip, CHUNK)))

    def read(self, frames: int) -> np.ndarray:
        """The next `frames` frames, padded with silence past the end of the track."""
        data = self.proc.stdout.read(frames * 8)
        out = np.zeros((frames, 2), dtype=np.float32)
        got = np.frombuffer(data, dtype=np.float32)
        out.reshape(-1)[: len(got)] = got
        return out

    def close(self) -> None:
        self.proc.kill()
        self.proc.stdout.close()


def mix_library(
    tracks: list[Path],
    out_path: Path | str,
    *,
    duration_s: float,
    crossfade_s: float = 4.0,
    seed: int = 0,
    titles: list[str] | None = None,
    progress: Progress | None = None,
    log: Log | None = None,
) -> MixResult:
    """Mix uploaded tracks into one AAC .m4a of exactly `duration_s` seconds.

    `titles` (one per track) name the tracklist's entries; by default the files' own titles.

    Tracks play in an order shuffled by `seed` (reshuffled and repeated when they run
    out), each gain-matched to the target loudness, with equal-power crossfades of
    `crossfade_s`; the mix fades out at the end. The tracklist gives each start time.
    """
    total = _check_duration(duration_s)
    if not tracks:
        raise ValueError("at least one track is needed")
    if not 0 <= crossfade_s <= 30:
        raise ValueError("crossfade must be between 0 and 30 seconds")
    paths = [Path(t) for t in tracks]
    infos = [validate_audio_file(p) for p in paths]
    if log:
        log(f"measuring {len(paths)} tracks")
    measured: list[tuple[int, float]] = [(0, 0.0)] * len(paths)
    errors: list[BaseException] = []

    def measure(indices: list[int]) -> None:
        try:
            for i in indices:
                measured[i] = _measure_track(paths[i])
        except BaseException as exc:  # reported below
            errors.append(exc)

    # Two measurements at a time: one per core, each is a single-threaded decode.
    pool = [threading.Thread(target=measure, args=(list(range(k, len(paths), 2)),), daemon=True) for k in (0, 1)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]
    if progress:
        progress(0.1)
    lengths = [frames for frames, _ in measured]
    # Gain to the target, capped: near-silent uploads are not boosted into noise.
    gains = [10 ** (min(20.0, max(-20.0, TARGET_LUFS - loud)) / 20) for _, loud in measured]

    placements = _library_timeline(lengths, total, round(crossfade_s * SR), seed)
    fade_out = round(min(max(crossfade_s, 3.0), duration_s / 10) * SR)

    def chunks(first: int, stop: int) -> Iterator[np.ndarray]:
        decoders: dict[int, _Decoder] = {}
        try:
            for at in range(first, stop, CHUNK):
                n = min(CHUNK, stop - at)
                out = np.zeros((n, 2), dtype=np.float32)
                for k, p in enumerate(placements):
                    lo, hi = max(at, p.start), min(at + n, p.start + p.length)
                    if lo >= hi:
                        if k in decoders and p.start + p.length <= at:
                            decoders.pop(k).close()
                        continue
                    if k not in decoders:
                        decoders[k] = _Decoder(paths[p.track], lo - p.start)
                    part = decoders[k].read(hi - lo) * np.float32(gains[p.track])
                    offset = np.arange(lo, hi) - p.start
                    gain = np.ones(hi - lo)
                    if p.fade_in:
                        gain *= np.sin(np.clip(offset / p.fade_in, 0, 1) * np.pi / 2)
                    if p.fade_out:
                        gain *= np.sin(np.clip((p.length - offset) / p.fade_out, 0, 1) * np.pi / 2)
                    out[lo - at : hi - at] += part * gain[:, None].astype(np.float32)
                if at + n > total - fade_out:
                    left = (total - np.arange(at, at + n)) / fade_out
                    out *= np.sin(np.clip(left, 0, 1) * np.pi / 2).astype(np.float32)[:, None]
                yield _to_pcm(out)
        finally:
            for decoder in decoders.values():
                decoder.close()

    _encode_split(chunks, total, Path(out_path), lambda f: progress(0.1 + 0.9 * f) if progress else None, log)
    return MixResult.written(
        out_path,
        total,
        loudness_lufs=TARGET_LUFS,
        tracklist=[TrackInfo(p.start / SR, titles[p.track] if titles else infos[p.track].title)
                   for p in placements],
        seed=seed,
    )


def _library_timeline(lengths: list[int], total: int, crossfade: int, seed: int) -> list[_Placement]:
    """Where each track plays: a seeded shuffle, repeated as often as the duration needs."""
    rng = np.random.default_rng([int(seed) & 0xFFFF_FFFF_FFFF_FFFF, 7])
    crossfade = min(crossfade, min(lengths) // 3)
    placements: list[_Placement] = []
    order: list[int] = []
    position = 0
    while position < total:
        if not order:
            order = [int(i) for i in rng.permutation(len(lengths))]
            if placements and len(order) > 1 and order[0] == placements[-1].track:
                order[0], order[1] = order[1], order[0]  # never the same track twice in a row
        track = order.pop(0)
        length = min(lengths[track], total - position)
        placements.append(_Placement(track, position, length, crossfade if placements else 0, 0))
        if position + length >= total:
            break
        position += length - crossfade
    for before in placements[:-1]:
        before.fade_out = crossfade
    return placements
