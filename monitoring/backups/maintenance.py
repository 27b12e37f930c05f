"""Maintenance mode: a flag file shared by every process on the machine (web, workers, scheduler).

A file, not a database row or a cache key: a restore replaces the database, and a cache may be down
or shared with other sites; the file survives both. `MAINTENANCE_FLAG_PATH` (default
var/maintenance.json) must be on storage all processes see (a shared volume when they run on
several machines). While it exists: browsers get the maintenance page (503), the API a 503 envelope
with Retry-After, /health/ answers and says so, workers start no job and the scheduler calls no hook.

A restore that dies (the process is killed) leaves the flag: `manage.py backup maintenance off`
clears it once an admin has checked the database.
"""

import contextlib
import json
import os
import time
from pathlib import Path

from django.conf import settings
from django.utils import timezone


def flag_path() -> Path:
    return Path(settings.MAINTENANCE_FLAG_PATH)


def status() -> dict | None:
    """The flag's content ({"reason", "since", "pid"}) while maintenance is on, else None."""
    try:
        raw = flag_path().read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return {"reason": "maintenance (flag file unreadable)", "since": None, "pid": None}
    try:
        data = json.loads(raw)
    except ValueError:
        data = {}
    return {"reason": data.get("reason", "maintenance"), "since": data.get("since"), "pid": data.get("pid")}


def active() -> bool:
    return flag_path().exists()


def enter(reason: str) -> None:
    path = flag_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    temp.write_text(json.dumps({"reason": reason, "since": timezone.now().isoformat(), "pid": os.getpid()}))
    os.replace(temp, path)  # atomic: a reader sees no flag or a whole one


def leave() -> None:
    with contextlib.suppress(FileNotFoundError):
        flag_path().unlink()


@contextlib.contextmanager
def on(reason: str):
    """Maintenance mode for the duration of the block (left even when the block fails)."""
    enter(reason)
    try:
        yield
    finally:
        leave()


def wait_until_over(poll_seconds: float = 1.0, should_stop=None) -> bool:
    """Block while maintenance is on (a worker about to start a job); True if it had to wait."""
    waited = False
    while active() and not (should_stop and should_stop()):
        waited = True
        time.sleep(poll_seconds)
    return waited


def retry_after_seconds() -> int:
    return int(settings.MAINTENANCE_RETRY_AFTER_SECONDS)
