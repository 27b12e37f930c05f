"""APPEND_SLASH for the API without losing request bodies.

Django's CommonMiddleware answers a request for `/api/v1/pipeline/runs` (no trailing
slash) with a 301 to `/api/v1/pipeline/runs/`. For GET and HEAD that is harmless;
a client following it for a POST, PUT, PATCH or DELETE re-sends it as a GET (or
Django refuses it in DEBUG), so the body is lost. For those methods under `/api/`
there is no redirect: the answer is the 404 envelope, whose message names the
address with the slash (lofisite.errors.page_not_found).
"""

from django.middleware.common import CommonMiddleware

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class CommonMiddleware(CommonMiddleware):
    def should_redirect_with_slash(self, request):
        if request.path_info.startswith("/api/") and request.method not in SAFE_METHODS:
            return False
        return super().should_redirect_with_slash(request)
