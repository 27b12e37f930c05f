"""A Redis outage degrades the product, it does not stop it (issue 7, item 1).

Each test runs its own `redis-server` on a free port (tests/lofisite/redis_process.py), kills it
under the code or the processes that use it, and starts it again on the same port. The machine's
shared Redis is never touched.
"""

import logging
import os
import subprocess
import sys
from contextlib import ExitStack

import httpx
import pytest
from django.conf import settings as django_settings
from django.core.cache import cache

from lofisite import cache as shared_cache
from monitoring.ratelimit import RateLimited, RateLimitUnavailable, check_rate
from monitoring.scheduler import LAST_TICK_CACHE_KEY, Scheduler
from tests.clocks import ManualClock
from tests.conftest import PASSWORD
from tests.lofisite.redis_process import free_port, redis_process  # noqa: F401  (fixture)
from tests.processes import process, wait_for

PREFIX = "outage-test"


@pytest.fixture
def redis_cache(settings, redis_process):  # noqa: F811
    """The default cache is the settings' fail-soft Redis backend, on this test's own redis-server."""
    settings.CACHES = {"default": {
        "BACKEND": "lofisite.cache.FailSoftRedisCache", "LOCATION": redis_process.url, "KEY_PREFIX": PREFIX,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5, "OUTAGE_RETRY_SECONDS": 1.0},
    }}
    clock = ManualClock(1000.0)  # the cache's back-off reads this monotonic clock
    cache.outage.clock = clock
    yield redis_process, clock
    cache.outage.clock = shared_cache.Outage.clock


def test_a_dead_redis_answers_misses_backs_off_and_caches_again_when_it_returns(redis_cache, caplog):
    server, clock = redis_cache
    caplog.set_level(logging.WARNING, logger="lofisite.cache")
    assert cache.set("greeting", "hello") and cache.get("greeting") == "hello"
    assert shared_cache.healthy() and shared_cache.status()["status"] == "ok"

    server.kill()
    assert cache.get("greeting", "a miss") == "a miss"  # no exception: a miss
    assert not cache.set("other", 1)  # dropped
    assert cache.get_many(["greeting", "other"]) == {}
    assert not cache.add("new", 1) and not cache.delete("greeting")
    assert cache.get_or_set("computed", lambda: 42) == 42  # computed, uncached
    assert not shared_cache.healthy()
    status = shared_cache.status()
    assert status["status"] == "degraded" and status["reachable"] is False and status["down_since"]
    assert "ConnectionError" in status["last_error"]

    # Within the back-off nothing is sent to Redis: one failed connect, the rest skipped.
    tried = cache.outage.failures
    skipped = cache.outage.skipped
    for _ in range(5):
        assert cache.get("greeting") is None
    assert cache.outage.failures == tried and cache.outage.skipped == skipped + 5

    server.start()  # back on the same port, empty
    assert cache.get("greeting", "still backing off") == "still backing off"
    clock.advance(1.01)  # the back-off is over: the next call tries Redis again
    assert cache.set("greeting", "again") and cache.get("greeting") == "again"
    assert shared_cache.healthy() and not cache.outage.down
    assert server.keys(f"{PREFIX}:*") == [f"{PREFIX}:1:greeting"]

    messages = [record.getMessage() for record in caplog.records if record.name == "lofisite.cache"]
    assert len([m for m in messages if "unreachable" in m]) == 1  # one line per outage, not one per call
    assert len([m for m in messages if "reachable again" in m]) == 1
    assert all(record.exc_info is None for record in caplog.records)  # no traceback per request


def test_rate_limits_fail_closed_while_redis_is_down(redis_cache):
    server, clock = redis_cache
    check_rate("vinted:publish:user:1", limit=2, period_seconds=3600)

    server.kill()
    with pytest.raises(RateLimitUnavailable) as refused:
        check_rate("vinted:publish:user:1", limit=2, period_seconds=3600)
    assert isinstance(refused.value, RateLimited) and refused.value.retry_after == 30  # a job retries later
    assert "cannot be checked (shared cache unavailable" in str(refused.value)
    with pytest.raises(shared_cache.CacheUnavailable):
        shared_cache.counter("anything")

    server.start()
    clock.advance(1.01)
    check_rate("vinted:publish:user:1", limit=2, period_seconds=3600)  # counting again (a fresh Redis)
    assert shared_cache.counter(next(iter(k for k in _counter_keys(server)))) == 1


def _counter_keys(server):
    return [key.removeprefix(f"{PREFIX}:1:") for key in server.keys(f"{PREFIX}:1:ratelimit:*")]


def test_the_api_answers_with_its_throttles_failing_open_while_redis_is_down(redis_cache, api, operator):
    server, _ = redis_cache
    server.kill()
    response = api.post("/api/v1/auth/token/", {"username": operator.username, "password": PASSWORD},
                        format="json")
    assert response.status_code == 200, response.content  # throttled view, answered
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    listing = api.get("/api/v1/pipeline/runs/")
    assert listing.status_code == 200, listing.content
    wrong = api.post("/api/v1/auth/token/", {"username": operator.username, "password": "nope"}, format="json")
    assert wrong.status_code == 401 and wrong.json()["error"]["status"] == 401


def test_the_outage_warning_never_shows_the_redis_password(settings, caplog):
    settings.CACHES = {"default": {"BACKEND": "lofisite.cache.FailSoftRedisCache",
                                   "LOCATION": f"redis://:s3cret-pass@127.0.0.1:{free_port()}/0"}}
    caplog.set_level(logging.WARNING, logger="lofisite.cache")
    assert cache.get("anything", "a miss") == "a miss"
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "unreachable" in logged and "s3cret-pass" not in logged and "redis://***@127.0.0.1:" in logged
    assert "s3cret-pass" not in str(shared_cache.status())


def test_a_scheduler_tick_survives_a_cache_that_cannot_be_written(settings, tmp_path, db):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                                   "LOCATION": str(blocker / "cache")}}
    with pytest.raises(OSError):
        cache.set("probe", 1)  # this cache really cannot be written
    assert Scheduler(hooks=[], tick_seconds=1).tick() == {}  # and the tick goes on regardless
    assert not shared_cache.healthy()


# --- the real processes: web (gunicorn), worker, scheduler ---------------------------------------------------
def alive(proc) -> None:
    assert proc.poll() is None, f"{proc.name} exited ({proc.returncode}):\n{proc.log_path.read_text()[-3000:]}"


def test_every_process_survives_a_redis_outage_and_caching_resumes_within_5_s(tmp_path, redis_process):  # noqa: F811
    server = redis_process
    web_port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update({
        "DJANGO_SETTINGS_MODULE": "lofisite.settings", "LOFISITE_TESTING": "1", "ENV_FILE": "/dev/null",
        "VAR_DIR": str(tmp_path / "var"), "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "MEDIA_ROOT": str(tmp_path / "media"), "REDIS_URL": server.url, "CACHE_KEY_PREFIX": PREFIX,
        "SCHEDULER_TICK_SECONDS": "1", "BIND": f"127.0.0.1:{web_port}", "WEB_WORKERS": "1",
        "WEB_THREADS": "2", "AXES_FAILURE_LIMIT": "100000", "API_THROTTLE_AUTH": "100000/min",
    })
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=django_settings.BASE_DIR,
                   env=env, check=True)
    base = f"http://127.0.0.1:{web_port}"

    def api_call() -> httpx.Response:
        return httpx.post(f"{base}/api/v1/auth/token/", json={"username": "nobody", "password": "wrong"},
                          timeout=10)

    def answers(response: httpx.Response, status: int) -> None:
        assert response.status_code == status, response.text[:500]

    with ExitStack() as stack:
        def start(name, args):
            return stack.enter_context(process(args, env=env, log_path=tmp_path / f"{name}.log", name=name))

        web = start("web", [sys.executable, "-m", "gunicorn", "lofisite.wsgi", "--config", "lofisite/gunicorn_conf.py"])
        worker = start("worker", [sys.executable, "manage.py", "db_worker", "--queue-name", "*", "--interval", "0.5"])
        scheduler = start("scheduler", [sys.executable, "manage.py", "scheduler"])
        processes = (web, worker, scheduler)

        def web_up():
            for proc in processes:
                alive(proc)
            try:
                return httpx.get(f"{base}/accounts/login/", timeout=5).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(web_up, timeout=90, what="gunicorn to answer", interval=0.2)
        answers(api_call(), 401)
        tick_key, throttle_keys = f"{PREFIX}:1:{LAST_TICK_CACHE_KEY}", f"{PREFIX}:1:throttle_*"
        wait_for(lambda: server.keys(tick_key), timeout=30, what="the scheduler's first tick", interval=0.1)
        assert server.keys(throttle_keys)  # the API's throttle history is in Redis

        server.kill()
        # The scheduler's next tick writes to the dead Redis: it logs the outage and carries on.
        wait_for(lambda: "unreachable" in scheduler.log_path.read_text() or scheduler.poll() is not None,
                   timeout=30, what="the scheduler to tick with Redis down", interval=0.1)
        for _ in range(3):
            answers(api_call(), 401)  # not 500: the throttle fails open
            answers(httpx.get(f"{base}/accounts/login/", timeout=10), 200)
        for proc in processes:
            alive(proc)

        server.start()  # same port, empty: anything found in it now was cached after the restart

        def cached_again():
            answers(api_call(), 401)
            return server.keys(tick_key) and server.keys(throttle_keys)

        wait_for(cached_again, timeout=5, what="the scheduler and the API to cache again", interval=0.1)
        for proc in processes:
            alive(proc)
        assert "Traceback" not in scheduler.log_path.read_text()
