"""`/health/` says healthy, or degraded (still 200) while Redis is down, and caching comes back."""

import pytest

from lofisite import cache as shared_cache
from tests.clocks import ManualClock
from tests.lofisite.redis_process import free_port, redis_process  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def health(client):
    response = client.get("/health/?format=json")
    return response.status_code, response.json()


def _run_the_background_processes():
    """What a running `scheduler` and `db_worker` leave behind: a tick, and a worker that ran a task."""
    from monitoring.scheduler import Scheduler
    from tests.monitoring.worker import run_worker

    Scheduler(hooks=["monitoring.health.ping_idle_worker"], tick_seconds=0).tick()
    run_worker()


def test_health_is_healthy_on_the_embedded_defaults_once_worker_and_scheduler_run(client, admin_user):
    client.force_login(admin_user)
    status, body = health(client)
    assert (status, body["status"]) == (200, "degraded")  # neither has run yet: a load balancer keeps it
    waiting = [name for name, text in body["checks"].items() if text != "OK"]
    assert waiting == ["WorkerCheck()", "SchedulerCheck()"], body["checks"]
    _run_the_background_processes()
    status, body = health(client)
    assert (status, body["status"]) == (200, "healthy")
    assert set(body["checks"].values()) == {"OK"}


def test_health_says_degraded_while_redis_is_down_and_healthy_when_it_is_back(client, settings, admin_user,
                                                                              redis_process):  # noqa: F811
    settings.CACHES = {"default": {
        "BACKEND": "lofisite.cache.FailSoftRedisCache", "LOCATION": redis_process.url, "KEY_PREFIX": "health-test",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5, "OUTAGE_RETRY_SECONDS": 1.0},
    }}
    from django.core.cache import cache

    clock = ManualClock(1000.0)
    cache.outage.clock = clock
    client.force_login(admin_user)
    try:
        _run_the_background_processes()  # the scheduler's tick goes to this Redis
        assert health(client)[1]["status"] == "healthy"
        redis_process.kill()
        status, body = health(client)
        assert (status, body["status"]) == (200, "degraded")  # still serving: a load balancer keeps it
        assert any("cache unreachable" in text for text in body["checks"].values())
        redis_process.start()
        clock.advance(2)  # past the back-off
        # The new Redis is empty: the scheduler's last tick is unknown until its next tick writes it.
        assert "the scheduler has not ticked yet" in health(client)[1]["checks"]["SchedulerCheck()"]
        _run_the_background_processes()
        assert health(client)[1]["status"] == "healthy"
    finally:
        cache.outage.clock = shared_cache.Outage.clock


def test_health_is_unhealthy_with_503_when_a_check_fails(rf):
    import dataclasses

    from asgiref.sync import async_to_sync
    from health_check.base import HealthCheck, HealthCheckResult
    from health_check.exceptions import ServiceUnavailable, ServiceWarning

    from lofisite.health import overall

    ok = HealthCheckResult(check=None, error=None, time_taken=0)
    warn = HealthCheckResult(check=None, error=ServiceWarning("slow"), time_taken=0)
    down = HealthCheckResult(check=None, error=ServiceUnavailable("no database"), time_taken=0)
    assert overall([ok, ok]) == "healthy"
    assert overall([ok, warn]) == "degraded"
    assert overall([warn, down]) == "unhealthy"

    @dataclasses.dataclass
    class DatabaseGone(HealthCheck):
        async def run(self):
            raise ServiceUnavailable("the database does not answer")

    from lofisite.health import CacheCheck, HealthView

    view = HealthView.as_view(checks=(CacheCheck, DatabaseGone))
    response = async_to_sync(view)(rf.get("/health/?format=json"))
    assert response.status_code == 503 and response["X-Health-Status"] == "unhealthy"


def test_the_health_page_is_our_own_page_without_inline_style(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/health/", HTTP_ACCEPT="text/html")
    html = response.content.decode()
    assert response.status_code == 200 and "System status" in html
    assert "<style" not in html and 'class="table-stack"' in html
