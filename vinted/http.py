"""The one HTTP client for Vinted's JSON endpoints (the web app's own): an account's cookies
and user agent, the `vinted` circuit breaker, a timeout, and the risk ledger on every call."""

import json

import httpx
from django.conf import settings

from monitoring.breakers import breaker

from . import site
from .choices import CallKind
from .ledger import VintedUnavailable, guard


class VintedClient:
    def __init__(self, account):
        self.account = account

    def cookies(self) -> dict:
        return json.loads(self.account.cookies) if self.account.cookies else {}

    def headers(self) -> dict:
        headers = {"Accept": "application/json", "Platform": "web"}
        if self.account.user_agent:
            headers["User-Agent"] = str(self.account.user_agent)
        anon_id = self.cookies().get("anon_id")
        if anon_id:
            headers["X-Anon-Id"] = anon_id
        return headers

    def request(self, method: str, path: str, *, action: str, kind: str = CallKind.READ, **kwargs) -> httpx.Response:
        """One call; returns a 2xx response or raises what Vinted's answer means (vinted.ledger)."""
        url = site.base_url(self.account.domain) + path
        guard_breaker = breaker("vinted", counts_as_failure=lambda exc: isinstance(exc, VintedUnavailable))
        with guard(self.account, kind=kind, action=action, what=f"{method} {path}") as call:
            def send():
                try:
                    response = httpx.request(method, url, cookies=self.cookies(), headers=self.headers(),
                                             timeout=settings.VINTED_HTTP_TIMEOUT, follow_redirects=True,
                                             **kwargs)
                except httpx.HTTPError as exc:
                    raise VintedUnavailable(f"Vinted did not answer: {exc}") from exc
                call.answer(response.status_code, response.headers, response.text, str(response.url))
                return response

            return guard_breaker.call(send)

    def get_json(self, path: str, *, action: str, params: dict | None = None) -> dict:
        return self.request("GET", path, action=action, params=params).json()

    def post_json(self, path: str, payload: dict, *, action: str) -> dict:
        return self.request("POST", path, action=action, kind=CallKind.WRITE, json=payload).json()
