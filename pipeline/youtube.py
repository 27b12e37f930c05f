"""YouTube Data API v3 client: OAuth refresh, resumable video upload, thumbnails.

Why one ~550-line module: it is one protocol client, and its parts (the token cache, the
resumable session with its 308/Range bookkeeping, and the mapping of Google's error
reasons) share state and are read together when YouTube changes something.

A plain module without Django: the pipeline's service layer wraps it with the
circuit breaker, the quota ledger and the encrypted credential storage.

Protocol references (Google's documentation):

- resumable uploads: developers.google.com/youtube/v3/guides/using_resumable_upload_protocol
- quota: developers.google.com/youtube/data/determine_quota_cost. ``videos.insert``
  now has its own bucket (100 calls a day by default, 1 unit per call); every other
  method shares a 10,000-unit daily bucket. Older pages still say 1600 units per
  insert. Every request, even a failed one, costs at least one unit.
- uploads from unverified API projects are locked to private viewing, whatever
  privacy was requested; ``UploadResult.locked_private`` reports it.

A client holds one HTTP connection pool and a cached access token; it is not
meant to be shared between threads.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import httpx

from .engines.limits import MAX_THUMBNAIL_BYTES
from .engines.metadata import validate_metadata

logger = logging.getLogger(__name__)

# Non-final chunks of a resumable upload must be multiples of 256 KiB.
UPLOAD_CHUNK_ALIGNMENT = 256 * 1024

QUOTA_BUCKET_UPLOADS = "videos.insert"
QUOTA_BUCKET_DEFAULT = "default"
DEFAULT_DAILY_QUOTA = {QUOTA_BUCKET_UPLOADS: 100, QUOTA_BUCKET_DEFAULT: 10_000}
VIDEOS_INSERT_UNITS = 1  # charged to QUOTA_BUCKET_UPLOADS
THUMBNAILS_SET_UNITS = 50  # charged to QUOTA_BUCKET_DEFAULT
VIDEOS_LIST_UNITS = 1  # charged to QUOTA_BUCKET_DEFAULT
CHANNELS_LIST_UNITS = 1  # charged to QUOTA_BUCKET_DEFAULT

MUSIC_CATEGORY_ID = "10"
PRIVACY_STATUSES = ("private", "unlisted", "public")

# Google asks clients to retry these (and dropped connections) with exponential backoff.
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
# An expired or unknown upload session answers 404 (or 410): the upload must restart.
EXPIRED_SESSION_STATUSES = frozenset({404, 410})
# Renew access tokens this long before Google says they expire, so a token does
# not run out in the middle of a chunk.
TOKEN_EXPIRY_MARGIN_SECONDS = 60


class YouTubeError(Exception):
    """An error answered by YouTube or its OAuth server.

    ``reason`` is Google's machine-readable reason (``error.errors[0].reason``,
    or the OAuth ``error`` code); ``hint`` is a sentence the UI can show.
    """

    hint = ""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"YouTube error {status} ({reason}): {message}")
        self.status = status
        self.reason = reason
        self.message = message


class YouTubeAuthError(YouTubeError):
    """The stored OAuth credentials no longer work."""

    hint = "Reconnect the YouTube channel: its authorization was revoked or has expired."


class YouTubeQuotaExceededError(YouTubeError):
    """The project's daily API quota is spent (403 quotaExceeded)."""

    hint = "The daily YouTube API quota is used up; it resets at midnight Pacific Time."


class YouTubeUploadLimitError(YouTubeError):
    """The channel hit YouTube's 24-hour upload limit (400 uploadLimitExceeded)."""

    hint = "The channel reached YouTube's upload limit for the last 24 hours; try again in 24 hours."


class YouTubeTransientError(YouTubeError):
    """Network or server failures outlasted every retry.

    ``session_url`` is set for media uploads so a later attempt can resume.
    ``status`` is the last HTTP status seen, or 0 for a network failure.
    """

    hint = "YouTube could not be reached reliably; the upload can be retried and will resume."

    def __init__(self, status: int, message: str, *, session_url: str | None = None) -> None:
        super().__init__(status, "transient", message)
        self.session_url = session_url


_ERRORS_BY_REASON: dict[str, type[YouTubeError]] = {
    "quotaExceeded": YouTubeQuotaExceededError,
    "uploadLimitExceeded": YouTubeUploadLimitError,
}


@dataclass(frozen=True)
class YouTubeConfig:
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    token_url: str = "https://oauth2.googleapis.com/token"
    api_base: str = "https://www.googleapis.com/youtube/v3"
    upload_base: str = "https://www.googleapis.com/upload/youtube/v3"
    chunk_size: int = 8 * 1024 * 1024
    timeout: float = 60.0
    max_retries: int = 8
    backoff_base: float = 1.0
    backoff_max: float = 64.0

    def __post_init__(self) -> None:
        if self.chunk_size <= 0 or self.chunk_size % UPLOAD_CHUNK_ALIGNMENT:
            raise ValueError(
                f"chunk_size must be a positive multiple of {UPLOAD_CHUNK_ALIGNMENT} bytes (256 KiB), "
                f"got {self.chunk_size}"
            )
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")


@dataclass(frozen=True)
class UploadResult:
    video_id: str
    url: str
    privacy_status: str
    upload_status: str
    quota_units: int
    locked_private: bool
    raw: dict[str, Any]
    quota_bucket: str = QUOTA_BUCKET_UPLOADS


def is_locked_private(requested_privacy: str, video: dict[str, Any]) -> bool:
    """True when YouTube kept a video private although public/unlisted was asked.

    The lock can also land after processing, so callers may re-check later with
    ``YouTubeClient.get_video``.
    """
    actual = video.get("status", {}).get("privacyStatus")
    return requested_privacy != "private" and actual == "private"


def watch_url(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


class YouTubeClient:
    def __init__(
        self,
        config: YouTubeConfig,
        *,
        sleep: Callable[[float], None] | None = None,
        log: logging.Logger | logging.LoggerAdapter | None = None,
    ) -> None:
        self.config = config
        # Looked up at call time, so a test's controlled clock sees every wait. Only a client with
        # max_retries > 0 ever waits; the pipeline's jobs use 0 and re-enqueue instead.
        self._sleep = sleep if sleep is not None else (lambda seconds: time.sleep(seconds))
        self._log = log or logger
        self._http = httpx.Client(timeout=config.timeout)
        self._token: str | None = None
        self._token_expires_at = 0.0

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- OAuth -------------------------------------------------------------

    def access_token(self) -> str:
        """A valid access token, from the cache or from a refresh-token grant."""
        if self._token and time.monotonic() < self._token_expires_at:
            return self._token
        response = self._with_retries(
            "access token refresh",
            lambda: self._http.post(
                self.config.token_url,
                data={
                    "grant_type": "refresh_token",
                    "client_id": self.config.client_id,
                    "client_secret": self.config.client_secret,
                    "refresh_token": self.config.refresh_token,
                },
            ),
        )
        if response.status_code != 200:
            raise _oauth_error(response)
        payload = response.json()
        self._token = payload["access_token"]
        lifetime = int(payload.get("expires_in", 3600))
        self._token_expires_at = time.monotonic() + lifetime - TOKEN_EXPIRY_MARGIN_SECONDS
        return self._token

    # -- videos.insert (resumable) -----------------------------------------

    def upload_video(
        self,
        path: str | Path,
        *,
        title: str,
        description: str,
        tags: Iterable[str],
        category_id: str = MUSIC_CATEGORY_ID,
        privacy: str = "private",
        publish_at: datetime | None = None,
        made_for_kids: bool = False,
        synthetic_media: bool = True,
        progress: Callable[[int, int], None] | None = None,
        session_url: str | None = None,
        on_session: Callable[[str], None] | None = None,
    ) -> UploadResult:
        """Upload a video with the resumable protocol and return the created video.

        ``on_session(url)`` is called as soon as an upload session exists; persist
        the URL and pass it back as ``session_url`` to resume after the process
        died. A stored session that YouTube has forgotten is replaced by a new one
        (which costs another insert). ``progress(bytes_confirmed, total)`` is
        called whenever YouTube confirms more bytes.
        """
        path = Path(path)
        total = path.stat().st_size
        if total == 0:
            raise ValueError(f"{path} is empty; there is nothing to upload")
        body = _video_body(
            title=title,
            description=description,
            tags=list(tags),
            category_id=category_id,
            privacy=privacy,
            publish_at=publish_at,
            made_for_kids=made_for_kids,
            synthetic_media=synthetic_media,
        )
        content_type = _video_content_type(path)

        if session_url is not None:
            try:
                video = self._send_media(session_url, path, total, content_type, None, progress)
                return _upload_result(video, privacy)
            except YouTubeError as exc:
                if exc.status not in EXPIRED_SESSION_STATUSES:
                    raise
                self._log.warning("Stored YouTube upload session has expired; starting a new upload")

        session_url = self._start_session(body, total, content_type)
        if on_session is not None:
            on_session(session_url)
        video = self._send_media(session_url, path, total, content_type, 0, progress)
        return _upload_result(video, privacy)

    def _start_session(self, body: dict[str, Any], total: int, content_type: str) -> str:
        response = self._with_retries(
            "upload session start",
            lambda: self._authorized(
                "POST",
                f"{self.config.upload_base}/videos",
                params={"uploadType": "resumable", "part": "snippet,status"},
                content=json.dumps(body).encode(),
                headers={
                    "Content-Type": "application/json; charset=UTF-8",
                    "X-Upload-Content-Length": str(total),
                    "X-Upload-Content-Type": content_type,
                },
            ),
        )
        if response.status_code != 200:
            raise _api_error(response)
        location = response.headers.get("Location")
        if not location:
            raise YouTubeError(response.status_code, "missingLocation", "YouTube returned no upload session URL")
        return location

    def _send_media(
        self,
        session_url: str,
        path: Path,
        total: int,
        content_type: str,
        offset: int | None,
        progress: Callable[[int, int], None] | None,
    ) -> dict[str, Any]:
        """Send the file from ``offset`` (None: ask YouTube first) until it is complete.

        After any failure the server may have kept part of the interrupted
        request, so the next step is always a status query, never a blind resend.
        """
        failures = 0
        with path.open("rb") as media:
            while True:
                try:
                    if offset is None:
                        response = self._authorized(
                            "PUT", session_url, content=b"", headers={"Content-Range": f"bytes */{total}"}
                        )
                    else:
                        media.seek(offset)
                        chunk = media.read(self.config.chunk_size)
                        response = self._authorized(
                            "PUT",
                            session_url,
                            content=chunk,
                            headers={
                                "Content-Type": content_type,
                                "Content-Range": f"bytes {offset}-{offset + len(chunk) - 1}/{total}",
                            },
                        )
                except httpx.TransportError as exc:
                    status, problem = 0, f"{type(exc).__name__}: {exc}"
                else:
                    if response.status_code in (200, 201):
                        if progress is not None:
                            progress(total, total)
                        return response.json()
                    if response.status_code == 308:
                        confirmed = _confirmed_bytes(response)
                        if offset is None or confirmed > offset:
                            if offset is not None:
                                failures = 0  # progress was made: the retry budget starts again
                            offset = confirmed
                            if progress is not None:
                                progress(confirmed, total)
                            continue
                        status, problem = 308, "YouTube kept none of the chunk"
                    elif response.status_code in TRANSIENT_STATUSES:
                        status, problem = response.status_code, f"HTTP {response.status_code}"
                    else:
                        raise _api_error(response)
                failures += 1
                if failures > self.config.max_retries:
                    raise YouTubeTransientError(
                        status,
                        f"video upload failed {failures} times in a row; last problem: {problem}",
                        session_url=session_url,
                    )
                self._backoff(failures, "video upload", problem)
                offset = None

    # -- thumbnails.set, videos.list ---------------------------------------

    def set_thumbnail(self, video_id: str, path: str | Path) -> int:
        """Set a custom thumbnail (JPEG or PNG, at most 2 MiB); returns the quota units spent."""
        path = Path(path)
        size = path.stat().st_size
        if size > MAX_THUMBNAIL_BYTES:
            raise ValueError(
                f"Thumbnail {path.name} is {size} bytes; YouTube accepts at most 2 MB ({MAX_THUMBNAIL_BYTES} bytes)"
            )
        data = path.read_bytes()
        content_type = "image/png" if data.startswith(b"\x89PNG\r\n\x1a\n") else "image/jpeg"
        response = self._with_retries(
            "thumbnail upload",
            lambda: self._authorized(
                "POST",
                f"{self.config.upload_base}/thumbnails/set",
                params={"videoId": video_id},
                content=data,
                headers={"Content-Type": content_type},
            ),
        )
        if response.status_code != 200:
            raise _api_error(response)
        return THUMBNAILS_SET_UNITS

    def get_video(self, video_id: str) -> dict[str, Any] | None:
        """The video resource (snippet and status), or None if YouTube does not know it.

        Costs VIDEOS_LIST_UNITS.
        """
        response = self._with_retries(
            "video lookup",
            lambda: self._authorized(
                "GET", f"{self.config.api_base}/videos", params={"part": "snippet,status", "id": video_id}
            ),
        )
        if response.status_code != 200:
            raise _api_error(response)
        items = response.json().get("items") or []
        return items[0] if items else None

    def my_channel(self) -> dict[str, Any]:
        """The channel these credentials upload to (channels.list mine=true): {"id", "title"}.

        Costs CHANNELS_LIST_UNITS."""
        response = self._with_retries(
            "channel lookup",
            lambda: self._authorized(
                "GET", f"{self.config.api_base}/channels", params={"part": "snippet", "mine": "true"}
            ),
        )
        if response.status_code != 200:
            raise _api_error(response)
        items = response.json().get("items") or []
        if not items:
            raise YouTubeError(404, "channelNotFound", "These credentials have no YouTube channel: create one "
                               "for the Google account first.")
        return {"id": items[0]["id"], "title": (items[0].get("snippet") or {}).get("title", "")}

    # -- plumbing ----------------------------------------------------------

    def _authorized(
        self, method: str, url: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        def send() -> httpx.Response:
            auth = {"Authorization": f"Bearer {self.access_token()}"}
            return self._http.request(method, url, headers={**(headers or {}), **auth}, **kwargs)

        response = send()
        if response.status_code == 401:
            # Access tokens can be revoked or expire early: refresh once, then let the 401 stand.
            self._token = None
            response = send()
        return response

    def _with_retries(self, what: str, send: Callable[[], httpx.Response]) -> httpx.Response:
        """Run ``send`` until it answers something other than a transient failure."""
        failures = 0
        while True:
            try:
                response = send()
            except httpx.TransportError as exc:
                status, problem = 0, f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code not in TRANSIENT_STATUSES:
                    return response
                status, problem = response.status_code, f"HTTP {response.status_code}"
            failures += 1
            if failures > self.config.max_retries:
                raise YouTubeTransientError(status, f"{what} failed {failures} times in a row; last problem: {problem}")
            self._backoff(failures, what, problem)

    def _backoff(self, failures: int, what: str, problem: str) -> None:
        delay = min(self.config.backoff_max, self.config.backoff_base * 2 ** (failures - 1))
        # Jitter keeps several workers from retrying in lockstep.
        delay += random.uniform(0, self.config.backoff_base)
        self._log.warning(
            "YouTube %s failed (%s); retry %d of %d in %.2fs", what, problem, failures, self.config.max_retries, delay
        )
        self._sleep(delay)


def _video_body(
    *,
    title: str,
    description: str,
    tags: list[str],
    category_id: str,
    privacy: str,
    publish_at: datetime | None,
    made_for_kids: bool,
    synthetic_media: bool,
) -> dict[str, Any]:
    """The video resource for videos.insert, checked locally so bad input never spends quota."""
    if privacy not in PRIVACY_STATUSES:
        raise ValueError(f"privacy must be one of {', '.join(PRIVACY_STATUSES)}, got {privacy!r}")
    # YouTube's text limits are defined once, in engines.metadata (the pages and the API check the same).
    problems = validate_metadata(title, description, tags)
    if problems:
        raise ValueError(" ".join(problems.values()))

    status: dict[str, Any] = {
        "privacyStatus": privacy,
        "selfDeclaredMadeForKids": made_for_kids,
        "containsSyntheticMedia": synthetic_media,
    }
    if publish_at is not None:
        if privacy != "private":
            raise ValueError(
                f"publish_at schedules a private video to go public, so privacy must be 'private' (got {privacy!r})"
            )
        if publish_at.tzinfo is None:
            raise ValueError("publish_at must be timezone-aware")
        status["publishAt"] = publish_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "snippet": {"title": title, "description": description, "tags": tags, "categoryId": category_id},
        "status": status,
    }


def _video_content_type(path: Path) -> str:
    # videos.insert accepts video/* or application/octet-stream.
    guessed = mimetypes.guess_type(path.name)[0]
    return guessed if guessed and guessed.startswith("video/") else "application/octet-stream"


def _confirmed_bytes(response: httpx.Response) -> int:
    """Bytes YouTube holds, from a 308's ``Range: bytes=0-N``; no Range means none yet."""
    match = re.fullmatch(r"bytes=0-(\d+)", response.headers.get("Range", "").strip())
    return int(match.group(1)) + 1 if match else 0


def _upload_result(video: dict[str, Any], requested_privacy: str) -> UploadResult:
    status = video.get("status", {})
    return UploadResult(
        video_id=video["id"],
        url=watch_url(video["id"]),
        privacy_status=status.get("privacyStatus", ""),
        upload_status=status.get("uploadStatus", ""),
        quota_units=VIDEOS_INSERT_UNITS,
        locked_private=is_locked_private(requested_privacy, video),
        raw=video,
    )


def _api_error(response: httpx.Response) -> YouTubeError:
    """Turn Google's error JSON (``error.errors[0].reason``, ``error.message``) into an exception."""
    status = response.status_code
    reason, message = f"http{status}", response.text[:300] or response.reason_phrase
    try:
        error = response.json().get("error")
    except ValueError:
        error = None
    if isinstance(error, dict):
        message = error.get("message") or message
        details = error.get("errors") or [{}]
        reason = details[0].get("reason") or reason
    cls = _ERRORS_BY_REASON.get(reason) or (YouTubeAuthError if status == 401 else YouTubeError)
    return cls(status, reason, message)


def _oauth_error(response: httpx.Response) -> YouTubeAuthError:
    """Token endpoint errors: ``{"error": "invalid_grant", "error_description": ...}``."""
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    reason = payload.get("error") or f"http{response.status_code}"
    description = payload.get("error_description") or response.reason_phrase
    return YouTubeAuthError(response.status_code, reason, f"token refresh refused: {description}")
