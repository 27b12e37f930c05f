"""Our MP4 render against the usual recipe, on the same cover and audio.

Naive recipe: make a 10 s 25 fps clip of the cover, then loop it under the audio and
re-encode everything: `ffmpeg -stream_loop -1 -i loop.mp4 -i audio.m4a -t D
-c:v libx264 -r 25 -c:a aac ...`. Ours (pipeline.engines.render): one still loop
encoded once at 1 fps, repeated by copying packets, AAC copied.

The audio is a 60 s composed mix repeated to the duration by stream copy (cheap to
make, real AAC). The naive render of an hour takes tens of minutes on two cores;
--naive-duration measures it on a shorter stretch and scales linearly (its cost is
per frame), which the output says plainly.

Usage: python bench/bench_render_vs_naive.py [--duration 3600] [--naive-duration 3600]
Target: ours at least 10x faster.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.engines.artwork import make_artwork  # noqa: E402
from pipeline.engines.compose import compose_mix  # noqa: E402
from pipeline.engines.ffmpeg import ffmpeg_exe, probe  # noqa: E402
from pipeline.engines.render import render_video  # noqa: E402


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", *args], check=True)


def naive(cover: Path, audio: Path, out: Path, duration: float) -> tuple[float, float]:
    """Seconds spent making the 10 s clip, and seconds spent rendering `duration` with it."""
    started = time.perf_counter()
    loop = out.with_name("loop.mp4")
    ffmpeg("-loop", "1", "-i", str(cover), "-t", "10", "-r", "25", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(loop))
    clip_s = time.perf_counter() - started
    ffmpeg("-stream_loop", "-1", "-i", str(loop), "-i", str(audio), "-map", "0:v", "-map", "1:a",
           "-t", f"{duration}", "-c:v", "libx264", "-r", "25", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-b:a", "160k", "-movflags", "+faststart", str(out))  # fmt: skip
    return clip_s, time.perf_counter() - started - clip_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3600)
    parser.add_argument("--naive-duration", type=float, help="measure the naive recipe on this many seconds")
    args = parser.parse_args()
    naive_duration = args.naive_duration or args.duration

    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        work = Path(tmp)
        cover = make_artwork(work / "cover.png", preset="rainy-night", seed=1).path
        short = compose_mix(work / "short.m4a", duration_s=60, preset="rainy-night", seed=1).path
        audio = work / "audio.m4a"
        ffmpeg("-stream_loop", "-1", "-i", str(short), "-t", f"{args.duration}", "-c", "copy", str(audio))

        started = time.perf_counter()
        ours = render_video(cover, audio, work / "ours.mp4", duration_s=args.duration)
        ours_s = time.perf_counter() - started

        clip_s, render_s = naive(cover, audio, work / "naive.mp4", naive_duration)
        naive_info = probe(work / "naive.mp4")
        scaled = clip_s + render_s * args.duration / naive_duration  # the render is per frame

        print(f"render of {args.duration:.0f} s, 1920x1080")
        print(f"ours : {ours_s:8.1f} s  ({ours.size_bytes / 1e6:.0f} MB, {ours.duration_s:.1f} s long)")
        label = f" (clip {clip_s:.1f} s + render {render_s:.1f} s"
        label += ")" if naive_duration == args.duration else f" measured on {naive_duration:.0f} s, scaled)"
        print(
            f"naive: {scaled:8.1f} s{label}  "
            f"({(work / 'naive.mp4').stat().st_size / 1e6:.0f} MB, {naive_info['duration']:.1f} s long)"
        )
        print(f"ratio: ours is {scaled / ours_s:.1f}x faster")


if __name__ == "__main__":
    main()
