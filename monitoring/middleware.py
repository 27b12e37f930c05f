"""Maintenance mode at the door: while a restore runs, nothing but health checks and static files gets in.

Runs right after the request id, before sessions or anything else that reads the database being
replaced. Browsers get the maintenance page, the API a 503 envelope; both carry Retry-After.
"""

from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from lofisite.errors import envelope

from .backups import maintenance

_OPEN_PREFIXES = ("/health/", "/static/", "/metrics")


class MaintenanceModeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(_OPEN_PREFIXES) or not maintenance.active():
            return self.get_response(request)
        state = maintenance.status() or {}
        retry_after = maintenance.retry_after_seconds()
        message = f"The site is in maintenance ({state.get('reason', 'maintenance')}). Try again shortly."
        if request.path.startswith("/api/"):
            response = JsonResponse(envelope("MAINTENANCE", message, 503, {"retry_after_seconds": retry_after},
                                             request_id=getattr(request, "id", None)), status=503)
        else:
            html = render_to_string("maintenance.html", {"reason": state.get("reason"), "since": state.get("since"),
                                                         "request_id": getattr(request, "id", "-")})
            response = HttpResponse(html, status=503)
        response["Retry-After"] = str(retry_after)
        response["Cache-Control"] = "no-store"
        return response
