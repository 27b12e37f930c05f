"""Request ids: every response carries X-Request-ID and every log line names it."""

import logging
import re
import uuid
from contextvars import ContextVar

_current_request_id: ContextVar[str] = ContextVar("request_id", default="-")
# A client-sent id is honoured only if it is short and plain (no log injection).
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def current_request_id() -> str:
    return _current_request_id.get()


class RequestIDMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.id = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        token = _current_request_id.set(request.id)
        try:
            response = self.get_response(request)
        finally:
            _current_request_id.reset(token)
        response["X-Request-ID"] = request.id
        return response


class RequestIDLogFilter(logging.Filter):
    def filter(self, record):
        request_id = _current_request_id.get()
        if request_id == "-":
            # django.request logs 4xx/5xx after the middleware chain has returned,
            # when the context variable is already reset; it passes the request along.
            request_id = getattr(getattr(record, "request", None), "id", None) or "-"
        record.request_id = request_id
        return True
