"""Serve a media file with HTTP Range support, so <audio> and <video> can seek.

Django's FileResponse always sends the whole file. `ranged_file_response`
answers a single byte range (RFC 9110 section 14) with 206 Partial Content,
an unsatisfiable range with 416, and everything else (no Range header, a
multi-range request, a syntactically invalid header, or an If-Range that no
longer matches) with the whole file and 200, as the RFC allows. The view that
calls it decides who may read the file.
"""

import mimetypes
import os
import re
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotModified, StreamingHttpResponse
from django.utils.http import content_disposition_header, http_date, quote_etag

CHUNK_SIZE = 64 * 1024
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")

CONTENT_TYPES = {
    ".m4a": "audio/mp4",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".aac": "audio/aac",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}


class RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str, size: int):
    """(start, end) inclusive for a single satisfiable range; None to send the whole file.

    Raises RangeNotSatisfiable when the range is valid but lies outside the file.
    """
    match = _RANGE_RE.match(header.strip().replace(" ", ""))
    if not match:
        return None  # missing, multi-range or malformed: ignore it and send everything
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # suffix range: the last N bytes
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable()
        return max(size - length, 0), size - 1
    start = int(first)
    if last and int(last) < start:
        return None  # invalid per RFC 9110: ignore the header
    if start >= size:
        raise RangeNotSatisfiable()
    end = int(last) if last else size - 1
    return start, min(end, size - 1)


def _etag(stat) -> str:
    return quote_etag(f"{stat.st_mtime_ns:x}-{stat.st_size:x}")


def _iter_range(path: Path, start: int, length: int):
    with open(path, "rb") as handle:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk


def content_type_for(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def ranged_file_response(request, path: Path, *, filename: str | None = None,
                         as_attachment: bool = False) -> HttpResponse:
    path = Path(path)
    stat = os.stat(path)
    size = stat.st_size
    etag = _etag(stat)
    last_modified = http_date(stat.st_mtime)
    content_type = content_type_for(path)

    if request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
        response["ETag"] = etag
        return response

    byte_range = None
    range_header = request.headers.get("Range")
    if range_header and request.method in ("GET", "HEAD"):
        if_range = request.headers.get("If-Range")
        if not if_range or if_range in (etag, last_modified):
            try:
                byte_range = parse_range(range_header, size)
            except RangeNotSatisfiable:
                response = HttpResponse(status=416)
                response["Content-Range"] = f"bytes */{size}"
                response["Accept-Ranges"] = "bytes"
                return response

    if byte_range is None:
        response = FileResponse(open(path, "rb"), content_type=content_type)
    else:
        start, end = byte_range
        length = end - start + 1
        response = StreamingHttpResponse(_iter_range(path, start, length), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Last-Modified"] = last_modified
    response["Cache-Control"] = "private, max-age=0, must-revalidate"
    response["Content-Disposition"] = content_disposition_header(as_attachment, filename or path.name)
    return response


def serve_media_file(request, field_file, stem, *, as_attachment=False):
    """A stored file (a FileField value under MEDIA_ROOT) as a seekable download named `stem` + suffix
    (shown inline by a browser, or saved as that name when `as_attachment`)."""
    if not field_file:
        raise Http404("This file has not been made yet.")
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / field_file.name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise Http404("The file is missing.")
    return ranged_file_response(request, path, filename=f"{stem}{path.suffix}", as_attachment=as_attachment)
