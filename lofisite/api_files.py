"""File downloads for API clients, shared by every app's API: the same seekable responses as the
pages (`lofisite.media`), behind the bearer token (JWT or personal API token) like every API call.

- 200 with the whole file, or 206 Partial Content for one `Range: bytes=a-b`, 304 for an
  `If-None-Match` that still matches, and the error envelope for 404 (not made yet, or missing)
  and 416 (a range outside the file);
- the client's `Accept` header does not choose the answer (a file is sent as what it is; errors
  are JSON), so `Accept: video/mp4` is not a 406 (`FileNegotiation`).
"""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response

from .errors import envelope
from .media import serve_media_file


class FileNegotiation(BaseContentNegotiation):
    """The first renderer (JSON, for errors) whatever the client accepts: a file is sent as
    what it is, so `Accept: video/mp4` (or `audio/*`) must not answer 406."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


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
# The error envelope as a component named as lofisite.openapi names it (that postprocessing
# hook, where present, puts its own definition under the same name, so the references agree).
ErrorEnvelope = inline_serializer("ErrorEnvelope", fields={
    "error": inline_serializer("ErrorEnvelopeError", fields={
        "code": serializers.CharField(help_text="Stable machine-readable code, e.g. NOT_FOUND."),
        "message": serializers.CharField(),
        "status": serializers.IntegerField(help_text="The HTTP status again."),
        "details": serializers.DictField(),
    }),
    "request_id": serializers.CharField(help_text="Also in the X-Request-ID header."),
})

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
