"""drf-spectacular postprocessing: the one error envelope, documented on every operation.

Each operation's responses gain the error statuses it can answer, all with the
schema `ErrorEnvelope` (lofisite.errors.envelope):

- every operation: 401 (no or a bad token), 403 (role, scope, legal terms not
  accepted), 406 (an `Accept` the API cannot produce), 429 (throttled);
- with a path parameter: 404;
- with query parameters or a request body: 400 (field messages in
  `details.fields`);
- with a request body: 413 (over the body limit) and 415 (a content type the
  operation does not parse).

A method an operation does not list answers 405 with the same envelope (and an
`Allow` header); it is not an operation, so it is not in the schema.

Request bodies are documented as JSON, plus `multipart/form-data` where a
file is uploaded (runs with clips, tracks). DRF's form parsers still accept
form posts elsewhere, but a form cannot say `null` or an empty list, so they
are not the documented way in.

Filter parameters also accept an empty value, which means "no filter" (the
HTML filter forms send `?status=&preset=`); the schema says so. Free-text
input (request properties and query parameters) refuses the NUL character, as
DRF's and Django's fields do, and a text that may not be blank needs a
character other than white space (DRF trims first): the schema says so with a
`pattern`.
"""

from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from drf_spectacular.views import SpectacularAPIView
from rest_framework.renderers import JSONRenderer

ERROR_SCHEMA = "ErrorEnvelope"
ERROR_CODES = {
    400: ("Bad input: VALIDATION_ERROR (per field in details.fields), PARSE_ERROR, TOO_MANY_FIELDS, "
          "TOO_MANY_FILES."),
    401: "NOT_AUTHENTICATED, TOKEN_EXPIRED, INVALID_TOKEN or INVALID_CREDENTIALS.",
    403: "PERMISSION_DENIED (role, token scope, not yours) or LEGAL_ACCEPTANCE_REQUIRED.",
    404: "NOT_FOUND.",
    406: "NOT_ACCEPTABLE: the Accept header asks for a type other than JSON.",
    413: "REQUEST_TOO_LARGE: the body is over this endpoint's limit.",
    415: "UNSUPPORTED_MEDIA_TYPE.",
    429: "RATE_LIMIT_EXCEEDED; Retry-After and details.retry_after_seconds say when to try again.",
}
PAGINATION_PARAMETERS = {"limit", "offset"}
NO_NUL = "^[^\\x00]*$"
# DRF trims text before it checks "may not be blank": a required text needs one visible character.
NOT_BLANK = "^[^\\x00]*[^\\x00\\s][^\\x00]*$"
ENVELOPE = {
    "type": "object",
    "description": "Every API error.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Stable machine-readable code, e.g. NOT_FOUND."},
                "message": {"type": "string"},
                "status": {"type": "integer", "description": "The HTTP status again."},
                "details": {"type": "object", "additionalProperties": True,
                            "description": "e.g. {\"fields\": {\"name\": [\"This field is required.\"]}}."},
            },
            "required": ["code", "message", "status", "details"],
        },
        "request_id": {"type": "string", "description": "Also in the X-Request-ID header; quote it in reports."},
    },
    "required": ["error", "request_id"],
}


def _error_statuses(path, operation):
    statuses = {401, 403, 406, 429}
    parameters = operation.get("parameters", [])
    if "{" in path:
        statuses.add(404)
    if any(p.get("in") == "query" for p in parameters) or "requestBody" in operation:
        statuses.add(400)
    if "requestBody" in operation:
        statuses |= {413, 415}
    return statuses


def _no_nul(schema):
    """A free-text string schema gets the pattern that says NUL is refused."""
    if schema.get("type") == "string" and not ({"format", "enum", "pattern", "$ref"} & set(schema)):
        schema["pattern"] = NOT_BLANK if schema.get("minLength", 0) >= 1 else NO_NUL
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            _no_nul(schema[key])
    for nested in schema.get("properties", {}).values():
        _no_nul(nested)
    for key in ("allOf", "anyOf", "oneOf"):
        for nested in schema.get(key, []):
            _no_nul(nested)


FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _has_file(schema, components):
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[1], {})
    return any(prop.get("format") == "binary" for prop in schema.get("properties", {}).values())


def _json_unless_files(operation, components):
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return
    for media_type in FORM_TYPES:
        if media_type in content and not _has_file(content[media_type]["schema"], components):
            del content[media_type]


def _allow_empty(parameter):
    """A filter parameter: an empty value means "no filter"."""
    schema = parameter.get("schema")
    if schema is None or parameter["name"] in PAGINATION_PARAMETERS or schema.get("type") == "array":
        return
    parameter["schema"] = {"anyOf": [schema, {"type": "string", "enum": [""]}]}
    note = "An empty value means no filter."
    parameter["description"] = f"{parameter['description']} {note}" if parameter.get("description") else note


def add_error_responses(result, generator, request, public):
    """SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]: the envelope on every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_SCHEMA] = ENVELOPE
    reference = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
    for name, schema in result["components"]["schemas"].items():
        if name.endswith("Request"):  # COMPONENT_SPLIT_REQUEST: the write side of each component
            _no_nul(schema)
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            _json_unless_files(operation, result["components"]["schemas"])
            responses = operation.setdefault("responses", {})
            for status in sorted(_error_statuses(path, operation)):
                documented = responses.get(str(status), {})
                responses[str(status)] = {
                    "description": documented.get("description") or ERROR_CODES[status],
                    "content": {"application/json": {"schema": reference}},
                }
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    _no_nul(parameter.get("schema", {}))
                    _allow_empty(parameter)
    return result


class SchemaView(SpectacularAPIView):
    """/api/schema/ (JSON by default, YAML on request); its errors are the JSON envelope,
    sent as application/json like every other API error."""

    renderer_classes = [OpenApiJsonRenderer, OpenApiYamlRenderer]

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response
