"""A local webhook receiver for the notification tests: it records every POST (headers and body) and
answers what the test scripts: `fail_next(n, status)` answers `status` to the next n requests,
`redirect_to(url)` answers 302, then it answers 200 again.

    with WebhookReceiver() as receiver:
        ... preference.webhook_url = receiver.url("/hook")
        receiver.received[0].verify(secret)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from ._server import FakeService


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        import json

        return json.loads(self.body)

    def verify(self, secret: str, *, now: float | None = None) -> bool:
        """Verify as a receiver must (monitoring.notifications.verify is that recipe)."""
        from monitoring.notifications import verify

        return verify(secret, self.headers.get("x-lofisite-timestamp", ""), self.body,
                      self.headers.get("x-lofisite-signature", ""), now=now)


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeWebhook/1"

    def log_message(self, format, *args):  # quiet
        pass

    def do_POST(self):
        fake: WebhookReceiver = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        status, location = fake._answer(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", "application/json")
        payload = b'{"ok": true}' if status < 300 else b'{"ok": false}'
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class WebhookReceiver(FakeService):
    handler_class = _Handler
    thread_name = "FakeWebhook"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.received: list[Received] = []
        self._failures: list[int] = []
        self._redirect = ""
        self._lock = threading.Lock()

    def url(self, path: str = "/hook") -> str:
        return self.base_url + path

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._failures += [status] * count

    def redirect_to(self, location: str) -> None:
        with self._lock:
            self._redirect = location

    def _answer(self, received: Received) -> tuple[int, str]:
        with self._lock:
            self.received.append(received)
            if self._failures:
                return self._failures.pop(0), ""
            if self._redirect:
                return 302, self._redirect
        return 200, ""


if __name__ == "__main__":
    WebhookReceiver.run_demo(None, description="A local webhook receiver that prints nothing but records POSTs.",
                             port=8765, describe=lambda fake: [f"Webhook receiver on {fake.url()}"])
