"""Under gunicorn with two workers a request counter is neither lost nor counted twice.

Each worker counts in its own files (prometheus_client's multiprocess mode, set up by
lofisite/gunicorn_conf.py) and a scrape, whichever worker answers it, adds them up.
Without it, each scrape would show only the answering worker's share. The worker that
served most requests is then killed: its counts stay in the sum (gunicorn starts a
new worker; `child_exit` marks the dead one).
"""

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.lofisite.gunicorn_server import BASE_DIR, gunicorn, wait_until

HITS = 40
LOGIN_COUNTER = "django_http_requests_total_by_view_transport_method_total"


def login_requests(text: str) -> float:
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == LOGIN_COUNTER and s.labels.get("view") == "accounts:login"
               and s.labels.get("method") == "GET")


def served_by(log: str) -> Counter:
    """Worker pid -> login requests it answered (the access log format below starts with the pid)."""
    return Counter(match.group(1) for match in re.finditer(r"^pid=<(\d+)> GET /accounts/login/ 200", log, re.M))


def test_a_request_counter_is_neither_lost_nor_counted_twice_across_two_workers(tmp_path):
    var = tmp_path / "var-web"
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    (multiproc / "counter_999999.db").write_bytes(b"left over from an earlier run")  # emptied at start
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DJANGO_SETTINGS_MODULE="lofisite.test_settings", LOFISITE_TESTING="1", ENV_FILE="/dev/null",
               VAR_DIR=str(var))
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=BASE_DIR, env=env, check=True)

    with gunicorn(tmp_path, WEB_WORKERS="2", WEB_THREADS="2", PROMETHEUS_MULTIPROC_DIR=str(multiproc),
                  GUNICORN_CMD_ARGS="--access-logformat 'pid=%(p)s %(m)s %(U)s %(s)s'") as proc:
        assert not (multiproc / "counter_999999.db").exists()

        def get(path: str) -> httpx.Response:
            with httpx.Client(base_url=proc.url, timeout=30) as client:  # a connection per request
                return client.get(path)

        def scrape() -> float:
            response = get("/metrics")
            assert response.status_code == 200, response.text[:300]
            return login_requests(response.text)

        def hit(count: int) -> None:
            with ThreadPoolExecutor(max_workers=6) as pool:
                assert {r.status_code for r in pool.map(lambda _: get("/accounts/login/"), range(count))} == {200}

        hit(HITS // 2)
        wait_until(lambda: sum(served_by(proc.log_path.read_text()).values()) == HITS // 2, proc, "the access log")
        for _ in range(6):  # whichever worker answers
            assert scrape() == HITS // 2

        busiest = int(served_by(proc.log_path.read_text()).most_common(1)[0][0])
        os.kill(busiest, signal.SIGKILL)
        wait_until(lambda: len(re.findall(r"Booting worker with pid", proc.log_path.read_text())) == 3, proc,
                   "gunicorn to replace the killed worker")
        hit(HITS // 2)
        wait_until(lambda: sum(served_by(proc.log_path.read_text()).values()) == HITS, proc, "the access log")
        for _ in range(6):
            assert scrape() == HITS

        workers = served_by(proc.log_path.read_text())
        assert len(workers) >= 2, workers  # more than one process did count


def gunicorn_conf(tmp_path, **env) -> subprocess.CompletedProcess:
    """Load lofisite/gunicorn_conf.py as gunicorn's master does, call on_starting, print the variable."""
    code = ("import os, runpy; conf = runpy.run_path('lofisite/gunicorn_conf.py'); conf['on_starting'](None); "
            "print(os.environ.get('PROMETHEUS_MULTIPROC_DIR', '<unset>'))")
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
    return subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=environment, capture_output=True,
                          text=True, check=True)


def test_make_run_gets_a_multiprocess_folder_under_var_emptied_of_old_metrics_only(tmp_path):
    folder = tmp_path / "var" / "prometheus-web"
    folder.mkdir(parents=True)
    (folder / "counter_123.db").write_bytes(b"old")
    (folder / "notes.txt").write_text("not prometheus_client's")
    result = gunicorn_conf(tmp_path, VAR_DIR=str(tmp_path / "var"))
    assert result.stdout.strip() == str(folder)
    assert not (folder / "counter_123.db").exists()
    assert (folder / "notes.txt").exists()


def test_an_empty_multiprocess_folder_turns_the_mode_off_instead_of_writing_to_the_working_folder(tmp_path):
    result = gunicorn_conf(tmp_path, VAR_DIR=str(tmp_path / "var"), PROMETHEUS_MULTIPROC_DIR="")
    assert result.stdout.strip() == "<unset>"
