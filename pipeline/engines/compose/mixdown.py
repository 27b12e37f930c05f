"""Mixdown: the crackle bed, and the mix as a function of sample position (tracks,
loops, crossfades, fades, tape wobble), chunk by chunk, for the limiter (`limiter`)."""

import ctypes
import math
import threading

import numpy as np

from ..presets import Preset
from .arrangement import TRACK_XFADE_S, _TrackPlan
from .common import SR
from .loudness import BLOCK, TARGET_LUFS, _k_weighting_power, gated_loudness
from .synthesis import _TrackBank

_LIBC = ctypes.CDLL(None)

SEGMENT_XFADE = 128  # samples of crossfade where two loops meet (avoids clicks)
FADE_IN_S = 1.5
FADE_OUT_S = 6.0


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
        """Final audio for frames [start, start + n): (n, 2) float32, before the limiter."""
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
        return y


def _circular_slice(clip: np.ndarray, offset: int, n: int) -> np.ndarray:
    length = len(clip)
    at = offset % length
    if at + n <= length:
        return clip[at : at + n]
    return np.take(clip, np.arange(at, at + n) % length, axis=0)


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
