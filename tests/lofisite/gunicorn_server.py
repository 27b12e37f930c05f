"""gunicorn with the project's own config (lofisite/gunicorn_conf.py), on a free port, for tests.

It runs in a process of its own with the test settings, a SQLite file and a cache
folder under the test's tmp_path, and HOME set there too (gunicorn keeps its default
control socket under HOME). Stopped with SIGTERM, as a process manager would.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serving(port) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_until(condition, proc, what, timeout=60.0):
    """Poll `condition` (readiness, not a timing assertion) while gunicorn is alive."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if proc.poll() is not None:
            raise AssertionError(f"gunicorn exited ({proc.returncode}) before {what}: {proc.log_path.read_text()}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def gunicorn(tmp_path, name="web", **env):
    """Yield the running gunicorn process; `.port` and `.url` say where it listens."""
    port = free_port()
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    var = tmp_path / f"var-{name}"
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("XDG_RUNTIME_DIR", "DATABASE_URL", "REDIS_URL", "GUNICORN_CONTROL_SOCKET")}
    environment.update(HOME=str(home), BIND=f"127.0.0.1:{port}", WEB_WORKERS="1", WEB_THREADS="2",
                       DJANGO_SETTINGS_MODULE="lofisite.test_settings", LOFISITE_TESTING="1", ENV_FILE="/dev/null",
                       VAR_DIR=str(var), MEDIA_ROOT=str(var / "media"))
    environment.update(env)  # the caller's values win (WEB_WORKERS too)
    log_path = tmp_path / f"gunicorn-{name}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "lofisite.wsgi", "--config", "lofisite/gunicorn_conf.py"],
            cwd=BASE_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    proc.log_path, proc.port, proc.url = log_path, port, f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _serving(port), proc, "serving")
        yield proc
    finally:
        stop(proc)


def stop(proc) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
