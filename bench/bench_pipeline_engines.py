"""Wall time and peak memory of the whole media pipeline for one mix.

Runs compose -> artwork -> render -> thumbnail (and metadata) one after the other,
as the pipeline does, in a temporary directory, and prints per-stage wall and CPU
time, the total, and peak resident memory:

- ru_maxrss of this process (RUSAGE_SELF) and of its children (RUSAGE_CHILDREN, the
  largest single child; note Linux charges a child that execs with the parent's peak
  at the time it was started, so this figure is never lower than the parent's);
- sampled every 20 ms from /proc: the Python process, the largest ffmpeg child, and
  the sum over the whole process tree at the same instant (the number to hold < 300 MB).

Usage: python bench/bench_pipeline_engines.py [--duration 3600] [--preset study] [--seed 1] [--motion]
Targets for 3600 s on 2 cores: total <= 60 s, peak tree RSS < 300 MB.
"""

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.engines.artwork import make_artwork  # noqa: E402
from pipeline.engines.compose import compose_mix  # noqa: E402
from pipeline.engines.metadata import generate_metadata  # noqa: E402
from pipeline.engines.render import render_video  # noqa: E402
from pipeline.engines.thumbnail import make_thumbnail  # noqa: E402

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


class TreeMemory(threading.Thread):
    """Samples the resident memory of this process and all its descendants."""

    def __init__(self, interval: float = 0.02):
        super().__init__(daemon=True)
        self.interval = interval
        self.peak_total_kb = self.peak_self_kb = self.peak_child_kb = 0
        self.stage = ""
        self.stage_peak_kb: dict[str, int] = {}
        self._halt = threading.Event()

    @staticmethod
    def _rss_kb(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/statm") as f:
                return int(f.read().split()[1]) * PAGE_KB
        except (OSError, IndexError, ValueError):
            return 0

    @staticmethod
    def _children(root: int) -> list[int]:
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        # The command name may contain spaces; the parent pid follows its ")".
                        parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
        found, frontier = [], [root]
        while frontier:
            pid = frontier.pop()
            kids = [child for child, parent in parents.items() if parent == pid]
            found += kids
            frontier += kids
        return found

    def run(self) -> None:
        me = os.getpid()
        while not self._halt.is_set():
            own = self._rss_kb(me)
            kids = [self._rss_kb(pid) for pid in self._children(me)]
            self.peak_self_kb = max(self.peak_self_kb, own)
            self.peak_child_kb = max([self.peak_child_kb, *kids])
            self.peak_total_kb = max(self.peak_total_kb, own + sum(kids))
            self.stage_peak_kb[self.stage] = max(self.stage_peak_kb.get(self.stage, 0), own + sum(kids))
            time.sleep(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3600)
    parser.add_argument("--preset", default="study")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--motion", action="store_true", help="render with the moving-image loop")
    args = parser.parse_args()

    memory = TreeMemory()
    memory.start()
    stages: list[tuple[str, float, float]] = []

    def stage(name, fn):
        memory.stage = name
        wall, cpu = time.perf_counter(), cpu_seconds()
        result = fn()
        stages.append((name, time.perf_counter() - wall, cpu_seconds() - cpu))
        return result

    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        mix = stage(
            "compose",
            lambda: compose_mix(work / "mix.m4a", duration_s=args.duration, preset=args.preset, seed=args.seed),
        )
        art = stage("artwork", lambda: make_artwork(work / "cover.png", preset=args.preset, seed=args.seed))
        video = stage(
            "render",
            lambda: render_video(art.path, mix.path, work / "video.mp4", duration_s=args.duration, motion=args.motion),
        )
        meta = stage(
            "metadata",
            lambda: generate_metadata(args.preset, args.duration, mix.bpm, mix.key, args.seed, mix.tracklist),
        )
        stage("thumbnail", lambda: make_thumbnail(art.path, work / "thumb.jpg", title=meta.title))
        total = time.perf_counter() - started
        memory.stop()

        print(f"pipeline for {args.duration:.0f} s, preset {args.preset}, seed {args.seed}, motion {args.motion}")
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end")
        print(f"{'stage':<10} {'wall s':>8} {'cpu s':>8} {'peak tree RSS MB':>17}")
        for name, wall, cpu in stages:
            print(f"{name:<10} {wall:8.2f} {cpu:8.2f} {memory.stage_peak_kb.get(name, 0) / 1024:17.0f}")
        print(f"{'total':<10} {total:8.2f} {sum(s[2] for s in stages):8.2f}")
        print(f"mix: {mix.size_bytes / 1e6:.1f} MB, {len(mix.tracklist)} tracks, estimated {mix.loudness_lufs} LUFS")
        print(f"video: {video.size_bytes / 1e6:.1f} MB, {video.duration_s:.2f} s")
        ru_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ru_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak RSS ru_maxrss: python {ru_self:.0f} MB, children {ru_children:.0f} MB")
        print(
            f"peak RSS sampled: python {memory.peak_self_kb / 1024:.0f} MB, largest ffmpeg child "
            f"{memory.peak_child_kb / 1024:.0f} MB, whole process tree {memory.peak_total_kb / 1024:.0f} MB"
        )


if __name__ == "__main__":
    main()
