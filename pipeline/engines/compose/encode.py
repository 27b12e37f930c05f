"""The parallel AAC split: a signal is encoded in two halves by two ffmpeg processes at
once (AAC encoding is single-threaded and the slowest part), then joined at an AAC
frame boundary without re-encoding."""

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from .. import EngineError, Log, Progress, atomic_output
from ..ffmpeg import FFmpegProcess, run_ffmpeg
from .common import CHANNELS, SR

AAC_BITRATE = "160k"
AAC_FRAME = 1024  # samples per AAC frame; the two halves are joined on a frame boundary
JOIN_PREROLL = 16 * AAC_FRAME  # audio the second encoder sees before the join
JOIN_TAIL = 8 * AAC_FRAME  # audio the first encoder sees after the join


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
