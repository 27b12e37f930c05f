"""The true-peak limiter every mix passes through on its way to the encoder.

YouTube (like most streaming services) asks for a true-peak ceiling of -1 dBTP: the
peaks *between* samples, which a DAC or a lossy decoder reconstructs, stay 1 dB below
full scale. Loudness normalisation to -14 LUFS leaves drum hits and crossfades of hot
uploads above that, so after normalisation each mix is limited here:

- the true peak is estimated as BS.1770-4 Annex 2 does: 4x oversampling with a 12-tap
  polyphase interpolator (a Kaiser-windowed sinc), the largest magnitude of the sample and
  the three points between it and the next, over both channels;
- the gain each point needs (ceiling / peak, at most 1) is held for `HOLD` samples after a
  peak and looked `ATTACK` samples ahead (a sliding minimum), then smoothed with a
  triangular kernel narrower than the look-ahead, so the gain is already down at every
  sample an over depends on and changes smoothly (about 11 ms down, 12 ms held, 11 ms up);
  quiet passages are passed through untouched;
- the ceiling is `LIMITER_CEILING_DBTP`, 1 dB below the -1 dBTP the encoded file must
  keep: the AAC encoder's quantisation adds overs of its own (measured up to about
  0.5 dB at 160 kb/s), so the limit holds for what listeners get, which the tests measure
  with ffmpeg's `ebur128=peak=true` on the encoded file.

The output at any sample depends only on the input within `LEFT` samples before and
`RIGHT` samples after it (no state carried from the start of the mix), so the two halves
of the parallel encoder, which start at different places, agree exactly around the
join, and the same input gives the same bytes.
"""

from collections.abc import Callable, Iterator

import numpy as np

TRUE_PEAK_CEILING_DBTP = -1.0  # what the encoded mix keeps under (YouTube's recommendation)
ENCODER_HEADROOM_DB = 1.0  # room for the overs the AAC encoder adds
LIMITER_CEILING_DBTP = TRUE_PEAK_CEILING_DBTP - ENCODER_HEADROOM_DB

OVERSAMPLE = 4
TAPS = 12  # interpolator taps per phase (48 in all, as in BS.1770-4 Annex 2)
ATTACK = 256  # look-ahead in samples (~5.8 ms at 44.1 kHz)
HOLD = 512  # samples the gain stays down after a peak (~12 ms): close overs share one dip
SMOOTH = ATTACK - TAPS // 2  # width of each of the two boxes making the triangular smoothing

# Context each output sample needs (see _limit): the interpolator's reach, the sliding
# minimum's window and the smoothing kernel's half-width.
LEFT = (SMOOTH - 1) + HOLD + (TAPS // 2 - 1)
RIGHT = (SMOOTH - 1) + ATTACK + TAPS // 2


def _interpolator() -> np.ndarray:
    """(OVERSAMPLE - 1, TAPS) coefficients: row p gives the point p/OVERSAMPLE after a sample."""
    k = np.arange(-(TAPS // 2 - 1), TAPS // 2 + 1)  # neighbours x[s-5] .. x[s+6]
    half = TAPS / 2
    beta = 5.0
    rows = []
    for p in range(1, OVERSAMPLE):
        t = k - p / OVERSAMPLE  # distance of each neighbour from the interpolated point
        window = np.i0(beta * np.sqrt(np.clip(1 - (t / half) ** 2, 0, None))) / np.i0(beta)
        h = np.sinc(t) * window
        rows.append(h / h.sum())  # unity gain at DC
    return np.array(rows, dtype=np.float32)


_PHASES = _interpolator()


def _channel_max(a: np.ndarray) -> np.ndarray:
    """Per-frame maximum of (n, 2) audio (a reduction along the short axis is slow in numpy)."""
    return np.maximum(a[:, 0], a[:, 1])


def true_peaks(x: np.ndarray) -> np.ndarray:
    """Estimated true peak (linear) after each sample of (n, 2) float32 audio.

    Element i covers sample i + TAPS//2 - 1 and the interpolated points before the next
    one; there are n - TAPS + 1 of them.
    """
    n = len(x) - TAPS + 1
    at = TAPS // 2 - 1
    peak = _channel_max(np.abs(x[at : at + n]))
    acc = np.empty((n, x.shape[1]), dtype=np.float32)
    term = np.empty_like(acc)
    for h in _PHASES:
        np.multiply(x[0:n], h[0], out=acc)
        for j in range(1, TAPS):
            np.multiply(x[j : j + n], h[j], out=term)
            acc += term
        np.abs(acc, out=acc)
        np.maximum(peak, _channel_max(acc), out=peak)
    return peak


_REACH = float(np.abs(_PHASES).sum(axis=1).max())  # |interpolated| <= _REACH * max |neighbour|
BLOCK = 64  # points screened together


def _peaks_over(x: np.ndarray, ceiling: float) -> np.ndarray:
    """true_peaks(x) wherever it may exceed `ceiling`, 0 where it cannot.

    Most of a mix is well below the ceiling: a block of points whose neighbours are all
    below ceiling / _REACH cannot interpolate above it, so only the other blocks are
    interpolated (a mix spends most of its time there only when it is very dense).
    """
    n = len(x) - TAPS + 1
    peak = np.zeros(n, dtype=np.float32)
    level = _channel_max(np.abs(x))
    blocks = -(-len(level) // BLOCK)
    block_max = np.zeros(blocks + 1, dtype=np.float32)
    block_max[:blocks] = np.pad(level, (0, blocks * BLOCK - len(level))).reshape(-1, BLOCK).max(axis=1)
    # Points of block j reach into block j + 1 (TAPS - 1 < BLOCK).
    loud = np.maximum(block_max[:-1], block_max[1:]) * _REACH > ceiling
    edges = np.flatnonzero(np.diff(np.concatenate([[False], loud, [False]]).astype(np.int8))) * BLOCK
    starts, stops = edges[::2], np.minimum(edges[1::2], n)
    if not len(starts):
        return peak
    # One pass over the loud stretches laid end to end, each with the TAPS - 1 samples
    # after it that its last points reach; the points that straddle two stretches are
    # dropped.
    joined = true_peaks(np.concatenate([x[a : b + TAPS - 1] for a, b in zip(starts, stops, strict=True)]))
    at = 0
    for a, b in zip(starts, stops, strict=True):
        peak[a:b] = joined[at : at + b - a]
        at += b - a + TAPS - 1
    return peak


def _sliding_min(a: np.ndarray, width: int) -> np.ndarray:
    """min(a[i : i + width]) for every i (van Herk / Gil-Werman: three passes, any width)."""
    count = len(a) - width + 1
    blocks = np.concatenate([a, np.full(-len(a) % width, np.inf)]).reshape(-1, width)
    prefix = np.minimum.accumulate(blocks, axis=1).reshape(-1)
    suffix = np.minimum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].reshape(-1)
    return np.minimum(suffix[:count], prefix[width - 1 : width - 1 + count])


def _box(a: np.ndarray, width: int) -> np.ndarray:
    """Moving average over `width` samples ('valid': len(a) - width + 1 values)."""
    c = np.concatenate([[0.0], np.cumsum(a)])
    return (c[width:] - c[:-width]) / width


def _limit(x: np.ndarray, ceiling: float) -> np.ndarray:
    """The limited samples LEFT .. len(x) - RIGHT of (n, 2) float32 `x`."""
    out = x[LEFT : len(x) - RIGHT]
    peak = _peaks_over(x, ceiling)
    if peak.max() <= ceiling:
        return out
    need = 1.0 - np.minimum(1.0, ceiling / np.maximum(peak, 1e-9).astype(np.float64))  # reduction per point
    # A sample's reduction is the largest needed from HOLD before it to ATTACK after it...
    held = -_sliding_min(-need, HOLD + ATTACK + 1)
    # ...smoothed by a triangle narrower than the look-ahead, so no over is missed.
    gain = 1.0 - _box(_box(held, SMOOTH), SMOOTH)
    return out * gain.astype(np.float32)[:, None]


def to_pcm(y: np.ndarray) -> np.ndarray:
    """float32 frames to int16."""
    return np.clip(y * 32767, -32768, 32767).astype(np.int16)


def limited(
    source: Callable[[int, int], Iterator[np.ndarray]],
    first: int,
    stop: int,
    total: int,
    ceiling_dbtp: float = LIMITER_CEILING_DBTP,
) -> Iterator[np.ndarray]:
    """Frames [first, stop) of a mix, true-peak limited, as int16 chunks.

    `source(a, b)` yields the mix's float32 (n, 2) frames [a, b) in order, for any
    0 <= a <= b <= `total`; it is asked for the context the limiter needs around
    [first, stop), and outside [0, total) the mix is silence.
    """
    ceiling = 10 ** (ceiling_dbtp / 20)
    lo, hi = max(0, first - LEFT), min(total, stop + RIGHT)
    base = first - LEFT  # absolute position of buf[0]
    buf = np.zeros((lo - base, 2), dtype=np.float32)
    done = first  # next frame to emit

    def emit(upto: int) -> Iterator[np.ndarray]:
        nonlocal buf, base, done
        if upto <= done:
            return
        window = buf[done - LEFT - base : upto + RIGHT - base]
        yield to_pcm(_limit(window, ceiling))
        done = upto
        buf = buf[done - LEFT - base :]
        base = done - LEFT

    for chunk in source(lo, hi):
        buf = np.concatenate([buf, chunk.astype(np.float32, copy=False)])
        ready = min(stop, base + len(buf) - RIGHT)
        if ready - done >= 4096:  # not worth a pass for a few frames
            yield from emit(ready)
    missing = stop + RIGHT - (base + len(buf))
    if missing > 0:
        buf = np.concatenate([buf, np.zeros((missing, 2), dtype=np.float32)])
    yield from emit(stop)
