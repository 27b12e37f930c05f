"""The first-login gate for pages: accept the current documents before anything else.

API requests are gated by `legal.api.permissions.HasAcceptedLegal` instead,
because JWT users are only known inside DRF.
"""

from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

from .services import pending_documents

_EXEMPT_PREFIXES = ("/legal/", "/accounts/logout/", "/static/", "/health/", "/metrics", "/api/", "/favicon")


class LegalAcceptanceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and not request.path.startswith(_EXEMPT_PREFIXES)
                and pending_documents(user)):
            url = reverse("legal:accept")
            return redirect(f"{url}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
