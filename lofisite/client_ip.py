"""The one client-IP rule: API throttles, sign-in lockouts (django-axes) and sign-in records use it.

`PROXY_COUNT` is the number of reverse proxies in front of gunicorn, each of which
appends the address it received the request from to `X-Forwarded-For` (nginx's
`proxy_add_x_forwarded_for`, Caddy and Traefik by default):

- `PROXY_COUNT=0` (no proxy): the socket peer, `REMOTE_ADDR`. `X-Forwarded-For` is
  ignored, since anyone can send it.
- `PROXY_COUNT=N`: the N-th address from the right of `X-Forwarded-For`. The right-most
  N entries were written by our own proxies; whatever a client put to their left is not
  trusted. A shorter header than N entries (a request that bypassed a proxy) or an entry
  that is not an IP address gives `REMOTE_ADDR`.

django-ipware's `proxy_count` counts proxies inside the header instead (one nginx in
front gives `None`), so the rule is written out here with the standard library.
"""

import ipaddress

from django.conf import settings
from prometheus_client import Counter
from rest_framework import throttling

# Requests an API throttle refused (each becomes a 429); the RateLimitHits alert reads it.
THROTTLED = Counter("lofisite_http_throttled", "API requests refused by a rate-limit throttle (429).", ["scope"])


def _ip(text: str) -> str | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 203.0.113.9:51234
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The address of the client that sent `request` (a Django or DRF request), per PROXY_COUNT."""
    meta = request.META
    peer = _ip(meta.get("REMOTE_ADDR", "") or "")
    proxies = settings.PROXY_COUNT
    if proxies <= 0:
        return peer
    forwarded = [part for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        return peer
    return _ip(forwarded[-proxies]) or peer


class ClientIPThrottleMixin:
    """DRF throttles identify anonymous clients by `client_ip()`, not DRF's own NUM_PROXIES rule."""

    def get_ident(self, request):
        return client_ip(request) or "unknown"

    def allow_request(self, request, view):
        allowed = super().allow_request(request, view)
        if not allowed:
            THROTTLED.labels(scope=getattr(self, "scope", None) or type(self).__name__).inc()
        return allowed


class AnonRateThrottle(ClientIPThrottleMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(ClientIPThrottleMixin, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(ClientIPThrottleMixin, throttling.ScopedRateThrottle):
    pass
