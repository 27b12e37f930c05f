"""The one HTTP client for Vinted's JSON endpoints (the web app's own): an account's cookies
and user agent, the headers the web app sends (vinted.site.api_headers), the `vinted` circuit
breaker, a timeout, and the risk ledger (vinted.ledger.guard) on every call.

Redirects are not followed: Vinted's API redirects only to its login page (the session
expired), and following one would send the cookies on to wherever it points.

Secrets: the cookies travel in the Cookie header only. Nothing here logs a header; httpx logs the
method, URL and status at INFO and httpcore no header values at DEBUG (tests check both with
caplog), and a transport error is reported by its kind, never its text (h11 quotes a bad
header's value in its message).
"""

import json

import httpx
from django.conf import settings

from monitoring.breakers import breaker

from . import site
from .choices import CallKind, CallOutcome
from .ledger import BREAKER, VintedUnavailable, guard


def _transport_error(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"Vinted did not answer within {settings.VINTED_HTTP_TIMEOUT:g} s."
    if isinstance(exc, httpx.ConnectError):
        return "Could not connect to Vinted."
    return f"The connection to Vinted failed ({type(exc).__name__})."


class VintedClient:
    def __init__(self, account, *, csrf_token: str = ""):
        self.account = account
        self.csrf_token = csrf_token  # the web app's X-Csrf-Token, when the caller read one from a page

    def cookies(self) -> dict:
        try:
            cookies = json.loads(self.account.cookies) if self.account.cookies else {}
        except ValueError:
            return {}
        return cookies if isinstance(cookies, dict) else {}

    def headers(self) -> dict:
        cookies = self.cookies()
        headers = site.api_headers(domain=self.account.domain, cookies=cookies,
                                   user_agent=str(self.account.user_agent or ""), csrf_token=self.csrf_token)
        if cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        return headers

    def request(self, method: str, path: str, *, action: str, kind: str = CallKind.READ,
                expect_json: bool = False, **kwargs) -> httpx.Response:
        """One call; returns a 2xx response or raises what Vinted's answer means (vinted.ledger)."""
        url = site.base_url(self.account.domain) + path
        guard_breaker = breaker(BREAKER, counts_as_failure=lambda exc: isinstance(exc, VintedUnavailable))
        with guard(self.account, kind=kind, action=action, what=f"{method} {path}") as call:
            def send():
                try:
                    response = httpx.request(method, url, headers=self.headers(), follow_redirects=False,
                                             timeout=settings.VINTED_HTTP_TIMEOUT, **kwargs)
                except httpx.HTTPError as exc:
                    raise VintedUnavailable(_transport_error(exc)) from None
                location = response.headers.get("location", "")
                call.answer(response.status_code, response.headers, response.text, location or str(response.url))
                if expect_json:
                    try:
                        response.json()
                    except ValueError:
                        call.outcome = CallOutcome.ERROR
                        call.message = "Vinted answered a page instead of the expected JSON."
                        raise VintedUnavailable(call.message) from None
                return response

            return guard_breaker.call(send)

    def load_csrf_token(self) -> str:
        """Read the web app's CSRF token from its home page (one read in the ledger) and send it as
        X-Csrf-Token from now on; "" if the page has none. For callers whose writes Vinted refuses
        without it."""
        page = self.request("GET", site.HOME_PATH, action="csrf-token")
        self.csrf_token = site.csrf_token(page.text)
        return self.csrf_token

    def get_json(self, path: str, *, action: str, params: dict | None = None) -> dict:
        return self.request("GET", path, action=action, params=params, expect_json=True).json()

    def post_json(self, path: str, payload: dict, *, action: str) -> dict:
        return self.request("POST", path, action=action, kind=CallKind.WRITE, json=payload, expect_json=True).json()
