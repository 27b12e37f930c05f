"""Every mix keeps YouTube's -1 dBTP true-peak ceiling, measured on the encoded file.

The measurement is ffmpeg's own (`ebur128=peak=true`, which oversamples to 192 kHz), on
the AAC that is uploaded, so the encoder's overs count too; loudness stays at the target.
"""

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipeline.engines.compose import SR, TARGET_LUFS, compose_mix, mix_library
from pipeline.engines.compose.limiter import LEFT, LIMITER_CEILING_DBTP, RIGHT, limited, true_peaks
from pipeline.engines.ffmpeg import ffmpeg_exe

CEILING_DBTP = -1.0


def loudness_and_true_peak(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of a file, from ffmpeg's ebur128 summary."""
    stderr = subprocess.run(
        [ffmpeg_exe(), "-nostats", "-hide_banner", "-i", str(path), "-map", "0:a:0",
         "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    summary = stderr[stderr.rindex("Summary:"):]
    lufs = float(re.search(r"I:\s+(-?\d+(?:\.\d+)?) LUFS", summary).group(1))
    peak = float(re.search(r"True peak:\s+Peak:\s+(-?\d+(?:\.\d+)?|-inf) dBFS", summary).group(1))
    return lufs, peak


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args], check=True)


@pytest.mark.parametrize("preset", ["study", "jazz-cafe"])
def test_procedural_mix_keeps_the_true_peak_ceiling_at_the_target_loudness(tmp_path, preset):
    result = compose_mix(tmp_path / "mix.m4a", duration_s=30, preset=preset, seed=1)
    lufs, peak = loudness_and_true_peak(result.path)
    assert peak <= CEILING_DBTP
    assert abs(lufs - TARGET_LUFS) <= 1.0


def test_library_mix_of_hot_masters_keeps_the_true_peak_ceiling(tmp_path):
    # Uploads with a wide peak-to-loudness ratio (a kick-heavy beat at 14 dB): gain-matched
    # to -14 LUFS their hits go over full scale, which the old mixes let through.
    noise, beat = tmp_path / "noise.wav", tmp_path / "beat.flac"
    ffmpeg("-f", "lavfi", "-i", "anoisesrc=d=14:c=pink:a=0.9:seed=3", "-ac", "2", str(noise))
    ffmpeg("-f", "lavfi", "-i",
           "aevalsrc=0.9*exp(-10*mod(t\\,0.45))*sin(2*PI*55*t)+0.1*sin(2*PI*220*t)+0.05*sin(2*PI*331*t)"
           "+0.15*exp(-300*mod(t\\,0.45))*sin(2*PI*7000*t):d=12",
           "-ac", "2", str(beat))  # fmt: skip
    result = mix_library([noise, beat], tmp_path / "library.m4a", duration_s=30, crossfade_s=2, seed=5)
    lufs, peak = loudness_and_true_peak(result.path)
    assert peak <= CEILING_DBTP
    assert abs(lufs - TARGET_LUFS) <= 1.0


# --------------------------------------------------------------------------- the limiter itself


def stream(signal: np.ndarray, chunk: int = 10_000):
    def source(first, stop):
        for at in range(first, stop, chunk):
            yield signal[at : min(stop, at + chunk)]

    return source


def test_overs_between_samples_are_limited_not_only_sample_peaks():
    # A quarter-rate tone sampled 45 degrees off its crests: every sample is at -3 dBFS,
    # the waveform between them reaches 0 dBTP. A sample-peak limiter lets it through.
    n = SR * 2
    tone = np.sin(2 * np.pi * np.arange(n) / 4 + np.pi / 4).astype(np.float32)
    signal = np.stack([tone, tone], axis=1)
    assert np.abs(signal).max() < 0.71 and true_peaks(signal).max() > 0.99
    out = np.concatenate(list(limited(stream(signal), 0, n, n))).astype(np.float32) / 32767
    assert 20 * np.log10(true_peaks(out).max()) <= LIMITER_CEILING_DBTP + 0.05
    # Away from the edges it is a steady gain, not a distortion: the tone keeps its shape.
    middle = out[SR // 2 : SR, 0]
    assert np.allclose(middle / middle.std(), tone[SR // 2 : SR] / tone[SR // 2 : SR].std(), atol=0.01)


def test_quiet_audio_passes_untouched():
    rng = np.random.default_rng(4)
    signal = (0.05 * rng.standard_normal((SR, 2))).astype(np.float32)
    out = np.concatenate(list(limited(stream(signal), 0, SR, SR)))
    assert np.array_equal(out, np.clip(signal * 32767, -32768, 32767).astype(np.int16))


def test_any_stretch_of_the_mix_is_limited_exactly_as_the_whole():
    # The two encoder halves start at different places; around the join they must see
    # the same samples, so the limiter's output cannot depend on where it started.
    rng = np.random.default_rng(9)
    n = SR * 3
    signal = (0.2 * rng.standard_normal((n, 2))).astype(np.float32)
    signal[rng.integers(0, n, 40)] *= 6  # hits far over the ceiling
    whole = np.concatenate(list(limited(stream(signal, 65_536), 0, n, n)))
    for first, stop in [(0, n // 2 + 1000), (n // 2 - 5000, n), (LEFT // 2, n - RIGHT // 2)]:
        part = np.concatenate(list(limited(stream(signal, 7_777), first, stop, n)))
        assert len(part) == stop - first
        differ = np.abs(part.astype(np.int32) - whole[first:stop])
        assert differ.max() <= 1  # float rounding of the gain at most, never a step
