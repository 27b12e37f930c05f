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


# --- request bodies: refused from their size and the user's permission before they are read ---------------
BODY_METHODS = ("POST", "PUT", "PATCH")
_MB = 1024 * 1024
_READ_CHUNK = 64 * 1024


class RequestBodyTooLarge(Exception):
    """A chunked body that went past its limit while it streamed in."""

    def __init__(self, limit: int):
        self.limit = limit


def body_limit_for(view_name: str | None) -> tuple[int, str | None]:
    """(most bytes a body may have, label of the model an upload there adds) for a URL name.

    Upload endpoints are listed in settings.UPLOAD_ENDPOINTS as
    `url name: (setting holding the per-file limit in MB, files per request, "app.Model")`;
    their body may carry that many files plus DATA_UPLOAD_MAX_MEMORY_SIZE of other
    fields and framing. Every other URL gets REQUEST_DEFAULT_BODY_MB. Nothing exceeds
    REQUEST_MAX_BODY_MB.
    """
    from django.conf import settings

    cap = settings.REQUEST_MAX_BODY_MB * _MB
    entry = settings.UPLOAD_ENDPOINTS.get(view_name or "")
    if entry is None:
        return min(cap, settings.REQUEST_DEFAULT_BODY_MB * _MB), None
    setting_name, files, model_label = entry
    per_file = getattr(settings, setting_name) * _MB
    return min(cap, files * per_file + settings.DATA_UPLOAD_MAX_MEMORY_SIZE), model_label


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _too_large(request, limit: int, size: int | None):
    from django.http import JsonResponse
    from django.shortcuts import render

    from .errors import envelope

    limit_mb = f"{limit / _MB:.0f}"
    said = f"The request body is {size / _MB:.0f} MB; " if size is not None else "The request body is too large; "
    message = f"{said}this address accepts at most {limit_mb} MB."
    if _is_api(request):
        response = JsonResponse(envelope("PAYLOAD_TOO_LARGE", message, 413, {"limit_bytes": limit},
                                         request_id=getattr(request, "id", None)), status=413)
    else:
        response = render(request, "errors/413.html", {"request_id": getattr(request, "id", "-"), "status": 413,
                                                       "message": message}, status=413)
    # Answered before CommonMiddleware would add it: the client can read the answer without
    # waiting for the connection to close (which a server draining the unread body delays).
    response["Content-Length"] = str(len(response.content))
    return response


def _spool(stream, limit: int):
    """Read a chunked body (no Content-Length) into a spooled temp file, cut past `limit` bytes.

    The temp file has no name on disk (it is unlinked as it is made) and goes with its last
    reference, so a body cut short leaves nothing behind.
    """
    import tempfile

    from django.conf import settings

    spooled = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE,
                                            dir=settings.FILE_UPLOAD_TEMP_DIR)
    size = 0
    try:
        while chunk := stream.read(_READ_CHUNK):
            size += len(chunk)
            if size > limit:
                raise RequestBodyTooLarge(limit)
            spooled.write(chunk)
    except BaseException:
        spooled.close()
        raise
    spooled.seek(0)
    return spooled, size


class RequestBodyLimitMiddleware:
    """413 for a body over its endpoint's limit, and no upload read before permission is checked.

    - Every request: a `Content-Length` over REQUEST_MAX_BODY_MB is refused at once, before
      the URL is even resolved (an invalid one is a 400).
    - Once the URL is known (process_view, which runs before CSRF's, the first reader of a
      form body): a `Content-Length` over that endpoint's limit (`body_limit_for`) is a 413;
      on an upload endpoint a signed-out browser is sent to sign in, and a signed-in user
      whose role may not add what is uploaded gets a 403, all without reading the body.
      API clients with a bearer token are authenticated by DRF, whose permission check also
      comes before the body is parsed.
    - A chunked body (no Content-Length; gunicorn marks it `wsgi.input_terminated`) is
      counted while it streams into a spooled temp file and cut at the limit (413); under
      the limit it is handed on with its counted length, as if it had been declared.

    The API answers in the error envelope, pages with the friendly error page. The reverse
    proxy should refuse at the same sizes (`client_max_body_size`, README).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        length = request.META.get("CONTENT_LENGTH") or ""
        if length:
            try:
                size = int(length)
                if size < 0:
                    raise ValueError
            except ValueError:
                from .errors import bad_request

                return bad_request(request)
            cap = settings.REQUEST_MAX_BODY_MB * _MB
            if size > cap:
                return _too_large(request, cap, size)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method not in BODY_METHODS:
            return None
        limit, model_label = body_limit_for(request.resolver_match.view_name)
        length = request.META.get("CONTENT_LENGTH") or ""
        if length and int(length) > limit:
            return _too_large(request, limit, int(length))
        if model_label and (refused := self._refuse_upload(request, model_label)):
            return refused
        if not length and request.environ.get("wsgi.input_terminated"):
            return self._spool_chunked(request, limit)
        return None

    @staticmethod
    def _refuse_upload(request, model_label):
        from django.apps import apps
        from django.contrib.auth.views import redirect_to_login

        from .errors import permission_denied

        user = request.user
        if not user.is_authenticated:
            # A bearer-token API client is known only inside DRF, which checks it before parsing.
            return None if _is_api(request) else redirect_to_login(request.get_full_path())
        if not apps.get_model(model_label)._default_manager.can_add(user):
            return permission_denied(request)
        return None

    @staticmethod
    def _spool_chunked(request, limit):
        from django.core.handlers.wsgi import LimitedStream

        try:
            spooled, size = _spool(request.environ["wsgi.input"], limit)
        except RequestBodyTooLarge:
            return _too_large(request, limit, None)
        request.META["CONTENT_LENGTH"] = str(size)
        request._stream = LimitedStream(spooled, size)
        request._read_started = False
        return None


class PrivateCacheMiddleware:
    """`Cache-Control: private, no-store` on every API answer and every page for a signed-in user.

    What a signed-in user sees (and every API answer, which is per client) must not be
    kept by a shared cache or left in the browser's cache for the next person at the
    machine. A view that set its own Cache-Control keeps it, made private. Public pages
    (signed out: the legal documents) and static files stay cacheable.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.utils.cache import patch_cache_control

        response = self.get_response(request)
        user = getattr(request, "user", None)
        if _is_api(request) or (user is not None and user.is_authenticated):
            if response.has_header("Cache-Control"):
                patch_cache_control(response, private=True)
            else:
                patch_cache_control(response, private=True, no_store=True)
        return response
