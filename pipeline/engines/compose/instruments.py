"""The instruments: one function per voice (a note of a given pitch and length as a
float32 wave) and the drum kits (their patterns and synthesized one-shots)."""

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .common import SR


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
