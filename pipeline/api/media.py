"""Files of videos and tracks for API clients: the same seekable responses as the pages
(`lofisite.media`), behind the bearer token (JWT or personal API token) like every API call.

The pages' media view (/pipeline/media/...) signs in with the session cookie, so it answers
an API client with a redirect to the login page; these endpoints answer it with the file:

- 200 with the whole file, or 206 Partial Content for one `Range: bytes=a-b` (seeking,
  resuming a download), 304 for an `If-None-Match` that still matches, and the error
  envelope for 404 (the file is not made yet, or missing) and 416 (a range outside the file);
- `Content-Type` from the file's suffix, `Content-Disposition: attachment` with an ASCII
  file name made of the run and the title (`curl -OJ` saves it under that name).

The client's `Accept` header does not choose the answer here (a file is sent as what it
is; errors are JSON), so an `Accept: video/mp4` is not a 406.
"""

from pathlib import Path

from django.http import Http404
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from lofisite.downloads import ErrorEnvelope, FileNegotiation  # noqa: F401  (views import them from here)
from lofisite.errors import envelope
from lofisite.media import content_type_for, serve_media_file

# What each kind of file of a video is (the stages write these names).
VIDEO_MEDIA_TYPES = {
    "audio": content_type_for(Path("audio.m4a")),
    "video": content_type_for(Path("video.mp4")),
    "cover": content_type_for(Path("cover.png")),
    "thumbnail": content_type_for(Path("thumbnail.jpg")),
}
MEDIA_KINDS = tuple(VIDEO_MEDIA_TYPES)
# Library tracks keep the type they were uploaded as (services.add_track accepts these).
TRACK_MEDIA_TYPES = sorted({content_type_for(Path(f"track{suffix}"))
                            for suffix in (".mp3", ".wav", ".flac", ".ogg", ".m4a", ".aac", ".opus")})
TITLE_IN_NAME = 60


def download_name(prefix: str, title: str, kind: str = "") -> str:
    """A file name without a suffix, safe on every file system: ASCII letters, digits and dashes."""
    parts = [prefix, slugify(title)[:TITLE_IN_NAME].strip("-"), kind]
    return "-".join(part for part in parts if part)


def file_response(request, field_file, name: str):
    """The file as a seekable download, or the API envelope for a range outside it (416)."""
    try:
        response = serve_media_file(request, field_file, name, as_attachment=True)
    except Http404 as exc:  # say which: not made yet, or gone from the disk
        raise NotFound(str(exc)) from exc
    if response.status_code == status.HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE:
        size = int(response["Content-Range"].rsplit("/", 1)[1])
        return Response(envelope("RANGE_NOT_SATISFIABLE", f"The range lies outside the file ({size} bytes).",
                                 status.HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE, {"size": size}),
                        status=status.HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE,
                        headers={"Content-Range": response["Content-Range"], "Accept-Ranges": "bytes"})
    return response


# --- OpenAPI ---------------------------------------------------------------------------------
RANGE_PARAMETERS = [
    OpenApiParameter(
        "Range", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
        description="One byte range, e.g. `bytes=0-1023`, `bytes=1024-` or `bytes=-500` (the last 500 bytes): "
                    "answered with 206. A header that is not one valid range is ignored (200, whole file)."),
    OpenApiParameter(
        "If-Range", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
        description="An ETag or Last-Modified value: the range is sent only if the file is still that one, "
                    "else the whole file."),
]


def file_responses(media_types, what: str) -> dict:
    """The answers of a download endpoint, for extend_schema(responses=...)."""
    responses = {}
    for media_type in media_types:
        responses[(200, media_type)] = OpenApiResponse(
            OpenApiTypes.BINARY,
            description=f"The whole {what}. Headers: Content-Type, Content-Length, Content-Disposition "
                        "(attachment; filename=...), Accept-Ranges: bytes, ETag, Last-Modified.")
        responses[(206, media_type)] = OpenApiResponse(
            OpenApiTypes.BINARY,
            description="The requested byte range; Content-Range: bytes first-last/size.")
    responses[304] = OpenApiResponse(description="Not modified: If-None-Match names the current ETag.")
    responses[404] = OpenApiResponse(ErrorEnvelope, description="NOT_FOUND: no such object, or its file is not "
                                                                "made yet or missing.")
    responses[416] = OpenApiResponse(ErrorEnvelope, description="RANGE_NOT_SATISFIABLE: the range starts after the "
                                                                "end of the file; Content-Range: bytes */size.")
    return responses
