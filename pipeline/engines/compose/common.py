"""What every part of the composer shares: the audio format, the duration check, and
the types both engines return (a tracklist entry and the mix result)."""

from dataclasses import dataclass
from pathlib import Path

from ..limits import MAX_DURATION_S, MIN_DURATION_S

SR = 44100
CHANNELS = 2
CHUNK = 1 << 16  # frames streamed per write (~1.5 s)


@dataclass(frozen=True)
class TrackInfo:
    """One entry of a mix's tracklist."""

    start_s: float
    title: str
    bpm: int | None = None
    key: str | None = None


@dataclass(frozen=True)
class MixResult:
    """What a mix engine produced."""

    path: Path
    duration_s: float
    size_bytes: int
    sample_rate: int
    channels: int
    loudness_lufs: float  # integrated loudness the mix was normalised to (BS.1770 model)
    tracklist: list[TrackInfo]
    preset: str | None = None
    bpm: int | None = None  # tempo of the first track (all of them when bpm was given)
    key: str | None = None  # key of the first track (all of them when key was given)
    seed: int | None = None

    @classmethod
    def written(cls, path: Path | str, frames: int, **fields) -> "MixResult":
        """The result for `frames` frames of 44.1 kHz stereo just written to `path`."""
        path = Path(path)
        return cls(path=path, duration_s=frames / SR, size_bytes=path.stat().st_size, sample_rate=SR,
                   channels=CHANNELS, **fields)


def _check_duration(duration_s: float) -> int:
    if not MIN_DURATION_S <= duration_s <= MAX_DURATION_S:
        raise ValueError(f"duration must be between {MIN_DURATION_S:.0f} s and {MAX_DURATION_S:.0f} s")
    return round(duration_s * SR)
