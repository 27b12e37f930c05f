"""A local stand-in for Google's OAuth token endpoint and the YouTube Data API v3.

It speaks the real HTTP protocol on 127.0.0.1 (refresh-token grant, the
installed-app consent flow: ``auth_url`` redirects to the loopback
``redirect_uri`` with a one-time code that the authorization-code grant with
PKCE exchanges for the refresh token; resumable uploads answered with ``308
Resume Incomplete`` and ``Range``, Google's error JSON, bearer tokens on every
call), so the real client runs unchanged against it. A plain class, usable
from pytest and from Django live-server tests::

    with FakeYouTube() as fake:
        config = YouTubeConfig(**fake.client_settings(), chunk_size=256 * 1024)

Failure injection: ``fail_next_chunks``, ``drop_next_chunk``, ``insert_error``,
``lock_private``, ``expire_access_tokens``, ``expire_sessions``, ``deny_consent``,
``token_error_status``.

Standalone for manual demos: ``python -m tests.fakes.youtube_server --port 8765``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.fakes._server import FakeHTTPServer, FakeService

CHUNK_ALIGNMENT = 256 * 1024
MAX_THUMBNAIL_BYTES = 2 * 1024 * 1024
CHANNEL_ID = "UCfakeLofiChannel0000000"
SCOPES = "https://www.googleapis.com/auth/youtube.upload https://www.googleapis.com/auth/youtube"

# reason -> (HTTP status, error domain, message), as YouTube answers them on videos.insert.
INSERT_ERRORS = {
    "uploadLimitExceeded": (400, "youtube.video", "The user has exceeded the number of videos they may upload."),
    "quotaExceeded": (
        403,
        "youtube.quota",
        "The request cannot be completed because you have exceeded your quota.",
    ),
}


@dataclass
class FakeUpload:
    """One resumable upload session as the server sees it."""

    upload_id: str
    metadata: dict[str, Any]
    parts: list[str]
    total: int
    content_type: str
    data: bytearray = field(default_factory=bytearray)
    chunk_puts: int = 0  # PUTs that carried media
    chunk_ranges: list[tuple[int, int]] = field(default_factory=list)  # their Content-Range first-last
    status_queries: int = 0  # empty PUTs asking how much arrived
    bytes_received: int = 0  # media bytes read off the wire, kept or not
    video_id: str | None = None
    expired: bool = False

    @property
    def complete(self) -> bool:
        return len(self.data) == self.total


class FakeYouTube(FakeService):
    thread_name = "FakeYouTube"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str = "fake-client-id",
        client_secret: str = "fake-client-secret",
        refresh_token: str = "fake-refresh-token",
    ) -> None:
        super().__init__(host, port)
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        # The channel the credentials belong to (channels.list mine=true).
        self.channel_id, self.channel_title = "UCfakeLofiChannel0000001", "Fake Lo-fi Channel"
        # Knobs tests may set directly.
        self.token_lifetime = 3599
        self.lock_private = False  # answer privacyStatus "private" like an unverified API project
        self.insert_error: str | None = None  # a key of INSERT_ERRORS, answered on every insert
        self.deny_consent = False  # the user clicks "Cancel" on the consent page: redirect with access_denied
        # A "Web application" client's authorized redirect URIs (installed apps may use any loopback port).
        self.redirect_uris: set[str] = set()
        self.token_error_status: int | None = None  # every token request is answered this (503: OAuth outage)
        # What arrived, for assertions.
        self.uploads: dict[str, FakeUpload] = {}
        self.videos: dict[str, dict[str, Any]] = {}
        self.thumbnails: dict[str, bytes] = {}
        self.token_requests = 0
        self.consents: list[dict[str, str]] = []  # query of every consent-page visit
        self.requests: list[tuple[str, str]] = []
        self._access_tokens: set[str] = set()
        self._auth_codes: dict[str, tuple[str, str]] = {}  # one-time code -> (redirect_uri, code_challenge)
        self._chunk_failures: list[int] = []
        self._chunk_drops: list[int] = []
        self._lock = threading.Lock()  # one request at a time keeps the state simple

    # -- lifecycle ---------------------------------------------------------


    # -- addresses ---------------------------------------------------------

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def auth_url(self) -> str:
        """The consent page; visiting it acts as the user clicking "Allow"."""
        return f"{self.base_url}/o/oauth2/v2/auth"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/youtube/v3"

    @property
    def upload_base(self) -> str:
        return f"{self.base_url}/upload/youtube/v3"

    def client_settings(self) -> dict[str, str]:
        """Keyword arguments for ``pipeline.youtube.YouTubeConfig`` pointing at this fake."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "token_url": self.token_url,
            "api_base": self.api_base,
            "upload_base": self.upload_base,
        }

    # -- failure injection -------------------------------------------------

    def fail_next_chunks(self, count: int = 1, status: int = 503) -> None:
        """The next ``count`` media PUTs are read in full, kept nowhere, and answered ``status``."""
        with self._lock:
            self._chunk_failures.extend([status] * count)

    def drop_next_chunk(self, after_bytes: int) -> None:
        """The next media PUT keeps its first ``after_bytes`` bytes, then the connection dies unanswered."""
        with self._lock:
            self._chunk_drops.append(after_bytes)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is answered 401 from now on."""
        with self._lock:
            self._access_tokens.clear()

    def expire_sessions(self) -> None:
        """Every upload session so far is forgotten (answered 404), like one left for a week."""
        with self._lock:
            for upload in self.uploads.values():
                upload.expired = True

    # -- inspection --------------------------------------------------------

    @property
    def last_upload(self) -> FakeUpload:
        return list(self.uploads.values())[-1]

    def _create_video(self, upload: FakeUpload) -> dict[str, Any]:
        snippet, status = upload.metadata.get("snippet", {}), upload.metadata.get("status", {})
        video_id = secrets.token_urlsafe(8)[:11]
        video: dict[str, Any] = {
            "kind": "youtube#video",
            "etag": secrets.token_urlsafe(16),
            "id": video_id,
            "snippet": {
                "publishedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "channelId": CHANNEL_ID,
                "title": snippet.get("title", ""),
                "description": snippet.get("description", ""),
                "thumbnails": {
                    "default": {"url": f"https://i.ytimg.com/vi/{video_id}/default.jpg", "width": 120, "height": 90}
                },
                "channelTitle": "Fake Lo-fi Channel",
                "categoryId": snippet.get("categoryId", "22"),
                "liveBroadcastContent": "none",
                "localized": {"title": snippet.get("title", ""), "description": snippet.get("description", "")},
            },
            "status": {
                "uploadStatus": "uploaded",
                # YouTube's default is public; unverified projects get private whatever they ask.
                "privacyStatus": "private" if self.lock_private else status.get("privacyStatus", "public"),
                "license": "youtube",
                "embeddable": True,
                "publicStatsViewable": True,
                "madeForKids": bool(status.get("selfDeclaredMadeForKids", False)),
                "selfDeclaredMadeForKids": bool(status.get("selfDeclaredMadeForKids", False)),
                "containsSyntheticMedia": bool(status.get("containsSyntheticMedia", False)),
            },
        }
        if snippet.get("tags"):
            video["snippet"]["tags"] = snippet["tags"]
        if "publishAt" in status:
            video["status"]["publishAt"] = status["publishAt"]
        self.videos[video_id] = video
        upload.video_id = video_id
        return video


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: tests assert on ``fake.requests`` instead."""

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        self.query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        self.fake = self.server.fake
        routes = {
            ("POST", "/token"): self._token,
            ("GET", "/o/oauth2/v2/auth"): self._consent,
            ("POST", "/upload/youtube/v3/videos"): self._insert,
            ("PUT", "/upload/youtube/v3/videos"): self._media,
            ("POST", "/upload/youtube/v3/thumbnails/set"): self._thumbnail,
            ("GET", "/youtube/v3/videos"): self._list_videos,
            ("GET", "/youtube/v3/channels"): self._list_channels,
        }
        handler = routes.get((method, url.path))
        with self.fake._lock:
            self.fake.requests.append((method, url.path))
            if handler is None:
                self._read_body()
                self._error(404, "notFound", f"No fake route for {method} {url.path}")
            elif handler in (self._token, self._consent) or self._authorized():
                handler()

    # -- OAuth -------------------------------------------------------------

    def _token(self) -> None:
        form = {key: values[-1] for key, values in parse_qs(self._read_body().decode()).items()}
        self.fake.token_requests += 1
        if self.fake.token_error_status is not None:
            return self._send_json(self.fake.token_error_status,
                                   {"error": "backend_error", "error_description": "Backend Error"})
        if form.get("grant_type") not in ("refresh_token", "authorization_code"):
            return self._send_json(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})
        if (form.get("client_id"), form.get("client_secret")) != (self.fake.client_id, self.fake.client_secret):
            return self._send_json(
                401, {"error": "invalid_client", "error_description": "The OAuth client was not found."}
            )
        if form["grant_type"] == "authorization_code":
            return self._code_grant(form)
        if form.get("refresh_token") != self.fake.refresh_token:
            return self._send_json(
                400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
            )
        token = f"ya29.fake-{secrets.token_urlsafe(24)}"
        self.fake._access_tokens.add(token)
        self._send_json(
            200,
            {"access_token": token, "expires_in": self.fake.token_lifetime, "scope": SCOPES, "token_type": "Bearer"},
        )

    def _consent(self) -> None:
        """The consent page after the user's click: redirect to the loopback URI with a code (or the refusal)."""
        query = self.query
        self.fake.consents.append(dict(query))
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.fake.client_id:
            return self._send_json(
                401, {"error": "invalid_client", "error_description": "The OAuth client was not found."}
            )
        loopback = re.fullmatch(r"http://(127\.0\.0\.1|localhost):\d+/?", redirect_uri)
        if not loopback and redirect_uri not in self.fake.redirect_uris:
            return self._send_json(
                400, {"error": "redirect_uri_mismatch", "error_description": "Installed apps redirect to loopback."}
            )
        if (
            query.get("response_type") != "code"
            or query.get("code_challenge_method") != "S256"
            or not query.get("code_challenge")
        ):
            return self._send_json(
                400, {"error": "invalid_request", "error_description": "response_type=code and S256 PKCE required."}
            )
        if self.fake.deny_consent:
            params = {"error": "access_denied", "state": query.get("state", "")}
        else:
            code = f"4/fake-{secrets.token_urlsafe(24)}"
            self.fake._auth_codes[code] = (redirect_uri, query["code_challenge"])
            params = {"code": code, "scope": query.get("scope", ""), "state": query.get("state", "")}
        self._send(302, headers={"Location": f"{redirect_uri}?{urlencode(params)}"})

    def _code_grant(self, form: dict[str, str]) -> None:
        """grant_type=authorization_code: a one-time code plus its PKCE verifier buys the refresh token."""
        issued = self.fake._auth_codes.pop(form.get("code", ""), None)
        if issued is None:
            return self._send_json(400, {"error": "invalid_grant", "error_description": "Malformed auth code."})
        redirect_uri, challenge = issued
        if form.get("redirect_uri") != redirect_uri:
            return self._send_json(400, {"error": "redirect_uri_mismatch", "error_description": "Bad Request"})
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != challenge:
            return self._send_json(400, {"error": "invalid_grant", "error_description": "Invalid code verifier."})
        token = f"ya29.fake-{secrets.token_urlsafe(24)}"
        self.fake._access_tokens.add(token)
        self._send_json(
            200,
            {
                "access_token": token,
                "expires_in": self.fake.token_lifetime,
                "refresh_token": self.fake.refresh_token,
                "scope": SCOPES,
                "token_type": "Bearer",
            },
        )

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if header.startswith("Bearer ") and header.removeprefix("Bearer ") in self.fake._access_tokens:
            return True
        self._read_body()
        self._error(
            401,
            "authError",
            "Request had invalid authentication credentials.",
            headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
        )
        return False

    # -- videos.insert (resumable) -----------------------------------------

    def _insert(self) -> None:
        body = self._read_body()
        if self.query.get("uploadType") != "resumable":
            return self._error(400, "badRequest", "The fake only implements uploadType=resumable.")
        if self.fake.insert_error:
            status, domain, message = INSERT_ERRORS[self.fake.insert_error]
            return self._error(status, self.fake.insert_error, message, domain=domain)
        try:
            total = int(self.headers["X-Upload-Content-Length"])
            metadata = json.loads(body)
        except (TypeError, ValueError):
            return self._error(400, "badRequest", "X-Upload-Content-Length and a JSON video resource are required.")
        problem = _metadata_problem(metadata)
        if problem:
            return self._error(400, *problem)
        upload = FakeUpload(
            upload_id=secrets.token_urlsafe(12),
            metadata=metadata,
            parts=self.query.get("part", "").split(","),
            total=total,
            content_type=self.headers.get("X-Upload-Content-Type", "application/octet-stream"),
        )
        self.fake.uploads[upload.upload_id] = upload
        query = urlencode({"uploadType": "resumable", "part": ",".join(upload.parts), "upload_id": upload.upload_id})
        self._send(200, headers={"Location": f"{self.fake.upload_base}/videos?{query}"})

    def _media(self) -> None:
        upload = self.fake.uploads.get(self.query.get("upload_id", ""))
        if upload is None or upload.expired:
            self._read_body()
            return self._error(404, "notFound", "The upload session does not exist or has expired.")
        content_range = self.headers.get("Content-Range", "")
        if re.fullmatch(r"bytes \*/(\d+|\*)", content_range):
            self._read_body()
            upload.status_queries += 1
            return self._upload_state(upload, done_status=200)

        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", content_range)
        length = int(self.headers.get("Content-Length") or 0)
        problem = _chunk_problem(upload, match, length)
        if problem:
            self._read_body()
            return self._error(400, "badContentRange", problem)
        start = int(match.group(1))
        upload.chunk_puts += 1
        upload.chunk_ranges.append((start, int(match.group(2))))
        if self.fake._chunk_drops:
            data = self.rfile.read(min(self.fake._chunk_drops.pop(0), length))
            upload.bytes_received += len(data)
            self._store(upload, start, data)
            # Like a network cut: part of the chunk arrived and no answer ever leaves.
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        data = self.rfile.read(length)
        upload.bytes_received += len(data)
        if self.fake._chunk_failures:
            return self._error(self.fake._chunk_failures.pop(0), "backendError", "Backend Error")
        self._store(upload, start, data)
        self._upload_state(upload, done_status=201)

    def _store(self, upload: FakeUpload, start: int, data: bytes) -> None:
        # A chunk may overlap what is already stored; only the new tail counts.
        upload.data += data[len(upload.data) - start :]
        if upload.complete and upload.video_id is None:
            self.fake._create_video(upload)

    def _upload_state(self, upload: FakeUpload, *, done_status: int) -> None:
        if upload.complete:
            return self._send_json(done_status, _select_parts(self.fake.videos[upload.video_id], upload.parts))
        headers = {"Range": f"bytes=0-{len(upload.data) - 1}"} if upload.data else {}
        self._send(308, headers=headers, message="Resume Incomplete")

    # -- thumbnails.set, videos.list ---------------------------------------

    def _thumbnail(self) -> None:
        video_id = self.query.get("videoId", "")
        data = self._read_body()
        if video_id not in self.fake.videos:
            return self._error(404, "videoNotFound", "The video that you are trying to update cannot be found.")
        if len(data) > MAX_THUMBNAIL_BYTES:
            return self._error(413, "mediaBodyTooLarge", "The thumbnail is larger than 2 MB.")
        content_type = self.headers.get("Content-Type", "")
        is_image = data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"))
        if content_type not in ("image/jpeg", "image/png", "application/octet-stream") or not is_image:
            return self._error(400, "invalidImage", "The provided image content is invalid.")
        self.fake.thumbnails[video_id] = data
        sizes = {"default": (120, 90), "medium": (320, 180), "high": (480, 360), "maxres": (1280, 720)}
        urls = {
            name: {"url": f"https://i.ytimg.com/vi/{video_id}/{name}.jpg", "width": w, "height": h}
            for name, (w, h) in sizes.items()
        }
        self._send_json(
            200, {"kind": "youtube#thumbnailSetResponse", "etag": secrets.token_urlsafe(16), "items": [urls]}
        )

    def _list_channels(self) -> None:
        """channels.list: only `mine=true` (the authorised user's channel) is implemented."""
        if not self.query.get("part"):
            return self._error(400, "missingRequiredParameter", "No filter selected. Expected one of: part")
        if self.query.get("mine") != "true":
            return self._error(400, "badRequest", "The fake implements only mine=true.")
        item = {"kind": "youtube#channel", "id": self.fake.channel_id,
                "snippet": {"title": self.fake.channel_title, "description": ""}}
        self._send_json(200, {"kind": "youtube#channelListResponse", "items": [item],
                              "pageInfo": {"totalResults": 1, "resultsPerPage": 5}})

    def _list_videos(self) -> None:
        if not self.query.get("part"):
            return self._error(400, "missingRequiredParameter", "No filter selected. Expected one of: part")
        parts = self.query["part"].split(",")
        ids = self.query.get("id", "").split(",")
        items = [_select_parts(self.fake.videos[i], parts) for i in ids if i in self.fake.videos]
        self._send_json(
            200,
            {
                "kind": "youtube#videoListResponse",
                "etag": secrets.token_urlsafe(16),
                "items": items,
                "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
            },
        )

    # -- HTTP plumbing -----------------------------------------------------

    def _read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(
        self, status: int, body: bytes = b"", *, headers: dict[str, str] | None = None, message: str | None = None
    ) -> None:
        self.send_response(status, message)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        # One request per connection: nothing lingers once stop() returns.
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers=headers)

    def _error(
        self, status: int, reason: str, message: str, *, domain: str = "global", headers: dict[str, str] | None = None
    ) -> None:
        detail = {"message": message, "domain": domain, "reason": reason}
        self._send_json(status, {"error": {"code": status, "message": message, "errors": [detail]}}, headers)


def _metadata_problem(metadata: dict[str, Any]) -> tuple[str, str] | None:
    """The (reason, message) YouTube would answer for invalid insert metadata, if any."""
    title = metadata.get("snippet", {}).get("title", "")
    if not title.strip() or len(title) > 100:
        return "invalidTitle", "The request metadata specifies an invalid or empty video title."
    status = metadata.get("status", {})
    if "publishAt" in status and status.get("privacyStatus") != "private":
        return "invalidPublishAt", "publishAt can only be set on a private video."
    return None


def _chunk_problem(upload: FakeUpload, match: re.Match[str] | None, length: int) -> str | None:
    if match is None:
        return "Content-Range must be 'bytes first-last/total' or 'bytes */total'."
    start, end, total = (int(group) for group in match.groups())
    if total != upload.total:
        return f"The upload was announced as {upload.total} bytes, not {total}."
    if start > len(upload.data):
        return f"The chunk starts at {start} but only {len(upload.data)} bytes are stored."
    if end - start + 1 != length or end >= total:
        return "Content-Range does not match the body."
    if end + 1 < total and length % CHUNK_ALIGNMENT:
        return "Every chunk but the last must be a multiple of 256 KiB."
    return None


def _select_parts(video: dict[str, Any], parts: list[str]) -> dict[str, Any]:
    return {key: value for key, value in video.items() if key in ("kind", "etag", "id") or key in parts}


def main(argv: list[str] | None = None) -> None:
    def describe(fake):
        yield f"Fake YouTube listening on {fake.base_url} (Ctrl-C to stop)"
        for name, value in fake.client_settings().items():
            yield f"  {name} = {value}"

    FakeYouTube.run_demo(argv, description="Run the fake YouTube API for manual demos.", port=8765, describe=describe)


FakeYouTube.handler_class = _Handler


if __name__ == "__main__":
    main()
