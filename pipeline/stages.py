"""The six stage bodies. Each is idempotent: it (re)writes its outputs atomically
and returns a dict of facts stored on the Stage row. `services.execute_next_stage`
handles status, retries, logs and progress around them."""

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from lofisite.formatting import format_duration, format_short_duration
from monitoring import ai
from monitoring.breakers import BreakerOpen, breaker
from monitoring.events import record_event

from . import youtube
from .choices import AudioSource, PublishTarget, UploadStatus
from .engines import (
    EngineError,
    TransientEngineError,
    artwork,
    atomic_output,
    compose,
    metadata,
    render,
    thumbnail,
    write_error,
)
from .engines.presets import get_preset
from .models import Run, Stage, Track, Video, YouTubeChannel, run_dir

# The quota ledger lives with the services (the channel page reads it too); quota_day and
# quota_used stay importable from here for callers that know them as stages.quota_*.
from .services.queries import QuotaUsedUp, check_quota, quota_day, quota_used, record_quota  # noqa: F401


@dataclass
class StageContext:
    run: Run
    stage: Stage
    video: Video
    progress: Callable[[float], None]
    log: Callable[[str], None]
    _workdir: Path | None = field(default=None, init=False, repr=False)

    @property
    def workdir(self) -> Path:
        """The run's media folder, created on first use (a write error is an EngineError).

        Temporary files that a killed worker left there (atomic_output's `.name.*.part.ext`)
        are removed first: only one stage of a run executes at a time.
        """
        if self._workdir is None:
            path = Path(settings.MEDIA_ROOT) / run_dir(self.run.pk)
            try:
                path.mkdir(parents=True, exist_ok=True)
                for leftover in path.glob(".*.part*"):
                    leftover.unlink(missing_ok=True)
            except OSError as exc:
                raise write_error(exc, path) from exc
            self._workdir = path
        return self._workdir

    def media_name(self, filename: str) -> str:
        """Storage name (relative to MEDIA_ROOT) of a file in this run's folder."""
        return f"{run_dir(self.run.pk)}/{filename}"

    def save_video(self, **fields):
        for name, value in fields.items():
            setattr(self.video, name, value)
        self.video.save(update_fields=list(fields))


def _path(field) -> Path:
    return Path(settings.MEDIA_ROOT) / field.name


# --- compose ---------------------------------------------------------------------------------
def run_compose(ctx: StageContext) -> dict:
    out = ctx.workdir / "audio.m4a"
    run = ctx.run
    if run.audio_source == AudioSource.LIBRARY:
        tracks = list(Track.objects.restrict(run.created_by).order_by("pk"))
        if not tracks:
            raise EngineError("The track library is empty: upload tracks or use the procedural generator.")
        ctx.log(f"Mixing {format_duration(run.duration_s)} from {len(tracks)} library tracks with crossfades "
                f"(seed {run.seed}).")
        result = compose.mix_library([_path(t.file) for t in tracks], out, duration_s=run.duration_s,
                                     seed=run.seed, titles=[t.title for t in tracks], progress=ctx.progress,
                                     log=ctx.log)
    else:
        ctx.log(f"Composing {format_duration(run.duration_s)} of '{run.preset}' (seed {run.seed}).")
        result = compose.compose_mix(out, duration_s=run.duration_s, preset=run.preset, bpm=run.bpm,
                                     key=run.musical_key or None, seed=run.seed, progress=ctx.progress, log=ctx.log)
    # Tempo and key as composed (procedural mixes), so pages and metadata state what was made.
    tracklist = [{"start_s": round(entry.start_s, 1), "title": entry.title,
                  **({"bpm": entry.bpm} if entry.bpm else {}), **({"key": entry.key} if entry.key else {})}
                 for entry in result.tracklist]
    ctx.save_video(audio=ctx.media_name(out.name), duration_s=result.duration_s,
                   loudness_lufs=result.loudness_lufs, tracklist=tracklist)
    ctx.log(f"Audio: {format_short_duration(result.duration_s)}, {result.loudness_lufs:.1f} LUFS, "
            f"{len(tracklist)} tracks.")
    return {"duration_s": result.duration_s, "lufs": round(result.loudness_lufs, 2), "size_bytes": result.size_bytes}


# --- artwork -----------------------------------------------------------------------------------
def run_artwork(ctx: StageContext) -> dict:
    out = ctx.workdir / "cover.png"
    source = "procedural"
    if ai.ai_enabled():
        try:
            png = ai.generate_image(user=ctx.run.created_by, request_type="pipeline.artwork",
                                    prompt=_artwork_prompt(ctx.run))
            _save_cover(png, out)
            source = "openai"
        except ai.AIError as exc:
            ctx.log(f"AI image generation unavailable ({exc}); drawing the procedural cover instead.")
    if source == "procedural":
        artwork.make_artwork(out, preset=ctx.run.preset, seed=ctx.run.seed)
    ctx.save_video(cover=ctx.media_name(out.name))
    ctx.log(f"Cover art: {source}, 1920x1080.")
    return {"source": source}


def _save_cover(png: bytes, out: Path) -> None:
    """Crop and scale a generated image to 1920x1080, written atomically."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(png)).convert("RGB")
    except UnidentifiedImageError as exc:
        raise ai.AIError("the image service returned something that is not an image") from exc
    with atomic_output(out) as tmp:
        ImageOps.fit(image, (1920, 1080), Image.Resampling.LANCZOS).save(tmp, "PNG")


def _artwork_prompt(run: Run) -> str:
    mood = get_preset(run.preset).label
    return (f"Cozy lo-fi album cover, {mood} mood: a window at night with rain on the glass, soft city lights, "
            "warm desk lamp, film grain, no text, no faces, wide 16:9 composition.")


# --- metadata ----------------------------------------------------------------------------------
_METADATA_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "description": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["title", "description", "tags"],
    "additionalProperties": False,
}


def run_metadata(ctx: StageContext) -> dict:
    video, run = ctx.video, ctx.run
    if video.metadata_edited:
        ctx.log("Kept the operator's edited metadata.")
        return {"source": "operator"}
    tracklist = [metadata.TrackEntry(start_s=t["start_s"], title=t["title"], bpm=t.get("bpm"), key=t.get("key"))
                 for t in video.tracklist]
    draft = metadata.generate_metadata(run.preset, video.duration_s or run.duration_s, run.bpm,
                                       run.musical_key or None, run.seed, tracklist or None,
                                       library=run.audio_source == AudioSource.LIBRARY)
    source = "template"
    if ai.ai_enabled():
        try:
            answer = ai.chat_json(user=run.created_by, request_type="pipeline.metadata",
                                  messages=_metadata_messages(draft), json_schema=_METADATA_SCHEMA)
            draft = metadata.Metadata(title=str(answer["title"]),
                                      description=_keep_tracklist(str(answer["description"]), draft.description),
                                      tags=[str(tag) for tag in answer["tags"]])
            source = "openai"
        except (ai.AIError, KeyError, TypeError) as exc:
            ctx.log(f"AI metadata unavailable ({exc}); used the template generator.")
    clean = metadata.clean_metadata(draft.title, draft.description, draft.tags)
    ctx.save_video(title=clean.title, description=clean.description, tags=list(clean.tags))
    ctx.log(f"Metadata ({source}): {clean.title!r}, {len(clean.tags)} tags.")
    return {"source": source, "title": clean.title}


def _metadata_messages(draft) -> list[dict]:
    return [
        {"role": "system", "content": "You write YouTube metadata for a lo-fi music channel. Answer in JSON with "
                                      "title (max 90 characters, no < or >), description (max 3000 characters, "
                                      "no < or >, no timestamps) and tags (max 15 short tags)."},
        {"role": "user", "content": f"Improve this draft and keep its facts.\nTitle: {draft.title}\n"
                                    f"Description: {draft.description}\nTags: {', '.join(draft.tags)}"},
    ]


def _keep_tracklist(ai_description: str, template_description: str) -> str:
    """The AI never sees exact timestamps; append the template's timestamped tracklist."""
    marker = template_description.find("0:00")
    if marker < 0:
        return ai_description
    start = template_description.rfind("\n\n", 0, marker)
    return f"{ai_description.strip()}\n\n{template_description[start:].strip()}"


# --- no server paths in what people read (services.execution applies it to logs and failures) ---
# An absolute path: a "/" that starts a word, then folders. URLs ("https://...") and ratios ("16/9") are not.
_FOLDERS_RE = re.compile(r"(?<![\w.:/~-])/(?:[^\s/'\"]+/)+")


def without_paths(text: str) -> str:
    """`text` without server paths: files in the media folder by their media name (runs/7/video.mp4,
    clips/intro.mp4), any other absolute path cut to its file name."""
    text = text.replace(str(settings.MEDIA_ROOT).rstrip("/") + "/", "")
    return _FOLDERS_RE.sub("", text)


# --- render ------------------------------------------------------------------------------------
def run_render(ctx: StageContext) -> dict:
    video, run = ctx.video, ctx.run
    if not video.audio or not video.cover:
        raise EngineError("Audio or cover art is missing; retry the run from the compose stage.")
    out = ctx.workdir / "video.mp4"
    # ffmpeg quotes its input and output paths: services.execution writes every stage's log and
    # failure through without_paths, so they name media files only.
    result = render.render_video(_path(video.cover), _path(video.audio), out, duration_s=video.duration_s,
                                 motion=run.motion, intro=_path(run.intro) if run.intro else None,
                                 outro=_path(run.outro) if run.outro else None, progress=ctx.progress,
                                 log=ctx.log)
    ctx.save_video(video=ctx.media_name(out.name), size_bytes=result.size_bytes)
    ctx.log(f"Video: {format_short_duration(result.duration_s)}, {result.size_bytes / 1e6:.1f} MB, "
            f"{result.video_codec}/{result.audio_codec}.")
    return {"duration_s": result.duration_s, "size_bytes": result.size_bytes}


# --- thumbnail ---------------------------------------------------------------------------------
def run_thumbnail(ctx: StageContext) -> dict:
    video = ctx.video
    out = ctx.workdir / "thumbnail.jpg"
    result = thumbnail.make_thumbnail(_path(video.cover), out, title=video.title,
                                      subtitle=get_preset(ctx.run.preset).label)
    ctx.save_video(thumbnail=ctx.media_name(out.name))
    return {"size_bytes": result.size_bytes, "width": result.width, "height": result.height}


# --- publish -----------------------------------------------------------------------------------
def run_publish(ctx: StageContext) -> dict:
    """Upload the video, then set its thumbnail.

    Idempotent: a video that is already on YouTube (a retry after the thumbnail failed)
    is not uploaded again; an upload interrupted earlier resumes its stored session.

    Never sleeps: the client makes one try per request (`max_retries=0`); a network or
    5xx failure ends this attempt at once as a TransientEngineError, which counts on the
    `youtube` breaker and is re-enqueued with backoff by the job wrapper, so the worker
    goes on with other runs and no heartbeat is missed while waiting.
    """
    run, video = ctx.run, ctx.video
    if run.publish_target != PublishTarget.YOUTUBE:
        ctx.log("Library only: nothing was uploaded to YouTube.")
        return {"skipped": True, "reason": "library only"}
    channel = YouTubeChannel.objects.first()
    if channel is None:
        ctx.log("No YouTube channel is connected: nothing was uploaded.")
        return {"skipped": True, "reason": "no channel"}
    if not video.youtube_id:
        try:
            check_quota(youtube.QUOTA_BUCKET_UPLOADS, youtube.VIDEOS_INSERT_UNITS)
        except QuotaUsedUp as exc:
            _upload_failed(video, UploadStatus.QUOTA_EXCEEDED, str(exc))
            raise
        video.upload_status, video.upload_error = UploadStatus.UPLOADING, ""
        video.save(update_fields=["upload_status", "upload_error"])
    guard = breaker("youtube", counts_as_failure=_youtube_outage)
    config = youtube.YouTubeConfig(
        client_id=channel.client_id, client_secret=channel.client_secret, refresh_token=channel.refresh_token,
        token_url=settings.YOUTUBE_TOKEN_URL, api_base=settings.YOUTUBE_API_BASE,
        upload_base=settings.YOUTUBE_UPLOAD_BASE, chunk_size=settings.YOUTUBE_CHUNK_SIZE,
        timeout=_call_timeout(guard), max_retries=0,
    )

    def remember_session(url):
        Video.objects.filter(pk=video.pk).update(upload_session_url=url)
        video.upload_session_url = url

    try:
        with youtube.YouTubeClient(config) as client:
            if video.youtube_id:
                ctx.log(f"Already on YouTube as {video.youtube_url}: not uploading it again.")
            else:
                _upload(ctx, client, guard, remember_session)
            check_quota(youtube.QUOTA_BUCKET_DEFAULT, youtube.THUMBNAILS_SET_UNITS)
            units = guard.call(client.set_thumbnail, video.youtube_id, _path(video.thumbnail))
            record_quota(youtube.QUOTA_BUCKET_DEFAULT, units, "thumbnails.set", video, run.created_by)
            if video.upload_error:
                video.upload_error = ""
                video.save(update_fields=["upload_error"])
            ctx.log("Thumbnail set.")
    except BreakerOpen as exc:
        _upload_failed(video, UploadStatus.FAILED, str(exc))
        raise
    except QuotaUsedUp as exc:
        _upload_failed(video, UploadStatus.QUOTA_EXCEEDED, str(exc))
        raise
    except youtube.YouTubeTransientError as exc:
        _upload_failed(video, UploadStatus.FAILED, f"{exc.hint} ({exc})")
        raise TransientEngineError(f"YouTube unreachable: {exc}") from exc
    except youtube.YouTubeUploadLimitError as exc:
        _upload_failed(video, UploadStatus.LIMIT_EXCEEDED, exc.hint)
        raise EngineError(exc.hint) from exc
    except youtube.YouTubeQuotaExceededError as exc:
        _upload_failed(video, UploadStatus.QUOTA_EXCEEDED, exc.hint)
        raise EngineError(exc.hint) from exc
    except youtube.YouTubeError as exc:
        _upload_failed(video, UploadStatus.FAILED, exc.hint or str(exc))
        raise EngineError(f"{exc.hint or 'YouTube refused the upload.'} ({exc})") from exc
    return {"youtube_id": video.youtube_id, "url": video.youtube_url, "upload_status": video.upload_status}


def _upload(ctx: StageContext, client, guard, remember_session) -> None:
    run, video = ctx.run, ctx.video
    result = guard.call(
        client.upload_video, _path(video.video), title=video.title, description=video.description,
        tags=video.tags, privacy=run.privacy, publish_at=run.publish_at,
        progress=lambda sent, total: ctx.progress(0.95 * sent / total),
        session_url=video.upload_session_url or None, on_session=remember_session,
    )
    record_quota(result.quota_bucket, result.quota_units, "videos.insert", video, run.created_by)
    status = UploadStatus.LOCKED_PRIVATE if result.locked_private else UploadStatus.UPLOADED
    video.youtube_id, video.youtube_url, video.upload_status = result.video_id, result.url, status
    video.upload_session_url, video.uploaded_at = "", timezone.now()
    video.save(update_fields=["youtube_id", "youtube_url", "upload_status", "upload_session_url", "uploaded_at"])
    ctx.log(f"Uploaded as {result.url} ({result.privacy_status}).")
    if result.locked_private:
        ctx.log("YouTube locked the video private (unverified API project): it is NOT public.")
        record_event("pipeline", "video.locked_private", "warning",
                     f"YouTube locked the upload of {run} private (unverified API project): it is NOT public.",
                     {"run": run.pk, "video": video.pk, "youtube_id": result.video_id}, user=run.created_by,
                     target=run)


def _call_timeout(guard) -> float:
    """Seconds one YouTube request may wait: the breaker's call timeout, but never so long that the job's
    heartbeat goes stale meanwhile (the stage cannot send one while it waits on the network)."""
    return max(1.0, min(guard.timeout, settings.JOB_STALE_AFTER_SECONDS / 2))


def _youtube_outage(exc: BaseException) -> bool:
    """What trips the youtube breaker: YouTube failing, not YouTube refusing (quota, limits, bad input)."""
    if isinstance(exc, youtube.YouTubeTransientError):
        return True
    return not isinstance(exc, (youtube.YouTubeError, ValueError, OSError))


def _upload_failed(video, status, message):
    if video.youtube_id:  # the video is on YouTube already; only the thumbnail is missing
        Video.objects.filter(pk=video.pk).update(upload_error=f"Thumbnail not set: {message}")
    else:
        Video.objects.filter(pk=video.pk).update(upload_status=status, upload_error=message)


RUNNERS = {
    "compose": run_compose,
    "artwork": run_artwork,
    "metadata": run_metadata,
    "render": run_render,
    "thumbnail": run_thumbnail,
    "publish": run_publish,
}
