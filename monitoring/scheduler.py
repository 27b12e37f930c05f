"""The scheduler loop: call every hook in settings.SCHEDULER_HOOKS each tick.

Hooks are dotted paths to functions taking no arguments (apps append theirs in
settings). A hook that raises is logged and recorded as an Event, once per
distinct error, and the loop carries on; a "recovered" Event follows when it
works again. `manage.py scheduler` runs this; `Scheduler.tick()` is the loop
body, unit-testable on its own.
"""

import logging
import signal
import threading
import time
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils.module_loading import import_string

from lofisite import cache as shared_cache

from .backups import maintenance
from .events import record_event

logger = logging.getLogger(__name__)

# Unix time of the last finished tick, for health checks.
LAST_TICK_CACHE_KEY = "monitoring:scheduler:last-tick"


def _drop_stale_connections() -> None:
    """A long-lived process must drop connections the database closed; never mid-transaction."""
    if not any(conn.in_atomic_block for conn in connections.all(initialized_only=True)):
        close_old_connections()


class Scheduler:
    def __init__(self, hooks: list[str] | None = None, tick_seconds: float | None = None):
        self.hooks = list(settings.SCHEDULER_HOOKS if hooks is None else hooks)
        self.tick_seconds = float(settings.SCHEDULER_TICK_SECONDS if tick_seconds is None else tick_seconds)
        self.stopping = threading.Event()
        self._failing: dict[str, str] = {}  # hook -> its last error text

    def tick(self) -> dict[str, Any]:
        """Call each hook once. Returns {hook path: its return value, or the exception it raised}."""
        results: dict[str, Any] = {}
        if maintenance.active():
            return results  # a restore is replacing the database: no hook runs until it is over
        _drop_stale_connections()
        for path in self.hooks:
            if self.stopping.is_set():
                break
            try:
                results[path] = import_string(path)()
            except Exception as exc:
                results[path] = exc
                self._failed(path, exc)
                _drop_stale_connections()
            else:
                self._succeeded(path, results[path])
        # Bookkeeping only: a cache that is down (Redis outage) must never stop the scheduler.
        shared_cache.set_quietly(LAST_TICK_CACHE_KEY, time.time(), None)
        return results

    def run(self, *, once: bool = False) -> dict[str, Any]:
        """Tick until SIGTERM/SIGINT (the running hook finishes first); returns the last tick's results."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        results: dict[str, Any] = {}
        try:
            logger.info("Scheduler started: %d hook(s) every %g s", len(self.hooks), self.tick_seconds)
            while not self.stopping.is_set():
                started = time.monotonic()
                results = self.tick()
                if once:
                    break
                self.stopping.wait(max(0.0, self.tick_seconds - (time.monotonic() - started)))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        logger.info("Scheduler stopped.")
        return results

    def stop(self) -> None:
        self.stopping.set()

    def _on_signal(self, signum, frame):
        if self.stopping.is_set():
            raise SystemExit(1)  # second signal: don't wait for the running hook
        logger.warning("Received %s; stopping after the current hook.", signal.Signals(signum).name)
        self.stop()

    def _failed(self, path: str, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        logger.exception("Scheduler hook %s failed", path)
        if self._failing.get(path) != error:
            record_event("scheduler", "hook.failed", "failed", f"{path} failed: {error}",
                         {"hook": path, "error": error})
        self._failing[path] = error

    def _succeeded(self, path: str, result: Any) -> None:
        if path in self._failing:
            del self._failing[path]
            record_event("scheduler", "hook.recovered", "succeeded", f"{path} works again.", {"hook": path})
        if result:
            logger.info("Scheduler hook %s: %s", path, result)
