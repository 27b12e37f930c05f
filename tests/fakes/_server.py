"""What the fake servers share: a threaded HTTP server on 127.0.0.1 in a background thread."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class FakeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeService

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Cut or abandoned connections are part of the scripts (drops, hangs); report only real bugs.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class FakeService:
    """Base of the fakes: start()/stop() or a `with` block; `base_url` once started."""

    handler_class: type[BaseHTTPRequestHandler]  # set by each fake's module
    thread_name = "FakeService"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._server: FakeHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        self._server = FakeHTTPServer((self.host, self.port), self.handler_class)
        self._server.fake = self
        # A short poll interval makes stop() (and so every test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def before_stop(self) -> None:
        """Hook: release anything a request may be waiting on."""

    def stop(self) -> None:
        if self._server is not None:
            self.before_stop()
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @classmethod
    def run_demo(cls, argv: list[str] | None, *, description: str, port: int,
                 describe: Callable[[Self], Iterable[str]]) -> None:
        """The command line of a fake, for manual demos: serve on --host/--port until Ctrl-C, after
        printing the lines `describe(fake)` gives (where it listens, the settings that point at it)."""
        parser = argparse.ArgumentParser(description=description)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=port)
        args = parser.parse_args(argv)
        with cls(host=args.host, port=args.port) as fake:
            for line in describe(fake):
                print(line, flush=True)
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                pass
