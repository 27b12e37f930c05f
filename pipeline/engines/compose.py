"""Lo-fi mixes: a procedural composer and a mixer for uploaded tracks.

Procedural mode (`compose_mix`) writes a mix as a run of short "tracks", each in its
own key and tempo. A track is built from two 4-bar sections (A and B) whose stems
(drums, hats, bass, left/right keys, lead) are synthesized once with numpy; the
track then tiles those loops with variations (intro, melody, drop-outs, filtered
bars, outro) and crossfades into the next track. Tape wow/flutter, a warm high-cut
and vinyl crackle are applied while streaming, so the same loop never sounds
identical twice. Everything is derived from the seed, so a seed and parameters
always give the same bytes.

Speed and memory: only the stems of the track(s) being played are in memory, and
audio is produced in chunks that are piped into ffmpeg. The mix is split in two
halves encoded by two ffmpeg processes at once (AAC encoding is single-threaded
and is the slowest part); the second half starts a few AAC frames early so both
encoders see the same audio around the split, and the halves are joined at a
frame boundary with ffmpeg's concat demuxer without re-encoding.

Loudness: each track is scaled when its stems are built so that its integrated
loudness (ITU-R BS.1770 gating over a 100 ms power model of its arrangement)
meets the target together with the crackle bed; no second pass over the audio.

Library mode (`mix_library`) measures each upload once with ffmpeg (loudness and
exact length), then streams them in a seeded order with equal-power crossfades
to exactly the requested duration, each track gain-matched to the target.
"""

import ctypes
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import EngineError, Log, Progress, atomic_output
from .ffmpeg import AUDIO_FORMATS, FFmpegProcess, FormatNotAccepted, media_input, probe, run_ffmpeg
from .presets import DEFAULT_PRESET, MAJOR_PROGRESSIONS, MINOR_PROGRESSIONS, Preset, get_preset

_LIBC = ctypes.CDLL(None)

SR = 44100
CHANNELS = 2
AAC_BITRATE = "160k"
TARGET_LUFS = -14.0
MIN_DURATION_S = 30.0
MAX_DURATION_S = 3 * 3600.0

AAC_FRAME = 1024  # samples per AAC frame; the two halves are joined on a frame boundary
JOIN_PREROLL = 16 * AAC_FRAME  # audio the second encoder sees before the join
JOIN_TAIL = 8 * AAC_FRAME  # audio the first encoder sees after the join
CHUNK = 1 << 16  # frames streamed per write (~1.5 s)
SEGMENT_XFADE = 128  # samples of crossfade where two loops meet (avoids clicks)
TRACK_XFADE_S = 4.0
FADE_IN_S = 1.5
FADE_OUT_S = 6.0

CHORD_INTERVALS: dict[str, tuple[int, ...]] = {
    "maj7": (0, 4, 7, 11),
    "maj9": (0, 4, 7, 11, 14),
    "6/9": (0, 4, 7, 9, 14),
    "m7": (0, 3, 7, 10),
    "m9": (0, 3, 7, 10, 14),
    "m11": (0, 3, 7, 10, 14, 17),
    "7": (0, 4, 7, 10),
    "9": (0, 4, 7, 10, 14),
    "13": (0, 4, 10, 14, 21),
    "7b9": (0, 4, 7, 10, 13),
    "m7b5": (0, 3, 6, 10),
}

NOTE_NAMES = {
    "C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6,
    "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11,
}  # fmt: skip
# How each key is usually spelled: flats for major keys, sharps for most minor ones.
MAJOR_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")


def parse_key(key: str) -> tuple[int, bool]:
    """'F#m' -> (6, True); 'Eb' -> (3, False). Accepts m/min/minor and maj/major suffixes."""
    m = re.fullmatch(r"\s*([A-Ga-g])([#b]?)\s*(m|min|minor|maj|major)?\s*", key or "")
    if not m:
        raise ValueError(f"not a key: {key!r} (examples: C, F#m, Eb, A minor)")
    pc = NOTE_NAMES[m.group(1).upper() + m.group(2)]
    return pc, (m.group(3) or "").lower() in ("m", "min", "minor")


def key_name(pc: int, minor: bool) -> str:
    return MINOR_NAMES[pc % 12] + "m" if minor else MAJOR_NAMES[pc % 12]


# --------------------------------------------------------------------------- loudness


def _k_weighting_power(freqs: np.ndarray) -> np.ndarray:
    """|H(f)|^2 of the BS.1770 K-weighting filter (shelf + high-pass) at `freqs` Hz."""
    z = np.exp(-1j * 2 * np.pi * freqs / SR)  # z^-1 on the unit circle
    # Pre-filter 1: high shelf, +4 dB above ~1.7 kHz (coefficients derived for any rate).
    k = math.tan(math.pi * 1681.974450955533 / SR)
    q = 0.7071752369554196
    vh = 10 ** (3.999843853973347 / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    b = ((vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0)
    a = (1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0)
    h1 = (b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z)
    # Pre-filter 2: the "RLB" high-pass around 38 Hz.
    k = math.tan(math.pi * 38.13547087602444 / SR)
    q = 0.5003270373238773
    a0 = 1 + k / q + k * k
    a = (1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0)
    h2 = (1 - 2 * z + z * z) / (a[0] + a[1] * z + a[2] * z * z)
    return np.abs(h1 * h2) ** 2


def gated_loudness(block_power: np.ndarray) -> float:
    """Integrated loudness from mean-square K-weighted power per 100 ms, summed over channels.

    BS.1770-4: 400 ms blocks with 75 % overlap, absolute gate at -70 LUFS, relative gate
    10 LU below the absolute-gated mean.
    """
    if len(block_power) < 4:
        block_power = np.pad(block_power, (0, 4 - len(block_power)))
    blocks = np.convolve(block_power, np.full(4, 0.25), mode="valid")
    with np.errstate(divide="ignore"):
        loud = -0.691 + 10 * np.log10(blocks)
    gated = blocks[loud > -70]
    if not len(gated):
        return -70.0
    relative = -0.691 + 10 * math.log10(gated.mean()) - 10
    gated = blocks[(loud > -70) & (loud > relative)]
    return -0.691 + 10 * math.log10(gated.mean())


BLOCK = SR // 10  # 100 ms: the loudness model's time step (a quarter of a BS.1770 block)
WELCH_N = 4096
_WELCH_FREQS = np.fft.rfftfreq(WELCH_N, 1 / SR)
_K_WELCH = _k_weighting_power(_WELCH_FREQS)


def _spectrum(x: np.ndarray) -> np.ndarray:
    """Normalised power spectrum shape of a loop (a few Hann-windowed frames averaged)."""
    starts = np.linspace(0, len(x) - WELCH_N, 8).astype(int) if len(x) > WELCH_N else [0]
    window = np.hanning(WELCH_N).astype(np.float32)
    acc = np.zeros(len(_WELCH_FREQS))
    for s in starts:
        frame = x[s : s + WELCH_N]
        acc += np.abs(np.fft.rfft(np.pad(frame, (0, WELCH_N - len(frame))) * window)) ** 2
    total = acc.sum()
    return acc / total if total > 0 else acc


def _box_response(width: int, passes: int = 2) -> np.ndarray:
    """Power response of `passes` cascaded moving averages of `width` samples."""
    w = np.pi * _WELCH_FREQS / SR
    with np.errstate(invalid="ignore", divide="ignore"):
        h = np.where(w == 0, 1.0, np.sin(w * width) / (width * np.sin(w)))
    return np.abs(h) ** (2 * passes)


def _binomial_response(taps: int) -> np.ndarray:
    return np.cos(np.pi * _WELCH_FREQS / SR) ** (2 * taps)


# --------------------------------------------------------------------------- instruments


def _time(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.float32) / np.float32(SR)


def _envelope(t: np.ndarray, attack: float, decay: float, hold: float, release: float) -> np.ndarray:
    """Exponential decay with a linear attack, released `hold` seconds after the onset."""
    env = np.exp(-t / decay)
    if attack > 0:
        env *= np.minimum(1.0, t / attack)
    off = np.searchsorted(t, hold)
    if off < len(t):
        env[off:] *= np.exp(-(t[off:] - t[off]) / release)
    return env


def _note_length(hold: float, release: float) -> int:
    return int((hold + 4 * release) * SR) + 1  # the release has fallen by 35 dB by then


def _rhodes(f: float, hold: float) -> np.ndarray:
    t = _time(_note_length(hold, 0.25))
    ph = np.float32(2 * np.pi * f) * t
    index = 1.3 * np.exp(-t / 0.2) + 0.3  # bright "bark" on the attack, mellow after
    y = np.sin(ph + index * np.sin(ph)) + 0.2 * np.sin(2 * ph) * np.exp(-t / 0.5)
    return y * _envelope(t, 0.004, 2.4 * (261.0 / f) ** 0.5, hold, 0.25)


def _piano(f: float, hold: float) -> np.ndarray:
    t = _time(_note_length(hold, 0.3))
    y = np.zeros_like(t)
    base = 3.2 * (220.0 / f) ** 0.45
    for n in range(1, 7):
        fn = n * f * math.sqrt(1 + 0.0004 * n * n)  # slight string inharmonicity
        if fn > 9000:
            break
        y += (0.85**n / n) * np.sin(np.float32(2 * np.pi * fn) * t) * np.exp(-t * (1 + 0.7 * (n - 1)) / base)
    return y * _envelope(t, 0.006, 6.0, hold, 0.3)


def _guitar(f: float, hold: float) -> np.ndarray:
    """Karplus-Strong plucked string, computed one period at a time, tuned by resampling."""
    n_out = _note_length(hold, 0.15)
    period = max(2, int(SR / f))
    ratio = f / (SR / (period + 0.5))  # the averaging filter adds half a sample of delay
    n_ks = int(n_out * ratio) + period + 2
    rng = np.random.default_rng(int(f * 100))
    excite = rng.uniform(-1, 1, period + 2)
    excite = np.convolve(excite, np.ones(3) / 3, mode="same")  # softer, nylon-like pluck
    y = np.zeros(n_ks + 1)  # y[0] stays 0: the sample "before" the first period
    y[1 : period + 1] = excite[:period]
    decay = 0.5 * (0.9985 if f < 300 else 0.997)
    for k in range(period + 1, n_ks + 1, period):
        m = min(period, n_ks + 1 - k)
        y[k : k + m] = decay * (y[k - period : k - period + m] + y[k - period - 1 : k - period - 1 + m])
    out = np.interp(np.arange(n_out) * ratio, np.arange(n_ks), y[1:]).astype(np.float32)
    return out * _envelope(_time(n_out), 0.0, 8.0, hold, 0.15) * 3.0


def _pad(f: float, hold: float) -> np.ndarray:
    t = _time(_note_length(hold, 0.7))
    y = np.zeros_like(t)
    for detune in (0.9977, 1.0023):  # two voices +-4 cents: slow chorus beating
        for n in range(1, 6):
            y += (0.75**n / n) * np.sin(np.float32(2 * np.pi * f * detune * n) * t)
    return 0.6 * y * _envelope(t, 0.35, 9.0, hold, 0.7)


def _vibes(f: float, hold: float) -> np.ndarray:
    t = _time(_note_length(hold, 0.4))
    ph = np.float32(2 * np.pi * f) * t
    y = np.sin(ph) + 0.3 * np.sin(4 * ph) * np.exp(-t / 0.25) + 0.05 * np.sin(9.9 * ph) * np.exp(-t / 0.05)
    return 0.6 * y * _envelope(t, 0.002, 2.6 * (440.0 / f) ** 0.3, hold, 0.4)


def _musicbox(f: float, hold: float) -> np.ndarray:
    t = _time(_note_length(hold, 0.5))
    ph = np.float32(2 * np.pi * f) * t
    y = np.sin(ph) + 0.4 * np.sin(2 * ph) * np.exp(-t / 0.4) + 0.15 * np.sin(5.4 * ph) * np.exp(-t / 0.12)
    return 0.8 * y * _envelope(t, 0.001, 1.4, hold, 0.5)


def _flute(f: float, hold: float) -> np.ndarray:
    t = _time(_note_length(hold, 0.12))
    vibrato = (f * 0.005 / 5.5) * np.sin(np.float32(2 * np.pi * 5.5) * t) * np.minimum(1.0, t / 0.5)
    ph = np.float32(2 * np.pi * f) * t + vibrato
    y = np.sin(ph) + 0.18 * np.sin(2 * ph) + 0.05 * np.sin(3 * ph)
    return 0.8 * y * _envelope(t, 0.06, 5.0, hold, 0.12)


def _bass(f: float, hold: float) -> np.ndarray:
    t = _time(_note_length(hold, 0.08))
    ph = np.float32(2 * np.pi * f) * t
    y = np.sin(ph) + 0.3 * np.sin(2 * ph) * np.exp(-t / 0.3) + 0.1 * np.sin(3 * ph) * np.exp(-t / 0.12)
    y = np.tanh(1.4 * y) / np.tanh(1.4)  # a little valve-like roundness
    return y * _envelope(t, 0.008, 1.6, hold, 0.08)


TIMBRES: dict[str, Callable[[float, float], np.ndarray]] = {
    "rhodes": _rhodes,
    "piano": _piano,
    "guitar": _guitar,
    "pad": _pad,
    "vibes": _vibes,
    "musicbox": _musicbox,
    "flute": _flute,
    "bass": _bass,
}


def _midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _shaped_noise(rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    """White noise band-limited to [low, high] Hz with soft edges (FFT shaping)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    spec *= 1 / (1 + (low / np.maximum(f, 1)) ** 4) / (1 + (f / high) ** 4)
    y = np.fft.irfft(spec, n)
    return (y / (np.abs(y).max() + 1e-9)).astype(np.float32)


@dataclass(frozen=True)
class DrumKit:
    kick: tuple[str, ...]
    snare: tuple[str, ...]
    hat: tuple[str, ...]
    fill: tuple[str, str, str]  # kick, snare, hat rows for the 4th bar


# One character per 16th: X accent, x normal, g ghost, o open hat, - rest.
KITS: dict[str, DrumKit] = {
    "boombap": DrumKit(
        kick=("X-----x---X-----", "X------x--X-----", "X-----x-x-X-----", "X---------X---x-"),
        snare=("----X-------X---", "----X--g----X---", "----X-------X-g-"),
        hat=("X-x-X-x-X-x-X-x-", "x-xgx-xgx-xgx-xg", "X-x-X-x-X-x-X-o-"),
        fill=("X-----x-x-------", "----X-----g-XgXg", "X-x-X-x-X-x-o---"),
    ),
    "soft": DrumKit(
        kick=("X-------x-X-----", "X------x--------", "X-----x---x-----"),
        snare=("----x-------x---", "----x-------x--g"),
        hat=("x-x-x-x-x-x-x-x-", "x-xgx-x-x-xgx-x-"),
        fill=("X-------x-------", "----x-----g-x-g-", "x-x-x-x-x-x-o---"),
    ),
    "brush": DrumKit(
        kick=("x-------x-------", "x-----x---------"),
        snare=("----X-------X---", "----X--g----X---"),
        hat=("X---X-x-X---X-x-",),
        fill=("x-------x-------", "----X---g-g-X-gg", "X---X-x-X-x-X-x-"),
    ),
    "minimal": DrumKit(
        kick=("X---------------", "X-------x-------"),
        snare=("--------x-------", "----------------"),
        hat=("x-x-x-x-x-x-x-x-", "x---x---x---x---"),
        fill=("X-------x-------", "--------x-----g-", "x-x-x-x-x-xxx-x-"),
    ),
}

_HIT_VELOCITY = {"X": 1.0, "x": 0.72, "g": 0.32, "o": 0.8}


def _drum_samples(kit: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Synthesized one-shots for a kit: kick, snare, closed and open hat."""
    t = _time(int(0.6 * SR))
    soft = kit in ("soft", "minimal", "brush")
    f_hi, f_lo, kick_decay = (110.0, 48.0, 0.28) if soft else (140.0, 52.0, 0.32)
    freq = f_lo + (f_hi - f_lo) * np.exp(-t / 0.04)
    kick = np.sin(2 * np.pi * np.cumsum(freq) / SR) * np.exp(-t / kick_decay)
    kick[:400] += 0.15 * _shaped_noise(rng, 400, 200, 3000) * np.exp(-t[:400] / 0.004)
    kick = np.tanh(1.6 * kick) / np.tanh(1.6)

    n = len(t)
    if kit == "brush":
        snare = _shaped_noise(rng, n, 1800, 8000) * np.minimum(1, t / 0.015) * np.exp(-t / 0.16) * 0.7
        hat_closed = _shaped_noise(rng, n, 5000, 12000) * np.exp(-t / 0.35) * 0.3
        for partial in (3150.0, 4730.0, 5960.0):  # a ride cymbal's bell-like partials
            hat_closed += 0.08 * np.sin(2 * np.pi * partial * t) * np.exp(-t / 0.5)
    elif soft:  # rim click rather than a full snare
        snare = 0.6 * np.sin(2 * np.pi * 1700 * t) * np.exp(-t / 0.012) + 0.5 * np.sin(2 * np.pi * 480 * t) * np.exp(
            -t / 0.025
        )
        snare += 0.35 * _shaped_noise(rng, n, 2000, 6000) * np.exp(-t / 0.03)
        hat_closed = _shaped_noise(rng, n, 6000, 12000) * np.exp(-t / 0.03) * 1.4
    else:
        snare = 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.06)
        snare += _shaped_noise(rng, n, 1200, 7000) * np.exp(-t / 0.13)
        hat_closed = _shaped_noise(rng, n, 6500, 13000) * np.exp(-t / 0.035)
    if kit == "minimal":  # a shaker instead of hats
        hat_closed = _shaped_noise(rng, n, 4000, 9000) * np.minimum(1, t / 0.01) * np.exp(-t / 0.05)
    hat_open = _shaped_noise(rng, n, 6000, 12000) * np.exp(-t / 0.25) * 0.7
    trim = lambda x: (x[: np.flatnonzero(np.abs(x) > 1e-4).max() + 1]).astype(np.float32)  # noqa: E731
    return {"kick": trim(kick), "snare": trim(snare), "hat": trim(hat_closed), "open": trim(hat_open)}


# --------------------------------------------------------------------------- arrangement

# Chord rhythms: (onset beat, length in beats, 0 = this bar's chord / 1 = next bar's).
COMPING: dict[str, tuple[tuple[float, float, int], ...]] = {
    "whole": ((0.0, 3.9, 0),),
    "half": ((0.0, 1.9, 0), (2.0, 1.9, 0)),
    "push": ((0.0, 2.3, 0), (2.5, 0.9, 0), (3.5, 2.4, 1)),
    "stabs": ((0.0, 0.9, 0), (1.5, 0.5, 0), (2.5, 0.9, 0), (3.5, 0.45, 0)),
}
# Bass figures: (onset beat, length, degree): R root, 3 third, 5 fifth, 8 octave, A approach.
BASS_FIGURES: dict[str, tuple[tuple[float, float, str], ...]] = {
    "pulse": ((0.0, 1.4, "R"), (2.5, 0.9, "R"), (3.5, 0.4, "A")),
    "long": ((0.0, 2.8, "R"), (3.0, 0.9, "5")),
    "bounce": ((0.0, 0.9, "R"), (1.5, 0.9, "8"), (2.5, 1.4, "5")),
    "whole": ((0.0, 3.8, "R"),),
    "walk": ((0.0, 0.9, "R"), (1.0, 0.9, "3"), (2.0, 0.9, "5"), (3.0, 0.9, "A")),
}
KIT_BASS = {
    "boombap": ("pulse", "long", "bounce"),
    "soft": ("long", "pulse"),
    "brush": ("walk", "long"),
    "minimal": ("whole",),
}
LEAD_RHYTHMS = (
    (0.0, 0.5, 1.5, 2.5),
    (0.5, 1.0, 1.5, 3.0),
    (0.0, 1.5, 2.0, 3.5),
    (1.0, 1.5, 2.0, 2.5, 3.0),
    (0.0, 0.75, 1.5, 3.0),
)

STEMS = ("drums", "hats", "bass", "keys_l", "keys_r", "lead")
# Per stem: gain into the left and right channel.
PAN = {
    "drums": (1.0, 1.0),
    "hats": (0.75, 0.95),
    "bass": (1.0, 1.0),
    "keys_l": (1.0, 0.0),
    "keys_r": (0.0, 1.0),
    "lead": (0.9, 0.85),
}


@dataclass(frozen=True)
class Variant:
    gains: dict[str, float]
    filtered: bool = False


def _gains(drums=1.0, hats=1.0, bass=1.0, keys=1.0, lead=0.0) -> dict[str, float]:
    return {"drums": drums, "hats": hats, "bass": bass, "keys_l": keys, "keys_r": keys, "lead": lead}


VARIANTS: dict[str, Variant] = {
    "intro": Variant(_gains(drums=0, hats=0, bass=0), filtered=True),
    "groove": Variant(_gains()),
    "melody": Variant(_gains(keys=0.85, lead=1.0)),
    "break": Variant(_gains(drums=0, hats=0.7)),
    "breathe": Variant(_gains(drums=0, hats=0, bass=0.7, lead=1.0)),
    "lofi": Variant(_gains(), filtered=True),
    "outro": Variant(_gains(drums=0, hats=0.4, bass=0.5), filtered=True),
}
FILTER_WIDTH = 36  # samples per moving average in "filtered" variants (~1.2 kHz first null)

TITLE_WORDS = (
    ("late", "paper", "quiet", "slow", "soft", "blue", "little", "sleepy", "warm", "hazy", "faded", "amber"),
    ("bus home", "lanterns", "window seat", "coffee", "rooftops", "letters", "streetlights", "tea", "pages",
     "daydream", "polaroids", "sidewalks", "umbrellas", "radio", "notebook", "clouds"),
)  # fmt: skip


@dataclass(frozen=True)
class TrackInfo:
    """One entry of a mix's tracklist."""

    start_s: float
    title: str
    bpm: int | None = None
    key: str | None = None


@dataclass
class _Segment:
    start: int  # offset within the track, samples
    section: int
    variant: str


@dataclass
class _TrackPlan:
    index: int
    seed: tuple[int, int]
    start: int  # global sample position
    length: int
    loop_len: int  # samples in one 4-bar section
    bpm: float
    tonic: int
    minor: bool
    progressions: tuple[str, str]
    comping: str
    bass: str
    drum_rows: tuple[int, int, int]
    title: str
    segments: list[_Segment] = field(default_factory=list)

    @property
    def end(self) -> int:
        return self.start + self.length


def _plan(duration_frames: int, preset: Preset, bpm: float | None, key: str | None, seed: int) -> list[_TrackPlan]:
    """Lay out the tracks of a mix: keys, tempos, sections and the variant of every loop."""
    fixed_key = parse_key(key) if key else None
    xfade = int(TRACK_XFADE_S * SR)
    plans: list[_TrackPlan] = []
    position = 0
    index = 0
    while position < duration_frames:
        rng = np.random.default_rng([seed, index, 1])
        tonic, minor = fixed_key or parse_key(str(rng.choice(preset.keys)))
        pool = MINOR_PROGRESSIONS if minor else MAJOR_PROGRESSIONS
        names = [p for p in preset.progressions if p in pool]
        if len(names) < 2:  # a key override in the other mode than the preset's usual one
            names = list(pool)
        first, second = rng.choice(names, 2, replace=False)
        tempo = float(bpm or rng.integers(preset.bpm_range[0], preset.bpm_range[1] + 1))
        loop_len = round(16 * 60 / tempo * SR)
        kit = KITS[preset.drum_kit]
        # Tracks run 2-3 minutes; the last one only as long as the mix needs.
        loops = int(rng.integers(9, 14))
        remaining = duration_frames - position
        last = remaining <= (loops + 4) * loop_len  # rather one longer track than a stub at the end
        if last:
            loops = max(1, math.ceil(remaining / loop_len))
        title = f"{rng.choice(TITLE_WORDS[0])} {rng.choice(TITLE_WORDS[1])}"
        plan = _TrackPlan(
            index=index,
            seed=(seed, index),
            start=position,
            length=loops * loop_len,
            loop_len=loop_len,
            bpm=tempo,
            tonic=tonic,
            minor=minor,
            progressions=(str(first), str(second)),
            comping=str(rng.choice(preset.comping)),
            bass=str(rng.choice(KIT_BASS[preset.drum_kit])),
            drum_rows=(
                int(rng.integers(len(kit.kick))),
                int(rng.integers(len(kit.snare))),
                int(rng.integers(len(kit.hat))),
            ),
            title=title,
        )
        plan.segments = [
            _Segment(i * loop_len, section, variant) for i, (section, variant) in enumerate(_form(loops, rng))
        ]
        plans.append(plan)
        if last:
            return plans
        position = plan.end - xfade
        index += 1
    return plans


def _form(loops: int, rng: np.random.Generator) -> list[tuple[int, str]]:
    """Which section and variant each loop of a track plays."""
    if loops == 1:
        return [(0, "groove")]
    if loops == 2:
        return [(0, "intro"), (0, "groove")]
    body: list[tuple[int, str]] = []
    cycle = ((0, "groove"), (0, "melody"), (1, "groove"), (1, "melody"))
    for i in range(loops - 2):
        section, variant = cycle[i % 4]
        roll = rng.random()
        if i > 0 and variant == "groove":
            if roll < 0.15:
                variant = "lofi"
            elif roll < 0.3:
                variant = "break"
        elif i > 1 and variant == "melody" and roll < 0.12:
            variant = "breathe"
        body.append((section, variant))
    return [(0, "intro"), *body, (0, "outro")]


# --------------------------------------------------------------------------- track synthesis


def _voicing(root: int, quality: str, previous: list[int] | None) -> list[int]:
    """Chord notes between E3 and G5, as close as possible to the previous voicing."""
    intervals = CHORD_INTERVALS[quality]
    if len(intervals) > 4:  # rich chords drop the root: the bass plays it
        intervals = intervals[1:]
    pcs = sorted({(root + i) % 12 for i in intervals})
    candidates = []
    for rotation in range(len(pcs)):
        order = pcs[rotation:] + pcs[:rotation]
        for low in range(52, 64):
            if low % 12 != order[0]:
                continue
            notes = [low]
            for pc in order[1:]:
                notes.append(notes[-1] + ((pc - notes[-1]) % 12 or 12))
            candidates.append(notes)
    candidates = [v for v in candidates if v[-1] <= 79] or candidates
    if previous is None:
        return min(candidates, key=lambda v: abs(sum(v) / len(v) - 63))
    centre = sum(previous) / len(previous)
    return min(candidates, key=lambda v: abs(sum(v) / len(v) - centre) + 0.5 * abs(v[-1] - previous[-1]))


def _swing_time(beat: float, swing: float) -> float:
    """Warp a straight position (in beats) so off-beat 8ths land at `swing` of the beat."""
    whole = math.floor(beat)
    frac = beat - whole
    warped = frac / 0.5 * swing if frac < 0.5 else swing + (frac - 0.5) / 0.5 * (1 - swing)
    return whole + warped


def _add_circular(loop: np.ndarray, wave: np.ndarray, at: int, gain: float) -> None:
    """Add `wave` * `gain` into a loop at `at`; what runs past the end wraps to the start."""
    n = len(loop)
    wave = wave[:n]
    at %= n
    first = min(len(wave), n - at)
    loop[at : at + first] += gain * wave[:first]
    if first < len(wave):
        loop[: len(wave) - first] += gain * wave[first:]


def _taps(x: np.ndarray, delays_ms: tuple[int, ...], gain: float, decay_s: float) -> np.ndarray:
    """A cheap room: decaying echoes of a circular loop at irregular delays."""
    out = x.copy()
    for ms in delays_ms:
        d = int(ms * SR / 1000)
        g = np.float32(gain * math.exp(-ms / 1000 / decay_s))
        out[d:] += g * x[:-d]
        out[:d] += g * x[-d:]
    return out


class _TrackBank:
    """The synthesized stems of one track's two sections, and its loudness gain."""

    def __init__(self, plan: _TrackPlan, preset: Preset):
        self.plan = plan
        self.preset = preset
        self.beat = plan.loop_len / 16  # samples per beat (exact: loops are whole samples)
        self.rng = np.random.default_rng([*plan.seed, 2])
        self._notes: dict[tuple[str, int, int], np.ndarray] = {}
        self.drum_samples = _drum_samples(preset.drum_kit, self.rng)
        # Stems are kept as 16-bit integers with a scale (half the memory of float32; the
        # rounding is 96 dB below each stem's peak), their statistics taken before that.
        self.sections: list[dict[str, tuple[np.ndarray, float]]] = []
        self.stats: list[dict[str, tuple[np.ndarray, np.ndarray]]] = []
        for index, progression in enumerate(plan.progressions):
            stems = self._section(progression, index)
            self._notes.clear()  # notes repeat within a section; dropping them keeps the peak low
            for stem in stems.values():
                for _ in range(preset.warmth):  # binomial high-cut: tape and a worn needle
                    wrap = stem[-1]
                    stem[1:] += stem[:-1]
                    stem[0] += wrap
                    stem *= np.float32(0.5)
            self.stats.append({name: self._stem_stats(stem) for name, stem in stems.items()})
            self.sections.append({name: _quantize(stem) for name, stem in stems.items()})
            del stems  # before the next section is synthesized
        self.gain = 1.0
        self._clips: dict[tuple[int, str], np.ndarray] = {}

    # -- notes and stems

    def _note(self, timbre: str, midi: int, beats: float) -> np.ndarray:
        key = (timbre, midi, round(beats * 4))  # quarter-beat lengths: fewer distinct notes
        if key not in self._notes:
            hold = round(beats * 4) / 4 * self.beat / SR
            self._notes[key] = TIMBRES[timbre](_midi_hz(midi), hold).astype(np.float32)
        return self._notes[key]

    def _at(self, bar: int, beat: float, jitter_ms: float = 6.0) -> int:
        swung = _swing_time(beat, self.preset.swing)
        return int((bar * 4 + swung) * self.beat + self.rng.normal(0, jitter_ms) * SR / 1000)

    def _section(self, progression: str, index: int) -> dict[str, np.ndarray]:
        plan, preset = self.plan, self.preset
        chords = (MINOR_PROGRESSIONS if plan.minor else MAJOR_PROGRESSIONS)[progression]
        length = plan.loop_len
        stems = {name: np.zeros(length, dtype=np.float32) for name in ("drums", "hats", "bass", "keys", "lead")}
        roots = [(plan.tonic + offset) % 12 for offset, _ in chords]

        # Keys: voice-led chords in the track's comping rhythm, strummed slightly.
        strum = {"guitar": 0.022, "piano": 0.012, "pad": 0.0}.get(preset.keys_timbre, 0.007)
        voicings: list[list[int]] = []
        for root, (_, quality) in zip(roots, chords, strict=True):
            voicings.append(_voicing(root, quality, voicings[-1] if voicings else None))
        rhythm = COMPING[plan.comping]
        anticipates = any(which for _, _, which in rhythm)
        for bar in range(4):
            for onset, beats, which in rhythm:
                if onset == 0 and anticipates:
                    continue  # the previous bar already struck this chord early
                notes = voicings[(bar + which) % 4]
                velocity = (0.8 if onset == 0 else 0.62) * self.rng.uniform(0.85, 1.0)
                at = self._at(bar, onset)
                for i, midi in enumerate(notes):
                    wave = self._note(preset.keys_timbre, midi, beats)
                    gain = 0.22 * velocity * self.rng.uniform(0.85, 1.0)
                    _add_circular(stems["keys"], wave, at + int(i * strum * SR), gain)

        # Bass: roots and fifths under the chords, with approach notes into the next bar.
        for bar, (root, (_, quality)) in enumerate(zip(roots, chords, strict=True)):
            low = 36 + (root - 36) % 12  # C2..B2
            third = 3 if quality.startswith("m") else 4
            for onset, beats, degree in BASS_FIGURES[plan.bass]:
                midi = {
                    "R": low,
                    "3": low + third,
                    "5": low + 7,
                    "8": low + 12,
                    "A": 36 + (roots[(bar + 1) % 4] - 36) % 12 - 1,
                }[degree]
                velocity = (0.9 if onset == 0 else 0.7) * self.rng.uniform(0.85, 1.0)
                wave = self._note("bass", midi, beats)
                _add_circular(stems["bass"], wave, self._at(bar, onset, 4.0), 0.3 * velocity)

        # Drums: the track's rows for three bars, a fill on the fourth.
        kit = KITS[preset.drum_kit]
        k_row, s_row, h_row = plan.drum_rows
        rows = (kit.kick[k_row], kit.snare[(s_row + index) % len(kit.snare)], kit.hat[h_row])
        kick_at: list[int] = []
        for bar in range(4):
            kick, snare, hat = kit.fill if bar == 3 else rows
            for step in range(16):
                beat = step / 4
                for row, sample, stem in ((kick, "kick", "drums"), (snare, "snare", "drums"), (hat, "hat", "hats")):
                    hit = row[step]
                    if hit == "-":
                        continue
                    at = self._at(bar, beat, 4.0 if sample == "kick" else 7.0)
                    wave = self.drum_samples["open" if hit == "o" else sample]
                    level = {"kick": 0.55, "snare": 0.45, "hat": 0.8}[sample]
                    _add_circular(stems[stem], wave, at, level * _HIT_VELOCITY[hit] * self.rng.uniform(0.8, 1.0))
                    if sample == "kick":
                        kick_at.append(at)

        # Lead: a pentatonic call-and-response motif over the four bars.
        scale = (0, 3, 5, 7, 10) if plan.minor else (0, 2, 4, 7, 9)
        pitches = sorted(n for n in range(62, 88) if (n - plan.tonic) % 12 in scale)
        if preset.lead_timbre == "musicbox":
            pitches = [p + 12 for p in pitches]
        motif_rhythm = LEAD_RHYTHMS[int(self.rng.integers(len(LEAD_RHYTHMS)))]
        position = int(self.rng.integers(3, len(pitches) - 4))
        motif = []
        for _ in motif_rhythm:
            position = int(np.clip(position + self.rng.choice((-2, -1, -1, 1, 1, 2)), 0, len(pitches) - 1))
            motif.append(position)
        for bar in (0, 2):
            answer = bar == 2
            for i, onset in enumerate(motif_rhythm):
                degree = motif[i]
                if answer and i >= len(motif) - 2:  # the answer ends differently
                    degree = int(np.clip(degree + self.rng.choice((-2, -1, 1)), 0, len(pitches) - 1))
                nxt = motif_rhythm[i + 1] if i + 1 < len(motif_rhythm) else 5.0
                beats = min(2.0, max(0.4, nxt - onset - 0.1))
                wave = self._note(preset.lead_timbre, pitches[degree], beats)
                _add_circular(stems["lead"], wave, self._at(bar, onset), 0.26 * self.rng.uniform(0.8, 1.0))

        # Sidechain feel: chords and bass duck a little under every kick.
        duck = np.ones(length, dtype=np.float32)
        kernel = (preset.duck * np.exp(-_time(int(0.25 * SR)) / 0.09)).astype(np.float32)
        for at in kick_at:
            _add_circular(duck, kernel, at, -1.0)
        np.maximum(duck, 0.0, out=duck)

        # In place where possible: these loops are megabytes each.
        keys = stems["keys"]
        keys *= duck
        keys_l = keys_r = keys
        if preset.keys_timbre in ("rhodes", "vibes"):  # the classic suitcase auto-pan, 1 cycle / 2 beats
            pan = np.sin(np.float32(np.pi / self.beat) * np.arange(length, dtype=np.float32))
            pan *= np.float32(0.35)
            keys_l = keys * (1 + pan)
            keys_r *= 1 - pan
        lead = stems["lead"]
        lead += 0.3 * np.roll(lead, int(0.75 * self.beat)) + 0.12 * np.roll(lead, int(1.5 * self.beat))
        drums = stems["drums"]
        drums *= np.float32(1.3)
        np.tanh(drums, out=drums)  # tape-ish drum glue
        drums /= np.float32(1.3)
        duck *= np.float32(0.5)  # the bass ducks half as much as the chords
        duck += np.float32(0.5)
        stems["bass"] *= duck
        return {
            "drums": drums,
            "hats": stems["hats"],
            "bass": stems["bass"],
            "keys_l": _taps(keys_l, (29, 47, 71, 103, 149, 211, 293), 0.3, 0.3),
            "keys_r": _taps(keys_r, (37, 59, 83, 127, 173, 241, 331), 0.3, 0.3),
            "lead": lead,
        }

    @staticmethod
    def _stem_stats(stem: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean-square power of each 100 ms of the loop, and the loop's spectral shape."""
        blocks = len(stem) // BLOCK
        profile = np.square(stem[: blocks * BLOCK], dtype=np.float32).reshape(blocks, BLOCK).mean(axis=1)
        return profile.astype(np.float64), _spectrum(stem)

    # -- loudness model

    def variant_power(self, section: int, variant: str) -> np.ndarray:
        """K-weighted power (left + right) of each 100 ms of a loop in a variant, before gain.

        Stems are treated as uncorrelated, so their powers add; each stem's spectral
        shape gives the effect of K-weighting, the variant's filter and the tape high-cut.
        """
        v = VARIANTS[variant]
        weight = _K_WELCH * _binomial_response(self.preset.warmth)
        if v.filtered:
            weight = weight * _box_response(FILTER_WIDTH)
        total = 0.0
        for name, (profile, spectrum) in self.stats[section].items():
            pan = PAN[name][0] ** 2 + PAN[name][1] ** 2
            total = total + profile * (float(np.sum(spectrum * weight)) * v.gains[name] ** 2 * pan)
        return total

    # -- rendering

    def clip(self, section: int, variant: str) -> np.ndarray:
        """One loop of a section mixed in a variant, as (frames, 2) float32, with gain applied."""
        key = (section, variant)
        if key not in self._clips:
            if len(self._clips) >= 2:  # the loop playing and the one fading in
                self._clips.pop(next(iter(self._clips)))
            v = VARIANTS[variant]
            sides = [np.zeros(self.plan.loop_len, dtype=np.float32) for _ in (0, 1)]
            for name, (stem, scale) in self.sections[section].items():
                for side, pan in zip(sides, PAN[name], strict=True):
                    if gain := v.gains[name] * pan * self.gain:
                        side += np.float32(gain * scale) * stem
            out = np.column_stack(sides)
            if v.filtered:
                out = _circular_box(_circular_box(out, FILTER_WIDTH), FILTER_WIDTH)
            self._clips[key] = out
        return self._clips[key]


def _quantize(x: np.ndarray) -> tuple[np.ndarray, float]:
    scale = float(np.abs(x).max()) / 32767 or 1.0
    return np.round(x / np.float32(scale)).astype(np.int16), scale


def _circular_box(x: np.ndarray, width: int) -> np.ndarray:
    """Moving average over a circular loop, via a cumulative sum (O(n) for any width).

    float32 is enough: audio sums stay small, the error is far below the 16-bit floor.
    """
    c = np.cumsum(np.concatenate([x[-width:], x]), axis=0)
    return (c[width:] - c[:-width]) * np.float32(1 / width)


# --------------------------------------------------------------------------- the mix as a signal


class _Bed:
    """Vinyl crackle, hiss and (for some moods) rain: long stereo loops added under the music."""

    def __init__(self, preset: Preset, seed: int):
        rng = np.random.default_rng([seed, 0, 3])
        self.loops: list[np.ndarray] = []
        self.power = 0.0  # K-weighted mean-square, left + right
        # Loop lengths (~24 s and ~18 s) share no rhythm with each other or the music.
        # Noise is made directly in the frequency domain: one inverse FFT per side.
        if preset.crackle > 0:
            n = 1 << 20
            f = np.fft.rfftfreq(n, 1 / SR).astype(np.float32)
            clicks = rng.poisson(n / SR * (3 + 22 * preset.crackle))
            where = rng.integers(0, n - 64, clicks)
            size = np.minimum(rng.pareto(2.5, clicks) + 1, 5) * 0.02 * preset.crackle
            balance = rng.random(clicks)
            shape = np.exp(-np.arange(64, dtype=np.float32) / 8)
            sides = []
            for side in (0, 1):
                x = np.zeros(n, dtype=np.float32)
                gain = size * np.where(balance < 0.6 if side == 0 else balance > 0.4, 1.0, 0.4)
                for at, amp in zip(where, gain * rng.choice((-1, 1), clicks), strict=True):
                    x[at : at + 64] += amp * shape
                spec = np.fft.rfft(x)
                spec += 0.003 * preset.crackle * _noise_spectrum(rng, f, 2500, 11000)  # surface hiss
                spec += 0.004 * preset.crackle * _noise_spectrum(rng, f, 25, 120)  # platter rumble
                spec *= _band(f, 300, 9000)
                sides.append(spec)
            self._add(sides, n)
        if preset.rain > 0:
            n = 3 << 18
            f = np.fft.rfftfreq(n, 1 / SR).astype(np.float32)
            self._add([0.02 * preset.rain * _noise_spectrum(rng, f, 400, 5000) for _ in (0, 1)], n)
            # Slow swells, different on each side, so the rain breathes rather than hisses.
            phase = np.arange(n, dtype=np.float32) / n
            for side, cycles in ((0, 3), (1, 4)):
                self.loops[-1][:, side] *= 1 + 0.3 * np.sin(2 * np.pi * cycles * phase)
            self.power *= 1.045  # mean of (1 + 0.3 sin)^2

    def _add(self, spectra: list[np.ndarray], n: int) -> None:
        k = _k_weighting_power(np.fft.rfftfreq(n, 1 / SR))
        for spec in spectra:  # Parseval: mean square of the K-weighted loop from its spectrum
            self.power += 2 * float(np.sum(np.abs(spec) ** 2 * k)) / n**2
        self.loops.append(np.column_stack([np.fft.irfft(spec, n) for spec in spectra]).astype(np.float32))

    def add_to(self, out: np.ndarray, start: int) -> None:
        for loop in self.loops:
            out += _circular_slice(loop, start, len(out))


def _band(f: np.ndarray, low: float, high: float) -> np.ndarray:
    """Soft band-pass magnitude at frequencies `f`."""
    return 1 / (1 + (low / np.maximum(f, 1)) ** 2) / (1 + (f / high) ** 4)


def _noise_spectrum(rng: np.random.Generator, f: np.ndarray, low: float, high: float) -> np.ndarray:
    """Spectrum (rfft bins at `f`) of Gaussian noise band-limited to [low, high] with an RMS of 1."""
    shape = _band(f, low, high) ** 2
    spec = rng.standard_normal(len(f), dtype=np.float32) + 1j * rng.standard_normal(len(f), dtype=np.float32)
    # Time-domain variance of irfft(spec * shape) is about 2 * mean(shape^2) / n.
    n = 2 * (len(f) - 1)
    return spec * shape * np.float32(math.sqrt(n / (2 * float(np.mean(shape**2)))))


class _Mix:
    """The procedural mix as a function of sample position; one instance per worker thread."""

    def __init__(
        self,
        plans: list[_TrackPlan],
        preset: Preset,
        bed: _Bed,
        total: int,
        seed: int,
        build_lock: "threading.Lock | None" = None,
    ):
        self.plans = plans
        # Workers take turns synthesizing tracks, so their memory peaks never coincide.
        self.build_lock = build_lock or threading.Lock()
        self.preset = preset
        self.bed = bed
        self.total = total
        self.xfade = int(TRACK_XFADE_S * SR)
        self.fade_in = int(FADE_IN_S * SR)
        self.fade_out = int(min(FADE_OUT_S, total / SR * 0.15) * SR)
        self.banks: dict[int, _TrackBank] = {}
        self.track_power: dict[int, np.ndarray] = {}
        rng = np.random.default_rng([seed, 0, 4])
        depth = preset.wobble
        # Tape wobble as a delay line: two slow "wow" sines and a faster "flutter" one,
        # as (amplitude in samples, Hz, phase). 25 samples at 0.31 Hz ~ 0.1 % pitch drift.
        self.wobble = (
            (25.0 * depth, 0.31, rng.uniform(0, 2 * np.pi)),
            (15.0 * depth, 0.73, rng.uniform(0, 2 * np.pi)),
            (0.4 * depth, 5.3, rng.uniform(0, 2 * np.pi)),
        )
        self.max_delay = 2 * math.ceil(sum(a for a, _, _ in self.wobble)) + 4

    # -- per-track loudness

    def _fades(self, plan: _TrackPlan) -> list[tuple[int, int, bool]]:
        """(start, length, rising) of every fade that shapes this track."""
        fades = [(0, self.fade_in, True), (self.total - self.fade_out, self.fade_out, False)]
        if plan.index > 0:
            fades.append((plan.start, self.xfade, True))
        if plan.index < len(self.plans) - 1:
            fades.append((plan.end - self.xfade, self.xfade, False))
        return fades

    def _envelope(self, plan: _TrackPlan, position: np.ndarray) -> np.ndarray | None:
        """Track gain at sorted sample positions, or None where no fade touches them."""
        env = None
        lo, hi = position[0], position[-1] + 1
        for start, length, rising in self._fades(plan):
            if (start < hi and start + length > lo) or (not rising and start + length <= lo):
                x = np.clip((position - start) / max(length, 1), 0.0, 1.0)
                gain = np.sin(x * np.pi / 2) if rising else np.cos(x * np.pi / 2)
                env = gain if env is None else env * gain
        return env

    def _bank(self, plan: _TrackPlan) -> _TrackBank:
        if plan.index not in self.banks:
            with self.build_lock:
                bank = _TrackBank(plan, self.preset)
                _release_memory()  # the notes and float stems it no longer needs
            bank.gain, self.track_power[plan.index] = self._track_gain(plan, bank)
            self.banks[plan.index] = bank
        return self.banks[plan.index]

    def _track_gain(self, plan: _TrackPlan, bank: _TrackBank) -> tuple[float, np.ndarray]:
        """Gain that brings the track, with the crackle bed under it, to the target loudness."""
        first = plan.start // BLOCK
        last = min(plan.end, self.total) // BLOCK + 1
        centres = (np.arange(first, last) + 0.5) * BLOCK
        music = np.zeros(len(centres))
        offsets = centres - plan.start
        for seg in plan.segments:
            inside = (offsets >= seg.start) & (offsets < seg.start + plan.loop_len)
            profile = bank.variant_power(seg.section, seg.variant)
            where = ((offsets[inside] - seg.start) // BLOCK).astype(int)
            music[inside] = profile[np.minimum(where, len(profile) - 1)]
        env = self._envelope(plan, centres)
        if env is not None:
            music *= env**2
        lo, hi = 1e-4, 1e3  # bisection: loudness grows with the gain
        for _ in range(40):
            mid = math.sqrt(lo * hi)
            if gated_loudness(music * mid**2 + self.bed.power) < TARGET_LUFS:
                lo = mid
            else:
                hi = mid
        gain = math.sqrt(lo * hi)
        return gain, music * gain**2

    def estimated_loudness(self) -> float:
        """Integrated loudness of the whole mix from the power model of every track played."""
        power = np.full(self.total // BLOCK + 1, self.bed.power)
        for index, track in self.track_power.items():
            first = self.plans[index].start // BLOCK
            power[first : first + len(track)] += track[: len(power) - first]
        return gated_loudness(power)

    # -- rendering

    def music(self, start: int, stop: int) -> np.ndarray:
        """Dry mix (all tracks, loops, crossfades and fades) for [start, stop), (n, 2) float32."""
        finished = [i for i in self.banks if self.plans[i].end <= start]
        for done in finished:
            del self.banks[done]  # keep memory flat: only the tracks being played stay
        if finished:
            _release_memory()
        out = np.zeros((stop - start, 2), dtype=np.float32)
        for plan in self.plans:
            lo, hi = max(start, plan.start, 0), min(stop, plan.end, self.total)
            if lo >= hi:
                continue
            bank = self._bank(plan)
            env = self._envelope(plan, np.arange(lo, hi, dtype=np.float64))
            target = out[lo - start : hi - start] if env is None else np.zeros((hi - lo, 2), dtype=np.float32)
            last = len(plan.segments) - 1
            for i, seg in enumerate(plan.segments):
                at = plan.start + seg.start
                x_in = SEGMENT_XFADE if i else 0
                x_out = SEGMENT_XFADE if i < last else 0
                if at - x_in >= hi or at + plan.loop_len + x_out <= lo:
                    continue
                clip = bank.clip(seg.section, seg.variant)
                # Full level in the middle, linear ramps where neighbouring loops overlap.
                for a, b, ramp in (
                    (at - x_in, at + x_in, 1),
                    (at + x_in, at + plan.loop_len - x_out, 0),
                    (at + plan.loop_len - x_out, at + plan.loop_len + x_out, -1),
                ):
                    a, b = max(a, lo), min(b, hi)
                    if a >= b:
                        continue
                    part = _circular_slice(clip, a - at, b - a)
                    if ramp:
                        edge = at if ramp > 0 else at + plan.loop_len
                        gain = 0.5 + ramp * (np.arange(a, b) - edge + 0.5) / (2 * SEGMENT_XFADE)
                        part = part * gain[:, None].astype(np.float32)
                    target[a - lo : b - lo] += part
            if env is not None:
                out[lo - start : hi - start] += target * env[:, None].astype(np.float32)
        return out

    def chunk(self, start: int, n: int) -> np.ndarray:
        """Final audio for frames [start, start + n): (n, 2) int16."""
        pad = self.max_delay
        x = self.music(start - pad, start + n)
        # Tape wow and flutter: read the music through a slowly wandering delay line. The
        # delay is smooth, so it is computed every 256 samples and interpolated linearly.
        first = start // 256 * 256
        coarse = np.arange(first, start + n + 512, 256, dtype=np.float64)
        knots = np.full(len(coarse), pad / 2)
        for amp, hz, phase in self.wobble:
            knots += amp * np.sin(2 * np.pi * hz * coarse / SR + phase)
        ramp = np.arange(256) / 256
        delay = (knots[:-1, None] + np.diff(knots)[:, None] * ramp).reshape(-1)[start - first : start - first + n]
        read = np.arange(pad, pad + n) - delay
        i = read.astype(np.int64)
        frac = (read - i).astype(np.float32)
        # Each stereo frame viewed as one complex64: a single gather moves both channels.
        frames = x.view(np.complex64).reshape(-1)
        left = np.take(frames, i)
        mixed = left + frac * (np.take(frames, i + 1) - left)
        y = mixed.view(np.float32).reshape(n, 2)
        self.bed.add_to(y, start)
        return _to_pcm(y)


def _to_pcm(y: np.ndarray) -> np.ndarray:
    """float32 frames to int16, with a soft limiter for the rare peaks above -1 dBFS."""
    if y.max() > 0.89 or y.min() < -0.89:
        loud = np.abs(y) > 0.89
        v = y[loud]
        y[loud] = np.sign(v) * (0.89 + 0.1 * np.tanh((np.abs(v) - 0.89) / 0.1))
    y *= 32767
    return y.astype(np.int16)


def _circular_slice(clip: np.ndarray, offset: int, n: int) -> np.ndarray:
    length = len(clip)
    at = offset % length
    if at + n <= length:
        return clip[at : at + n]
    return np.take(clip, np.arange(at, at + n) % length, axis=0)


# --------------------------------------------------------------------------- parallel AAC encoding


def _encoder_args(out: Path) -> list[str]:
    return [
        "-f", "s16le", "-ar", str(SR), "-ac", str(CHANNELS), "-i", "pipe:0",
        "-c:a", "aac", "-aac_coder", "fast", "-b:a", AAC_BITRATE,
        "-fflags", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1",
        "-f", "mp4", "-y", str(out),
    ]  # fmt: skip


class _Worker(threading.Thread):
    """Streams frames [start, stop) of a signal into its own AAC encoder."""

    def __init__(self, chunks: Callable[[int, int], Iterator[np.ndarray]], start: int, stop: int, out: Path):
        super().__init__(daemon=True)
        self.chunks, self.first, self.stop_at, self.out = chunks, start, stop, out
        self.done = 0
        self.error: BaseException | None = None
        self.cancelled = threading.Event()

    def run(self) -> None:
        try:
            with FFmpegProcess(_encoder_args(self.out), stdin=True, output=self.out) as enc:
                try:
                    for pcm in self.chunks(self.first, self.stop_at):
                        if self.cancelled.is_set():
                            raise EngineError("cancelled")
                        enc.stdin.write(pcm.tobytes())
                        self.done += len(pcm)
                except BrokenPipeError:
                    pass  # the encoder died; finish() reports its error
                enc.finish()
        except BaseException as exc:  # reported to the coordinating thread
            self.error = exc


def _micros(frames: int) -> str:
    return f"{round(frames * 1_000_000 / SR)}us"


def _encode_split(
    chunks: Callable[[int, int], Iterator[np.ndarray]],
    total: int,
    out_path: Path,
    progress: Progress | None,
    log: Log | None,
) -> None:
    """Encode `total` frames to AAC in two concurrent halves, joined without re-encoding."""
    split = (total // 2) // AAC_FRAME * AAC_FRAME
    with atomic_output(out_path) as tmp:
        parts = [tmp.with_name(tmp.name + f".{i}.m4a") for i in (0, 1)]
        workers = [
            _Worker(chunks, 0, min(total, split + JOIN_TAIL), parts[0]),
            _Worker(chunks, max(0, split - JOIN_PREROLL), total, parts[1]),
        ]
        work = sum(w.stop_at - w.first for w in workers)
        try:
            for w in workers:
                w.start()
            while any(w.is_alive() for w in workers):
                for w in workers:
                    w.join(timeout=0.5)
                    if w.error is not None:
                        for other in workers:
                            other.cancelled.set()
                if progress:
                    progress(0.97 * sum(w.done for w in workers) / work)
            for w in workers:
                if w.error is not None:
                    raise w.error
            if log:
                log("joining the two encoded halves")
            # The first half keeps the frames before `split`; the second half is read from
            # the frame that starts at `split` (its `preroll` samples in). The demuxer seeks
            # to the in-point, drops packets from the out-point on and shifts timestamps by
            # their difference; both are whole AAC frames, given to the microsecond, which
            # rounds back to the exact sample.
            preroll = split - workers[1].first
            quoted = [p.name.replace("'", "'\\''") for p in parts]
            listing = tmp.with_name(tmp.name + ".txt")
            listing.write_text(
                f"ffconcat version 1.0\nfile '{quoted[0]}'\ninpoint 0\noutpoint {_micros(split)}\n"
                f"file '{quoted[1]}'\ninpoint {_micros(preroll)}\n"
            )
            run_ffmpeg(
                ["-f", "concat", "-safe", "0", "-i", listing, "-c", "copy", "-fflags", "+bitexact",
                 "-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4", "-y", tmp],
                output=out_path,
            )  # fmt: skip
        finally:
            for w in workers:
                w.cancelled.set()
                w.join()
            for p in [*parts, tmp.with_name(tmp.name + ".txt")]:
                p.unlink(missing_ok=True)
    if progress:
        progress(1.0)


# --------------------------------------------------------------------------- public API


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


def _release_memory() -> None:
    """Give the pages of freed buffers back to the system (glibc keeps them otherwise).

    Freed megabyte-sized numpy buffers stay in glibc's heap, where fragmentation stops
    them from being returned, so without this the resident size creeps up with every
    track. Called after a track's stems are dropped or built; a no-op off glibc.
    """
    try:
        _LIBC.malloc_trim(0)
    except AttributeError:
        pass


def _check_duration(duration_s: float) -> int:
    if not MIN_DURATION_S <= duration_s <= MAX_DURATION_S:
        raise ValueError(f"duration must be between {MIN_DURATION_S:.0f} s and {MAX_DURATION_S:.0f} s")
    return round(duration_s * SR)


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
        for at in range(first, stop, CHUNK):
            yield mix.chunk(at, min(CHUNK, stop - at))

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
    out = Path(out_path)
    return MixResult(
        path=out,
        duration_s=total / SR,
        size_bytes=out.stat().st_size,
        sample_rate=SR,
        channels=CHANNELS,
        loudness_lufs=round(loudness, 2),
        tracklist=[TrackInfo(p.start / SR, p.title, round(p.bpm), key_name(p.tonic, p.minor)) for p in plans],
        preset=mood.name,
        bpm=round(plans[0].bpm),
        key=key_name(plans[0].tonic, plans[0].minor),
        seed=seed,
    )


# --------------------------------------------------------------------------- library mode


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
    progress: Progress | None = None,
    log: Log | None = None,
) -> MixResult:
    """Mix uploaded tracks into one AAC .m4a of exactly `duration_s` seconds.

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
    out = Path(out_path)
    return MixResult(
        path=out,
        duration_s=total / SR,
        size_bytes=out.stat().st_size,
        sample_rate=SR,
        channels=CHANNELS,
        loudness_lufs=TARGET_LUFS,
        tracklist=[TrackInfo(p.start / SR, infos[p.track].title) for p in placements],
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
