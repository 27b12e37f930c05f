"""A local stand-in for Vinted's web app: the shapes ../shared/VINTED.md describes, served over
HTTP to our JSON client (vinted.http) and to Chromium (vinted.browser).

    with FakeVinted() as fake:
        cookies = fake.add_session()            # a valid session: {"access_token_web": ..., ...}
        settings.VINTED_BASE_URL = fake.base_url
        fake.fail_next("captcha")               # switchable failure modes, see FAILURE_MODES

Routes live in small tables, one per part of the site (ROUTES below, and the tables in
tests/fakes/vinted_pages.py for the new-item form, tests/fakes/vinted_inbox.py for the inbox and
tests/fakes/vinted_items.py for items),
each `(method, path regex, handler(fake, request, match) -> Response)`.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._server import FakeHTTPServer, FakeService

# Failure modes fail_next() accepts (what each answers is in _failure_response()):
#   "captcha"      200 page with a captcha iframe (DataDome's challenge)
#   "datadome"     403 with DataDome's block page
#   "cloudflare"   403 Cloudflare "Access denied | Error 1020"
#   "expired"      401 {"code": 100, "message_code": "invalid_authentication_token"}
#   "challenge"    200 page "Vérification de sécurité" (a bot check without an iframe)
#   "forbidden"    403 JSON without any block page (an IP ban looks so)
#   "login_redirect" 302 to the login page (a web page asked for without a session)
#   "rate_limit"   429 with Retry-After: `retry_after` seconds, or an HTTP date when `retry_date` is set
#   "server_error" 503
#   "disconnect"   the connection closes without an answer
#   "slow"         the normal answer, after `seconds`
#   "drop_field"   (the new-item form) silently drops the field named `field` when filled
FAILURE_MODES = ("captcha", "datadome", "cloudflare", "expired", "challenge", "forbidden", "login_redirect",
                 "rate_limit", "server_error", "disconnect", "slow", "drop_field")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    cookies: dict[str, str]
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: bytes | str | dict | list = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if isinstance(self.body, (dict, list)):
            return json.dumps(self.body).encode()
        return self.body.encode() if isinstance(self.body, str) else self.body


def html(body: str, status: int = 200, headers: dict | None = None) -> Response:
    return Response(status, body, "text/html; charset=utf-8", headers or {})


@dataclass
class Failure:
    mode: str
    paths: str | None = None  # a regex: only requests to matching paths fail (None: any)
    retry_after: float = 2.0
    retry_date: str = ""  # an HTTP date for Retry-After instead of seconds
    seconds: float = 5.0
    field: str = ""


class FakeVinted(FakeService):
    thread_name = "FakeVinted"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.lock = threading.RLock()
        self.sessions: dict[str, dict] = {}  # access token -> {"id": ..., "login": ...}
        self.requests: list[Request] = []
        self._failures: deque[Failure] = deque()
        self._released = threading.Event()
        self.ids = itertools.count(9_100_000_001)
        self.state: dict[str, Any] = {}  # each part of the site keeps its own state under a key

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self):
        self._released.clear()
        return super().start()

    def before_stop(self) -> None:
        self._released.set()

    # -- sessions ------------------------------------------------------------------------------

    def add_session(self, *, user_id: int = 4242, login: str = "fake-seller") -> dict[str, str]:
        """A valid session; returns its cookies (what a seller would paste)."""
        token = f"fake-access-{next(self.ids)}"
        with self.lock:
            self.sessions[token] = {"id": user_id, "login": login}
        return {"access_token_web": token, "refresh_token_web": f"fake-refresh-{token}",
                "anon_id": f"anon-{token}", "v_uid": str(user_id)}

    def expire_session(self, token: str) -> None:
        with self.lock:
            self.sessions.pop(token, None)

    def user_for(self, request: Request) -> dict | None:
        with self.lock:
            return self.sessions.get(request.cookies.get("access_token_web", ""))

    # -- failure modes -------------------------------------------------------------------------

    def fail_next(self, mode: str, count: int = 1, *, paths: str | None = None, **options) -> None:
        """The next `count` requests (to `paths`, a regex, if given) answer with failure `mode`."""
        if mode not in FAILURE_MODES:
            raise ValueError(f"unknown failure mode {mode!r}")
        with self.lock:
            self._failures.extend([Failure(mode, paths, **options)] * count)

    def take_failure(self, path: str, *, modes: tuple[str, ...] | None = None) -> Failure | None:
        with self.lock:
            for index, failure in enumerate(self._failures):
                if (failure.paths is None or re.search(failure.paths, path)) and (
                        modes is None or failure.mode in modes):
                    del self._failures[index]
                    return failure
        return None

    def clear_failures(self) -> None:
        with self.lock:
            self._failures.clear()

    # -- inspection ----------------------------------------------------------------------------

    def requests_to(self, path_regex: str, method: str | None = None) -> list[Request]:
        return [r for r in self.requests if re.search(path_regex, r.path) and (method is None or r.method == method)]


# ============================================================================================
# Answers of the failure modes
# ============================================================================================

def _failure_response(fake: FakeVinted, failure: Failure) -> Response | None:
    if failure.mode == "slow":
        fake._released.wait(failure.seconds)
        return None  # then the normal answer
    if failure.mode == "captcha":
        return html('<html><body><h1>Verify you are human</h1>'
                    '<iframe src="https://geo.captcha-delivery.com/captcha/?initialCid=fake"></iframe></body></html>')
    if failure.mode == "datadome":
        return html('<html><body><p>Please enable JS and disable any ad blocker</p>'
                    '<script src="https://ct.captcha-delivery.com/c.js"></script>'
                    '<!-- datadome --></body></html>', 403, {"X-DataDome": "protected"})
    if failure.mode == "cloudflare":
        return html('<html><head><title>Access denied | www.vinted.fr used Cloudflare to restrict access</title>'
                    '</head><body><h1>Error 1020</h1><p>Access denied</p></body></html>', 403,
                    {"Server": "cloudflare", "CF-RAY": "fake-ray"})
    if failure.mode == "expired":
        return Response(401, {"code": 100, "message_code": "invalid_authentication_token",
                              "message": "Authentication token is invalid"})
    if failure.mode == "challenge":
        return html('<html><head><title>Vérification de sécurité</title></head><body>'
                    '<h1>Vérification</h1><p>Nous vérifions que vous n\'êtes pas un robot.</p></body></html>')
    if failure.mode == "forbidden":
        return Response(403, {"code": 403, "message": "Forbidden"})
    if failure.mode == "login_redirect":
        return Response(302, b"", "text/html", {"Location": f"{LOGIN_PATH}?ref_url=%2F"})
    if failure.mode == "rate_limit":
        return Response(429, {"code": 106, "message": "Too many requests"},
                        headers={"Retry-After": failure.retry_date or f"{failure.retry_after:g}"})
    if failure.mode == "server_error":
        return html("<html><body>Service unavailable</body></html>", 503)
    return None  # drop_field is the form's own business


LOGIN_PATH = "/member/login"


def unauthenticated() -> Response:
    return Response(401, {"code": 100, "message_code": "invalid_authentication_token",
                          "message": "Authentication token is invalid"})


# ============================================================================================
# Session check (vinted.site.SESSION_CHECK_PATH)
# ============================================================================================

def _current_user(fake: FakeVinted, request: Request, match: re.Match) -> Response:
    user = fake.user_for(request)
    if user is None:
        return unauthenticated()
    return Response(200, {"user": {"id": user["id"], "login": user["login"]}, "code": 0})


def _refresh_token(fake: FakeVinted, request: Request, match: re.Match) -> Response:
    """POST /web/api/auth/refresh: the refresh token of a live session answers OK (tokens unchanged)."""
    refresh = request.cookies.get("refresh_token_web", "")
    with fake.lock:
        live = any(refresh == f"fake-refresh-{token}" for token in fake.sessions)
    return Response(200, {"code": 0}) if live else unauthenticated()


def _home(fake: FakeVinted, request: Request, match: re.Match) -> Response:
    """An ordinary page: DataDome's tag and a captcha word in a script name, the CSRF token; no challenge."""
    return html('<html><head><title>Vinted | Vends et achète des vêtements</title>'
                '<script src="https://ct.captcha-delivery.com/c.js"></script>'
                '<script src="/assets/recaptcha-free-checkout.js"></script></head><body>'
                '<h1>Prêt à faire du tri dans tes placards ?</h1>'
                '<script type="application/json">{"CSRF_TOKEN":"75f6c9fa-dc8e-4e52-a000-e09dd4084b3e"}</script>'
                '<p>Verify your email to sell faster.</p></body></html>')


def _login_page(fake: FakeVinted, request: Request, match: re.Match) -> Response:
    return html('<html><head><title>Se connecter | Vinted</title></head><body><h1>Bienvenue</h1>'
                '<form action="/member/login" method="post"><input name="login"></form></body></html>')


ROUTES: list[tuple[str, str, Callable]] = [
    ("GET", r"^/api/v2/users/current$", _current_user),
    ("POST", r"^/web/api/auth/refresh$", _refresh_token),
    ("GET", r"^/$", _home),
    ("GET", rf"^{LOGIN_PATH}$", _login_page),
]


def all_routes() -> list[tuple[str, re.Pattern, Callable]]:
    from . import vinted_inbox, vinted_items, vinted_pages

    tables = [ROUTES, vinted_pages.ROUTES, vinted_inbox.ROUTES, vinted_items.ROUTES]
    return [(method, re.compile(pattern), handler) for table in tables for method, pattern, handler in table]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: tests assert on `fake.requests` instead."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        fake: FakeVinted = self.server.fake
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        jar = SimpleCookie()
        jar.load(self.headers.get("Cookie", ""))
        request = Request(method, parts.path, parse_qs(parts.query),
                          {k.lower(): v for k, v in self.headers.items()},
                          {name: morsel.value for name, morsel in jar.items()}, body)
        with fake.lock:
            fake.requests.append(request)
        response = None
        failure = fake.take_failure(parts.path, modes=tuple(m for m in FAILURE_MODES if m != "drop_field"))
        if failure is not None and failure.mode == "disconnect":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if failure is not None:
            response = _failure_response(fake, failure)
        if response is None:
            response = self._route(fake, method, request)
        payload = response.encoded()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(payload)

    def _route(self, fake: FakeVinted, method: str, request: Request) -> Response:
        for route_method, pattern, handler in all_routes():
            match = pattern.match(request.path)
            if match and route_method == method:
                return handler(fake, request, match)
        return Response(404, {"code": 404, "message": "Not found"})


FakeVinted.handler_class = _Handler


def main(argv: list[str] | None = None) -> None:
    def describe(fake):
        cookies = fake.add_session()
        cookie_header = "; ".join(f"{k}={v}" for k, v in cookies.items())
        return [f"Fake Vinted on {fake.base_url}; set VINTED_BASE_URL={fake.base_url}",
                f"A session to import (Cookie header): {cookie_header}", "(Ctrl-C to stop)"]

    FakeVinted.run_demo(argv, description="Run the fake Vinted site for manual demos.", port=8767, describe=describe)


if __name__ == "__main__":
    main()
