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

from django.utils.text import slugify

from lofisite.api_files import (  # noqa: F401  (re-exported: the pipeline's API imports them from here)
    RANGE_PARAMETERS,
    ErrorEnvelope,
    FileNegotiation,
    file_response,
    file_responses,
)
from lofisite.media import content_type_for

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
