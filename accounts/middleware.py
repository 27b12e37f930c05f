"""A session reaches no page before it has proved its user's second factor, and with
ADMIN_REQUIRE_2FA an admin reaches none before enrolling one.

Exempt: the enrolment and code pages themselves, signing out, the legal
pages, static files, health and metrics, and the API (API clients prove the
second factor when they obtain a JWT; see accounts.api.serializers).
"""

from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

from . import two_factor

_EXEMPT_PREFIXES = ("/accounts/2fa/", "/accounts/login/", "/accounts/logout/", "/legal/", "/static/",
                    "/health/", "/metrics", "/api/", "/favicon")


class AdminTwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith(_EXEMPT_PREFIXES):
            state = two_factor.session_state(user)
            if state != "ok":
                view = "accounts:two_factor" if state == "enrol" else "accounts:login_code"
                return redirect(_with_next(reverse(view), request))
        return self.get_response(request)


def _with_next(url, request):
    return f"{url}?{urlencode({'next': request.get_full_path()})}"
