"""gunicorn settings for `make run` (BIND, WEB_WORKERS and WEB_TIMEOUT from the environment).

gunicorn (25.1+) opens a control socket for `gunicornc` at one path per user
($XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl), so a second
instance run by the same user takes it over and stopping either deletes the
other's. It is off here; GUNICORN_CONTROL_SOCKET=/path/of/this/instance.ctl
turns it on at a path of this instance's own.
"""

import ctypes
import ctypes.util
import os
from pathlib import Path

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

_control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not _control_socket
if _control_socket:
    control_socket = _control_socket


def _fixed_mmap_threshold(threshold: int = 1024 * 1024) -> None:
    """glibc raises its mmap threshold each time a large block is freed (up to 32 MB); after that,
    big buffers such as a photo's pixels (vinted.photos) come from per-thread heaps that are not
    given back, and a web worker's RSS after a few uploads varies by 70 MB or more. A fixed
    threshold (mallopt M_MMAP_THRESHOLD, as MALLOC_MMAP_THRESHOLD_ would) keeps them mmapped and
    returned when freed; set here, in the master, it is inherited by the forked workers."""
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt(-3, threshold)  # -3: M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass  # not glibc: its own allocator's behaviour


_fixed_mmap_threshold()
_var_dir = Path(os.environ.get("VAR_DIR") or Path(__file__).resolve().parent.parent / "var")
# Before anything imports prometheus_client (it picks its value store on import, from the variable's mere
# presence: set empty, it would write its files to the working folder, so empty means off).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_var_dir / "prometheus-web"))
if not os.environ["PROMETHEUS_MULTIPROC_DIR"]:
    del os.environ["PROMETHEUS_MULTIPROC_DIR"]


def on_starting(server):
    """Start from zero: files left by a previous run would be added to this run's numbers."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:  # set empty on purpose: each worker's own numbers
        return
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):  # only prometheus_client's files, whatever else the folder holds
        stale.unlink()


def child_exit(server, worker):
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
