"""The loudness model: BS.1770 K-weighting and gating, and the spectral shapes that let a
track's loudness be predicted from its stems without a second pass over the audio."""

import math

import numpy as np

from .common import SR

TARGET_LUFS = -14.0


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
