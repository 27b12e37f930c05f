"""Real processes for tests (any app may import this): a command in its own process group with its
output in a log file, killed with its children when the test ends; and polling with a deadline.

    with process([sys.executable, "manage.py", "scheduler"], env=env, log_path=tmp_path / "s.log") as proc:
        wait_for(lambda: ..., proc=proc, what="the first tick")
"""

import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings


@contextmanager
def process(args: list[str], *, env: dict, log_path: Path, name: str = ""):
    """Start `args` in the project folder; yields the Popen with `.name` and `.log_path`; SIGKILLs its group."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(args, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    proc.name, proc.log_path = name or Path(args[-1]).name, log_path
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_for(condition, *, proc=None, timeout=90.0, what="condition", interval=0.05):
    """Poll `condition` until it is truthy (returns its value); fail after `timeout` s or if `proc` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the {getattr(proc, 'name', 'process')} process exited ({proc.returncode}) "
                                 f"before {what}")
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
