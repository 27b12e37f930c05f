"""The procedural engine, `compose_mix`: plans the tracks, builds the bed, and streams
the mix into the parallel encoder."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .. import Log, Progress
from ..presets import DEFAULT_PRESET, get_preset
from .arrangement import _plan
from .common import CHUNK, SR, MixResult, TrackInfo, _check_duration
from .encode import _encode_split
from .keys import key_name
from .limiter import limited
from .mixdown import _Bed, _Mix, _release_memory


def compose_mix(
    out_path: Path | str,
    *,
    duration_s: float,
    preset: str = DEFAULT_PRESET,
    bpm: float | None = None,
    key: str | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    log: Log | None = None,
) -> MixResult:
    """Compose a procedural lo-fi mix and write it as AAC in an .m4a file (44.1 kHz stereo).

    `preset` is a name from presets.PRESETS; `bpm` and `key` (e.g. "F#m", "Eb") override
    the preset's ranges for every track; the same seed and parameters give the same file.
    Raises ValueError for bad parameters and EngineError when encoding or writing fails.
    """
    total = _check_duration(duration_s)
    mood = get_preset(preset)
    if bpm is not None and not 40 <= bpm <= 200:
        raise ValueError("bpm must be between 40 and 200")
    seed = int(seed) & 0xFFFF_FFFF_FFFF_FFFF
    started = time.monotonic()
    plans = _plan(total, mood, bpm, key, seed)
    bed = _Bed(mood, seed)
    if log:
        log(f"composing {len(plans)} tracks ({mood.label}, seed {seed}) for {duration_s:.0f} s")
    mixes: list[_Mix] = []
    build_lock = threading.Lock()

    def chunks(first: int, stop: int) -> Iterator[np.ndarray]:
        mix = _Mix(plans, mood, bed, total, seed, build_lock)
        mixes.append(mix)

        def source(lo: int, hi: int) -> Iterator[np.ndarray]:
            for at in range(lo, hi, CHUNK):
                yield mix.chunk(at, min(CHUNK, hi - at))

        return limited(source, first, stop, total)

    _encode_split(chunks, total, Path(out_path), progress, log)
    # Each worker built the tracks it played; together they cover the whole mix.
    whole = _Mix(plans, mood, bed, total, seed)
    for mix in mixes:
        whole.track_power.update(mix.track_power)
    loudness = whole.estimated_loudness()
    mixes.clear()  # the workers' last tracks
    _release_memory()
    if log:
        log(f"composed in {time.monotonic() - started:.1f} s, estimated {loudness:.1f} LUFS")
    return MixResult.written(
        out_path,
        total,
        loudness_lufs=round(loudness, 2),
        tracklist=[TrackInfo(p.start / SR, p.title, round(p.bpm), key_name(p.tonic, p.minor)) for p in plans],
        preset=mood.name,
        bpm=round(plans[0].bpm),
        key=key_name(plans[0].tonic, plans[0].minor),
        seed=seed,
    )
