"""The one error envelope of the API, and friendly error pages for browsers.

Every API error looks like
{"error": {"code", "message", "status", "details"}, "request_id"}.
"""

import logging
import math
import os
import traceback

from django.core.exceptions import (
    NON_FIELD_ERRORS,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import Resolver404, get_urlconf, resolve
from django.utils.html import format_html
from rest_framework import exceptions, status
from rest_framework.response import Response

from .middleware import current_request_id

logger = logging.getLogger(__name__)


class APIError(exceptions.APIException):
    """An API error with a stable code; raise it from services and views."""

    def __init__(self, code, message, status_code=status.HTTP_400_BAD_REQUEST, details=None):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.details = details or {}


_CODES_BY_CLASS = [
    (exceptions.NotAuthenticated, "NOT_AUTHENTICATED"),
    (exceptions.AuthenticationFailed, "NOT_AUTHENTICATED"),
    (exceptions.PermissionDenied, "PERMISSION_DENIED"),
    (exceptions.NotFound, "NOT_FOUND"),
    (exceptions.MethodNotAllowed, "METHOD_NOT_ALLOWED"),
    (exceptions.NotAcceptable, "NOT_ACCEPTABLE"),
    (exceptions.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"),
    (exceptions.Throttled, "RATE_LIMIT_EXCEEDED"),
    (exceptions.ParseError, "PARSE_ERROR"),
    (exceptions.ValidationError, "VALIDATION_ERROR"),
]
# Codes that DRF/simplejwt put on the exception itself and that we keep.
_DETAIL_CODES = {
    "token_expired": "TOKEN_EXPIRED",
    "token_not_valid": "INVALID_TOKEN",
    "invalid_token": "INVALID_TOKEN",
    "user_not_found": "INVALID_TOKEN",
    "user_inactive": "INVALID_TOKEN",
    "no_active_account": "INVALID_CREDENTIALS",
}


def envelope(code, message, status_code, details=None, request_id=None):
    return {
        "error": {"code": code, "message": str(message), "status": status_code, "details": details or {}},
        "request_id": request_id or current_request_id(),
    }


def _code_for(exc):
    if isinstance(exc, APIError):
        return exc.error_code
    detail = getattr(exc, "detail", None)
    if isinstance(detail, dict) and "code" in detail:
        # simplejwt puts its code in the detail dict ({"detail": ..., "code": "token_expired"}).
        detail_code = str(detail["code"])
    else:
        detail_code = _first_code(exc.get_codes()) if hasattr(exc, "get_codes") else None
    if detail_code in _DETAIL_CODES:
        return _DETAIL_CODES[detail_code]
    for cls, code in _CODES_BY_CLASS:
        if isinstance(exc, cls):
            return code
    return "ERROR"


def _first_code(codes):
    if isinstance(codes, str):
        return codes
    if isinstance(codes, dict):
        for key in ("code", "detail"):
            if key in codes:
                return _first_code(codes[key])
        return None
    if isinstance(codes, list) and codes:
        return _first_code(codes[0])
    return None


def _message_and_details(exc):
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, dict):
            return "Some fields are invalid.", {"fields": detail}
        return " ".join(str(d) for d in detail) if isinstance(detail, list) else str(detail), {}
    if isinstance(exc, APIError):
        return str(exc.detail), exc.details
    detail = exc.detail
    if isinstance(detail, dict):
        return str(detail.get("detail", "Request failed.")), {}
    return str(detail), {}


def drf_validation_error(exc: DjangoValidationError) -> exceptions.ValidationError:
    """A Django ValidationError (as services raise it) as DRF's: field messages stay per field."""
    from rest_framework.fields import get_error_detail
    from rest_framework.settings import api_settings

    detail = get_error_detail(exc)
    if isinstance(detail, dict):
        detail = {api_settings.NON_FIELD_ERRORS_KEY if key == NON_FIELD_ERRORS else key: value
                  for key, value in detail.items()}
    return exceptions.ValidationError(detail)


# Django refuses these while DRF parses the body; the HTML side answers them with a 400 page.
_REQUEST_REFUSALS = [
    (RequestDataTooBig, "REQUEST_TOO_LARGE", status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
     "The request body is larger than this endpoint accepts."),
    (TooManyFieldsSent, "TOO_MANY_FIELDS", status.HTTP_400_BAD_REQUEST,
     "The request has more form fields than this endpoint accepts."),
    (TooManyFilesSent, "TOO_MANY_FILES", status.HTTP_400_BAD_REQUEST,
     "The request has more files than this endpoint accepts."),
    (SuspiciousOperation, "BAD_REQUEST", status.HTTP_400_BAD_REQUEST, "Bad request."),
]


def _raised_while_parsing(exc):
    return any(frame.f_code.co_filename.endswith(os.path.join("rest_framework", "parsers.py"))
               for frame, _ in traceback.walk_tb(exc.__traceback__))


def _refusal(exc):
    """The APIError for a body Django refused to parse, or None."""
    if isinstance(exc, RecursionError) and _raised_while_parsing(exc):
        # json.loads on [[[[...]]]]: DRF's JSONParser catches only ValueError.
        return APIError("PARSE_ERROR", "JSON parse error - the document is nested too deeply.")
    for cls, code, status_code, message in _REQUEST_REFUSALS:
        if isinstance(exc, cls):
            return APIError(code, message, status_code)
    return None


def api_exception_handler(exc, context):
    """DRF exception handler: the envelope for every error, 500s included."""
    from rest_framework.views import exception_handler  # here: DRF settings import this module

    exc = _refusal(exc) or exc
    if isinstance(exc, DjangoValidationError):  # raised by a service: bad input, a 400
        exc = drf_validation_error(exc)
    elif isinstance(exc, Http404):  # get_object_or_404 in a view
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return Response(
            envelope("INTERNAL_ERROR", "An internal error occurred.", 500),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    message, details = _message_and_details(exc)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        retry_after = max(1, math.ceil(exc.wait))  # DRF already rounds up; never say "0"
        details = {"retry_after_seconds": retry_after}
        response["Retry-After"] = str(retry_after)
    response.data = envelope(_code_for(exc), message, response.status_code, details)
    return response


# --- plain Django error handlers (urls.handler404 etc.) -----------------------------
def _wants_json(request):
    return request.path.startswith("/api/")


def _error(request, template, code, message, status_code):
    if _wants_json(request):
        return JsonResponse(envelope(code, message, status_code, request_id=getattr(request, "id", None)),
                            status=status_code)
    return render(request, template, {"request_id": getattr(request, "id", "-"), "status": status_code},
                  status=status_code)


def bad_request(request, exception=None):
    return _error(request, "errors/400.html", "BAD_REQUEST", "Bad request.", 400)


def permission_denied(request, exception=None):
    return _error(request, "errors/403.html", "PERMISSION_DENIED",
                  "You do not have permission to perform this action.", 403)


def page_not_found(request, exception=None):
    message = "Not found."
    if _wants_json(request) and not request.path_info.endswith("/"):
        try:
            resolve(request.path_info + "/", get_urlconf())
            message = f"Not found. API addresses end with a slash: {request.path}/"
        except Resolver404:
            pass
    return _error(request, "errors/404.html", "NOT_FOUND", message, 404)


def server_error(request):
    if _wants_json(request):
        return _error(request, None, "INTERNAL_ERROR", "An internal error occurred.", 500)
    # No request context: context processors may touch the database that just failed.
    request_id = getattr(request, "id", "-")
    try:
        html = render_to_string("errors/500.html", {"request_id": request_id})
    except Exception:  # the page itself failed (templates, static manifest): still no traceback
        logger.exception("The 500 page could not be rendered")
        html = format_html("<!doctype html><title>Server error</title><h1>Something went wrong</h1>"
                           "<p>The server hit an error and has logged it. Request id: <code>{}</code></p>", request_id)
    return HttpResponseServerError(html)


def csrf_failure(request, reason=""):
    return _error(request, "errors/403_csrf.html", "CSRF_FAILED",
                  "The form expired or was sent from another site. Reload the page and try again.", 403)
