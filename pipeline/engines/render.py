"""The upload-ready MP4: H.264 + AAC, 1920x1080, yuv420p, moov atom first (faststart).

A still cover does not need 25 frames a second. We encode one loop of video once
(two minutes of the still at 1 fps: one keyframe and 119 frames of a few bytes
each, or a seamless 24 s pan-and-flicker loop at 6 fps with `motion`) and repeat
it by copying packets (`-stream_loop`), so an hour of video costs as much as its
first loop. The mix's AAC is copied as it is. Intro and outro clips (any format)
are re-encoded to the same size and H.264 settings and joined with the concat
demuxer, and the result is checked with ffprobe at the end.
"""

import math
from dataclasses import dataclass
from pathlib import Path

from . import EngineError, Log, Progress, atomic_output
from .ffmpeg import VIDEO_FORMATS, FormatNotAccepted, media_input, probe, run_ffmpeg

WIDTH, HEIGHT = 1920, 1080
STILL_FPS = 1
STILL_LOOP_S = 120
MOTION_FPS = 6
MOTION_LOOP_S = 24
CLIP_FPS = 30
DURATION_TOLERANCE_S = 0.5
# Containers an intro/outro may come in, as ffprobe names them ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm").
CLIP_CONTAINERS = frozenset({"mov", "mp4", "matroska", "webm"})
CLIP_DECODE_CHECK_S = 3

# Every video segment uses the same encoder settings, so their parameter sets match
# and the segments can be joined without re-encoding: no B-frames (no reordering at
# the joins), the same SPS timing field whatever the frame rate, and the same MP4
# time scale (the concat demuxer does not rescale between files).
X264 = [
    "-c:v", "libx264", "-preset", "veryfast", "-crf", "19", "-bf", "0",
    "-profile:v", "high", "-level:v", "4.1", "-pix_fmt", "yuv420p",
    "-bsf:v", "h264_metadata=tick_rate=60", "-video_track_timescale", "90000",
    # Two threads and a short lookahead keep x264 near 170 MB at 1080p; the lookahead
    # must stay on (macroblock tree): without it the repeated still frames are re-coded.
    "-threads", "2", "-rc-lookahead", "5",
    "-fflags", "+bitexact", "-map_metadata", "-1",
]  # fmt: skip
FILL = f"scale={WIDTH}:{HEIGHT}:force_original_aspect_ratio=increase,crop={WIDTH}:{HEIGHT},setsar=1"
FIT = (
    f"scale={WIDTH}:{HEIGHT}:force_original_aspect_ratio=decrease,"
    f"pad={WIDTH}:{HEIGHT}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1"
)


@dataclass(frozen=True)
class RenderResult:
    path: Path
    duration_s: float
    size_bytes: int
    width: int
    height: int
    video_codec: str
    audio_codec: str
    pix_fmt: str
    motion: bool
    intro_s: float
    outro_s: float


def _quote(path: Path) -> str:
    """A path as a concat-demuxer `file` line value."""
    return "'" + str(path).replace("'", "'\\''") + "'"


def _loop_segment(cover: Path, out: Path, motion: bool, log: Log | None, final: Path | None = None) -> float:
    """Encode the repeating unit of video; returns its length in seconds.

    `final` is the video this segment is for, named in disk-full / permission errors
    instead of the hidden temporary file.
    """
    if motion:
        # A slow elliptical drift over a 6 % larger frame and a soft light flicker, both
        # periodic in the loop length so the repeats join seamlessly.
        p = MOTION_LOOP_S
        zoom_w, zoom_h = round(WIDTH * 1.06 / 2) * 2, round(HEIGHT * 1.06 / 2) * 2
        dx, dy = (zoom_w - WIDTH) / 2, (zoom_h - HEIGHT) / 2
        vf = (
            f"{FILL},loop=loop=-1:size=1,setpts=N/({MOTION_FPS}*TB),scale={zoom_w}:{zoom_h},"
            f"crop={WIDTH}:{HEIGHT}:x='{dx}+{dx}*sin(2*PI*t/{p})':y='{dy}+{dy}*cos(2*PI*t/{p})',"
            f"eq=brightness='0.018*sin(2*PI*3*t/{p})':eval=frame"
        )
        frames, fps, length = MOTION_FPS * p, MOTION_FPS, float(p)
    else:
        vf = f"{FILL},loop=loop=-1:size=1,setpts=N/({STILL_FPS}*TB)"
        frames, fps, length = STILL_FPS * STILL_LOOP_S, STILL_FPS, float(STILL_LOOP_S)
    run_ffmpeg(
        ["-i", cover, "-vf", vf, "-r", str(fps), "-frames:v", str(frames), "-g", str(frames),
         "-keyint_min", str(frames), *X264, "-an", "-y", out],
        log=log,
        output=final or out,
    )  # fmt: skip
    return length


def probe_clip(path: Path | str, *, name: str | None = None, upload: bool = False) -> tuple[float, bool]:
    """What rendering needs of an intro/outro clip, read from its bytes (never its name).

    A video stream of a known length (the engine renders from any container ffmpeg
    reads). With `upload` (the check of an upload), the container as ffprobe detects
    it must be mp4/mov or mkv/webm, and the first seconds of the video must decode.
    Returns (duration in seconds, has audio). EngineError messages name the file by
    `name` (default: the file's own name), never by its path.
    """
    path = Path(path)
    name = name or path.name
    if not path.is_file():
        raise EngineError(f"{name} is missing")
    try:
        info = probe(path, VIDEO_FORMATS)  # only demuxers that hold one clip and open no other file
    except FormatNotAccepted as exc:
        if "point at other files" in str(exc):  # a playlist or list: say so
            raise EngineError(str(exc).replace(path.name, name))
        raise EngineError(f"{name} is not an mp4, mov, webm or mkv video")
    except EngineError:
        raise EngineError(f"{name} is not a video file ffmpeg can read")
    detected = str(info["format"].get("format_name") or "")
    if upload and not set(detected.split(",")) & CLIP_CONTAINERS:
        raise EngineError(f"{name} is not an mp4, mov, webm or mkv video (its content is {detected or 'unknown'})")
    video = [s for s in info["streams"] if s.get("codec_type") == "video"]
    if not video:
        raise EngineError(f"{name} has no video stream")
    duration = info["duration"] or float(video[0].get("duration") or 0)
    if duration <= 0:
        raise EngineError(f"{name} has no known length")
    if upload:
        try:
            run_ffmpeg(["-xerror", "-t", str(CLIP_DECODE_CHECK_S), *media_input(path, VIDEO_FORMATS), "-map", "0:v:0",
                        "-f", "null", "-"], timeout=120)
        except EngineError:
            raise EngineError(f"{name} could not be decoded")
    has_audio = any(s.get("codec_type") == "audio" for s in info["streams"])
    return duration, has_audio


def _clip(source: Path, video_out: Path, audio_out: Path, log: Log | None, final: Path | None = None) -> float:
    """Re-encode an intro/outro to our size and settings; video and audio go to separate files.

    A clip without sound gets silence of the same length. Returns its duration.
    """
    duration, has_audio = probe_clip(source)
    audio_in = [] if has_audio else ["-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo"]
    run_ffmpeg(
        [*media_input(source, VIDEO_FORMATS), *audio_in,
         "-map", "0:v:0", "-vf", f"{FIT},fps={CLIP_FPS}", "-t", f"{duration:.3f}", "-g", str(2 * CLIP_FPS),
         *X264, "-an", "-y", video_out,
         "-map", "0:a:0" if has_audio else "1:a:0", "-af", "apad", "-t", f"{duration:.3f}",
         "-c:a", "aac", "-b:a", "160k", "-ar", "44100", "-ac", "2", "-vn", "-y", audio_out],
        log=log,
        output=final or video_out,
    )  # fmt: skip
    return duration


def _check_audio(audio: Path) -> None:
    """The audio is copied into the MP4 as it is, so it must be AAC (as the mixers write it)."""
    info = probe(audio)
    streams = [s for s in info["streams"] if s.get("codec_type") == "audio"]
    if not streams:
        raise EngineError(f"{audio.name} has no audio stream")
    if streams[0].get("codec_name") != "aac":
        raise EngineError(f"{audio.name} is {streams[0].get('codec_name')}, not AAC: render the mixer's .m4a")


def render_video(
    cover: Path | str,
    audio: Path | str,
    out: Path | str,
    *,
    duration_s: float,
    motion: bool = False,
    intro: Path | str | None = None,
    outro: Path | str | None = None,
    progress: Progress | None = None,
    log: Log | None = None,
) -> RenderResult:
    """Render cover + audio (+ optional intro/outro clips) into an MP4 of the given length.

    `audio` must be AAC (the .m4a the mixers write): it is copied, not re-encoded.

    The result is verified with ffprobe: it must have H.264 video and AAC audio and
    last duration_s + intro + outro within half a second, or EngineError is raised.
    """
    cover, audio, out = Path(cover), Path(audio), Path(out)
    if duration_s <= 0:
        raise ValueError("duration must be positive")
    if not cover.is_file():
        raise EngineError(f"cover image not found: {cover}")
    _check_audio(audio)
    report = progress or (lambda _: None)

    with atomic_output(out) as tmp:
        work = [tmp.with_name(f"{tmp.name}.{part}") for part in ("loop.mp4", "video.txt", "audio.txt")]
        clips: dict[str, tuple[Path, Path, float]] = {}
        try:
            if log:
                log(f"encoding the {'moving' if motion else 'still'} video loop")
            loop_s = _loop_segment(cover, work[0], motion, log, final=out)
            report(0.15)
            for name, source in (("intro", intro), ("outro", outro)):
                if source is not None:
                    v, a = tmp.with_name(f"{tmp.name}.{name}.mp4"), tmp.with_name(f"{tmp.name}.{name}.m4a")
                    clips[name] = (v, a, _clip(Path(source), v, a, log, final=out))
            report(0.3)

            if clips:
                # intro, the loop as many times as needed (the last one cut), outro
                repeats = math.ceil(duration_s / loop_s)
                lines = ["ffconcat version 1.0"]
                if "intro" in clips:
                    lines.append(f"file {_quote(clips['intro'][0])}")
                lines += [f"file {_quote(work[0])}"] * repeats
                lines.append(f"outpoint {duration_s - (repeats - 1) * loop_s:.6f}")
                if "outro" in clips:
                    lines.append(f"file {_quote(clips['outro'][0])}")
                work[1].write_text("\n".join(lines) + "\n")
                video_input = ["-f", "concat", "-safe", "0", "-i", work[1]]
                parts = [clips["intro"][1]] if "intro" in clips else []
                parts.append(audio)
                parts += [clips["outro"][1]] if "outro" in clips else []
                work[2].write_text("ffconcat version 1.0\n" + "".join(f"file {_quote(p)}\n" for p in parts))
                audio_input = ["-f", "concat", "-safe", "0", "-i", work[2]]
            else:
                video_input = ["-stream_loop", "-1", "-i", work[0]]
                audio_input = ["-i", audio]
            intro_s = clips["intro"][2] if "intro" in clips else 0.0
            outro_s = clips["outro"][2] if "outro" in clips else 0.0
            total = duration_s + intro_s + outro_s
            if log:
                log(f"muxing {total:.0f} s of video")
            run_ffmpeg(
                [*video_input, *audio_input,
                 "-map", "0:v:0", "-map", "1:a:0", "-c", "copy", "-t", f"{total:.3f}",
                 "-movflags", "+faststart", "-fflags", "+bitexact", "-map_metadata", "-1", "-f", "mp4", "-y", tmp],
                log=log,
                progress=lambda f: report(0.3 + 0.65 * f),
                duration_s=total,
                output=out,
            )  # fmt: skip
            result = _verify(tmp, total)
        finally:
            for path in [*work, *(p for v, a, _ in clips.values() for p in (v, a))]:
                path.unlink(missing_ok=True)
    report(1.0)
    return RenderResult(
        path=out,
        duration_s=result["duration"],
        size_bytes=out.stat().st_size,
        width=WIDTH,
        height=HEIGHT,
        video_codec="h264",
        audio_codec="aac",
        pix_fmt="yuv420p",
        motion=motion,
        intro_s=intro_s,
        outro_s=outro_s,
    )


def _verify(path: Path, expected_s: float) -> dict:
    info = probe(path)
    kinds = {s.get("codec_type"): s for s in info["streams"]}
    if "video" not in kinds or "audio" not in kinds:
        raise EngineError(f"the rendered video lacks a {'video' if 'video' not in kinds else 'audio'} stream")
    duration = info["duration"] or 0.0
    if abs(duration - expected_s) > DURATION_TOLERANCE_S:
        raise EngineError(f"the rendered video lasts {duration:.2f} s instead of {expected_s:.2f} s")
    return info
