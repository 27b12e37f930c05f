"""What every API endpoint that answers with a file shares: content negotiation that lets
any `Accept` through (a file is sent as what it is; errors are JSON), and the error
envelope as an OpenAPI component for its documented error answers."""

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation


class FileNegotiation(BaseContentNegotiation):
    """The first renderer (JSON, for errors) whatever the client accepts: a file is sent as
    what it is, so `Accept: video/mp4` (or `audio/*`) must not answer 406."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


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
