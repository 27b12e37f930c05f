"""Finding, running and reading ffmpeg.

`ffmpeg_exe()` prefers FFMPEG_BINARY, then the system's ffmpeg, then the binary
bundled in the imageio-ffmpeg wheel. ffprobe is optional: `probe()` falls back to
parsing `ffmpeg -i`, because imageio-ffmpeg ships no ffprobe.

What a file may make ffmpeg read: every input is opened with
`-protocol_whitelist file,pipe` (no network, no `data:`/`subfile:` tricks), and files
that users upload are opened only by the demuxers of the types they may upload
(`AUDIO_FORMATS`, `VIDEO_FORMATS`, passed as `formats=` / `media_input()`): ffmpeg
still types the file from its bytes, but a playlist or list (HLS, concat, ...) that
would open other files is refused instead of followed.
"""

import json
import os
import re
import shutil
import subprocess
import threading
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from . import EngineError, Log, Progress, TransientEngineError

STDERR_TAIL_LINES = 12

PROTOCOLS = "file,pipe"
# Demuxers (ffmpeg's names) an uploaded track may be read with: mp3, wav, flac, ogg (vorbis
# and opus), mov (m4a/mp4 audio), aac (ADTS).
AUDIO_FORMATS = ("mp3", "wav", "flac", "ogg", "mov", "aac")
# ... and an intro/outro clip: mov (mp4/mov), matroska (mkv/webm), avi. Each holds one clip
# and opens no other file.
VIDEO_FORMATS = ("mov", "matroska", "avi")
# How the formats that point at other files start, to name them in the refusal.
_LIST_MAGIC = ((b"#EXTM3U", "an HLS/M3U playlist"), (b"ffconcat", "an ffmpeg concat list"),
               (b"[playlist]", "a PLS playlist"), (b"<?xml", "an XML document (a DASH or other playlist)"))


class FormatNotAccepted(EngineError):
    """The file is not one of the types accepted here (a playlist, a list, another format)."""


def media_input(path: Path | str, formats: Sequence[str]) -> list[str]:
    """ffmpeg arguments opening a user's file with only the demuxers in `formats`."""
    return ["-format_whitelist", ",".join(formats), "-i", str(path)]


def _not_accepted(path: Path, formats: Sequence[str]) -> FormatNotAccepted:
    try:
        with open(path, "rb") as handle:
            head = handle.read(64).lstrip(b"\xef\xbb\xbf").lstrip()
    except OSError:
        head = b""
    for magic, what in _LIST_MAGIC:
        if head.startswith(magic):
            return FormatNotAccepted(f"{path.name} is {what}, not a media file: files that point at "
                                     "other files are refused")
    return FormatNotAccepted(f"{path.name} is not in a format accepted here ({', '.join(formats)})")


def _with_protocol_whitelist(args: Sequence[str]) -> list[str]:
    """Every `-i` gets `-protocol_whitelist file,pipe` (an input option, so once per input)."""
    out: list[str] = []
    for arg in map(str, args):
        if arg == "-i":
            out += ["-protocol_whitelist", PROTOCOLS]
        out.append(arg)
    return out


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary: FFMPEG_BINARY, else the one on PATH, else imageio-ffmpeg's."""
    configured = os.environ.get("FFMPEG_BINARY")
    if configured:
        return configured
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError:
        raise EngineError("ffmpeg not found: install ffmpeg or imageio-ffmpeg, or set FFMPEG_BINARY")
    return imageio_ffmpeg.get_ffmpeg_exe()


def ffprobe_exe() -> str | None:
    """Path of ffprobe, or None. FFPROBE_BINARY set to an empty string disables ffprobe."""
    configured = os.environ.get("FFPROBE_BINARY")
    if configured is not None:
        return configured or None
    found = shutil.which("ffprobe")
    if found:
        return found
    sibling = Path(ffmpeg_exe()).with_name("ffprobe")
    return str(sibling) if sibling.is_file() else None


def _failure(what: str, returncode: int, tail: Sequence[str], output: Path | str | None) -> EngineError:
    text = "\n".join(tail[-STDERR_TAIL_LINES:]).strip()
    if output is not None and "No space left on device" in text:
        return EngineError(f"disk full while writing {output}")
    if output is not None and "Permission denied" in text:
        return EngineError(f"cannot write to {output}: permission denied")
    if returncode < 0:
        return TransientEngineError(f"{what} was killed by signal {-returncode}: {text}")
    return EngineError(f"{what} failed (exit code {returncode}): {text or 'no error output'}")


class FFmpegProcess:
    """A running ffmpeg whose stderr is drained in the background (so it never blocks).

    Used as a context manager: leaving the block by an exception kills the process.
    Call `finish()` to wait for it and raise EngineError on a nonzero exit. The last
    stderr lines are kept in `tail` (callbacks are never called from the drain thread).
    """

    def __init__(
        self,
        args: Sequence[str],
        *,
        stdin: bool = False,
        stdout: bool = False,
        loglevel: str = "error",
        output: Path | str | None = None,
    ):
        self.output = output
        self.tail: deque[str] = deque(maxlen=200)
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", loglevel, *_with_protocol_whitelist(args)]
        if stdin:
            cmd.remove("-nostdin")
        try:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            raise EngineError(f"cannot start ffmpeg ({cmd[0]}): {exc.strerror or exc}")
        self.stdin = self.proc.stdin
        self.stdout = self.proc.stdout
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self.tail.append(line)

    def wait(self, timeout: float | None = None) -> int:
        """Close stdin and wait for exit; return the exit code."""
        if self.stdin and not self.stdin.closed:
            try:
                self.stdin.close()
            except BrokenPipeError:
                pass  # ffmpeg already exited; its exit code tells why
        try:
            returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TransientEngineError(f"ffmpeg did not finish within {timeout:.0f} s")
        self._reader.join()
        return returncode

    def finish(self, timeout: float | None = None) -> list[str]:
        """Wait for exit and return the stderr lines kept; raise EngineError on failure."""
        returncode = self.wait(timeout)
        if returncode != 0:
            raise _failure("ffmpeg", returncode, list(self.tail), self.output)
        return list(self.tail)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join()

    def __enter__(self) -> "FFmpegProcess":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream and not stream.closed:
                try:
                    stream.close()
                except BrokenPipeError:
                    pass


def run_ffmpeg(
    args: Sequence[str],
    *,
    log: Log | None = None,
    timeout: float | None = None,
    progress: Progress | None = None,
    duration_s: float | None = None,
    output: Path | str | None = None,
    loglevel: str = "error",
) -> list[str]:
    """Run ffmpeg with `args` (without the binary) and return the stderr lines it printed.

    With `progress` and `duration_s`, ffmpeg reports through `-progress pipe:1` and the
    callback receives the fraction of `duration_s` written so far. `log` receives the
    warnings ffmpeg printed, after it exits. Both are called from the calling thread.
    `output` names the file being written, for readable disk-full / permission messages.
    Raises EngineError on a nonzero exit, TransientEngineError on timeout or a kill.
    """
    reporting = progress is not None and duration_s
    if reporting:
        args = ["-progress", "pipe:1", "-nostats", *args]
    timed_out = threading.Event()
    with FFmpegProcess(args, stdout=bool(reporting), loglevel=loglevel, output=output) as proc:
        timer = None
        if timeout:
            timer = threading.Timer(timeout, lambda: (timed_out.set(), proc.proc.kill()))
            timer.start()
        try:
            if reporting:
                for raw in proc.stdout:
                    key, _, value = raw.decode("ascii", "replace").strip().partition("=")
                    if key == "out_time_us" and value.isdigit():
                        progress(min(1.0, int(value) / 1e6 / duration_s))
            try:
                lines = proc.finish()
                if log and loglevel == "error":
                    for line in lines:
                        log(f"ffmpeg: {line}")
                return lines
            except EngineError:
                if timed_out.is_set():
                    raise TransientEngineError(f"ffmpeg did not finish within {timeout:.0f} s")
                raise
        finally:
            if timer:
                timer.cancel()


def probe(path: Path | str, formats: Sequence[str] | None = None) -> dict:
    """Describe a media file: {"duration": seconds or None, "format": {...}, "streams": [...]}.

    Keys follow ffprobe's JSON (codec_type, codec_name, sample_rate, channels, width,
    height, pix_fmt, ...). Raises EngineError if the file is missing or not media, and
    FormatNotAccepted if `formats` (demuxer names) is given and the file is none of them.
    """
    path = Path(path)
    if not path.is_file():
        raise EngineError(f"media file not found: {path}")
    exe = ffprobe_exe()
    info = _probe_ffprobe(exe, path, formats) if exe else _probe_ffmpeg(path, formats)
    duration = info.get("format", {}).get("duration")
    info["duration"] = float(duration) if duration not in (None, "N/A") else None
    return info


def _probe_ffprobe(exe: str, path: Path, formats: Sequence[str] | None) -> dict:
    cmd = [exe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
           "-protocol_whitelist", PROTOCOLS, *(["-format_whitelist", ",".join(formats)] if formats else []), str(path)]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=120)
    except OSError as exc:
        raise EngineError(f"cannot start ffprobe ({exe}): {exc.strerror or exc}")
    except subprocess.TimeoutExpired:
        raise TransientEngineError(f"ffprobe did not finish reading {path} within 120 s")
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        if formats and any("not on whitelist" in line for line in message):
            raise _not_accepted(path, formats)
        raise EngineError(f"cannot read media file {path.name}: {message[-1] if message else 'unknown error'}")
    info = json.loads(done.stdout or b"{}")
    info.setdefault("streams", [])
    info.setdefault("format", {})
    return info


_INPUT_RE = re.compile(r"^Input #0, (.+), from ")
_DURATION_RE = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_STREAM_RE = re.compile(r"Stream #0:(\d+)\S*: (Audio|Video|Subtitle|Data|Attachment): (\w+)(.*)")
_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "4.0": 4, "5.0": 5, "5.1": 6, "6.1": 7, "7.1": 8}


def _probe_ffmpeg(path: Path, formats: Sequence[str] | None = None) -> dict:
    """Same shape as ffprobe's JSON, read from the stream summary `ffmpeg -i` prints."""
    # With no output file ffmpeg exits nonzero after printing the input summary.
    proc = FFmpegProcess(media_input(path, formats) if formats else ["-i", path], loglevel="info")
    proc.wait(timeout=120)
    lines = list(proc.tail)
    text = "\n".join(lines)
    if formats and "not on whitelist" in text:
        raise _not_accepted(path, formats)
    fmt: dict = {}
    streams: list[dict] = []
    for line in lines:
        line = line.strip()
        if m := _INPUT_RE.match(line):
            fmt["format_name"] = m.group(1)
        elif m := _DURATION_RE.search(line):
            h, mnt, s = m.groups()
            fmt["duration"] = f"{int(h) * 3600 + int(mnt) * 60 + float(s):.6f}"
        elif m := _STREAM_RE.search(line):
            stream = {"index": int(m.group(1)), "codec_type": m.group(2).lower(), "codec_name": m.group(3)}
            rest = m.group(4)
            if stream["codec_type"] == "audio":
                if a := re.search(r"(\d+) Hz, ([^,]+)", rest):
                    stream["sample_rate"] = a.group(1)
                    layout = a.group(2).strip()
                    count = re.match(r"(\d+) channels", layout)
                    stream["channels"] = int(count.group(1)) if count else _CHANNELS.get(layout.split("(")[0], 0)
                    stream["channel_layout"] = layout
            elif stream["codec_type"] == "video":
                if v := re.search(r",\s*([a-z0-9_]+)(?:\([^)]*\))?,\s*(\d+)x(\d+)", rest):
                    stream.update(pix_fmt=v.group(1), width=int(v.group(2)), height=int(v.group(3)))
                if f := re.search(r"([\d.]+) fps", rest):
                    stream["avg_frame_rate"] = f.group(1)
            streams.append(stream)
    if not streams:
        reason = lines[-1] if lines else "no media streams"
        if "Invalid data" in text or "No such file" in text or not fmt:
            raise EngineError(f"cannot read media file {path.name}: {reason}")
    return {"format": fmt, "streams": streams}


_INTEGRATED_RE = re.compile(r"^\s*I:\s+(-?\d+(?:\.\d+)?) LUFS")


def measure_loudness(path: Path | str, *, timeout: float | None = None) -> float:
    """Integrated loudness (LUFS, EBU R128 / BS.1770) of the first audio stream, via ebur128."""
    lines = run_ffmpeg(
        ["-nostats", "-i", path, "-map", "0:a:0", "-af", "ebur128=framelog=verbose", "-f", "null", "-"],
        loglevel="info",
        timeout=timeout,
    )
    # The summary comes last; its "I:" line is the integrated loudness of the whole input.
    for line in reversed(lines):
        if m := _INTEGRATED_RE.match(line):
            return float(m.group(1))
    raise EngineError(f"ffmpeg printed no loudness summary for {Path(path).name}")
