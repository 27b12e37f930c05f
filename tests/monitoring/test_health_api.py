"""/health/ (HTML, JSON, OpenMetrics), /health/live/ and the API aliases: who sees what (the role matrix),
the overall status and its HTTP status, the envelope and the schema."""

import dataclasses
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable, ServiceWarning

from monitoring import breakers
from monitoring.models import JobRun
from tests.helpers import API_PERSONAS, PERSONAS, client_for

pytestmark = pytest.mark.django_db

HERE = "tests.monitoring.test_health_api"


@dataclasses.dataclass
class AlwaysOk(HealthCheck):
    async def run(self):
        return None


@dataclasses.dataclass
class AlwaysWarns(HealthCheck):
    async def run(self):
        raise ServiceWarning("the-warning-text")


@dataclasses.dataclass
class AlwaysDown(HealthCheck):
    async def run(self):
        raise ServiceUnavailable("the-failure-text")


@pytest.fixture
def checks(settings):
    """checks("ok", "warns", "down") sets settings.HEALTH_CHECKS to those sample checks."""
    names = {"ok": "AlwaysOk", "warns": "AlwaysWarns", "down": "AlwaysDown"}

    def use(*kinds):
        settings.HEALTH_CHECKS = [f"{HERE}.{names[kind]}" for kind in kinds]

    return use


# --- /health/ ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kinds,state,code", [(("ok",), "healthy", 200), (("ok", "warns"), "degraded", 200),
                                              (("warns", "down"), "unhealthy", 503)])
def test_overall_status_and_http_status_in_every_format(client, checks, kinds, state, code):
    checks(*kinds)
    for url, accept in (("/health/", "text/html"), ("/health/?format=json", "*/*"), ("/health/", "application/json"),
                        ("/health/?format=text", "*/*")):
        response = client.get(url, HTTP_ACCEPT=accept)
        assert (response.status_code, response["X-Health-Status"]) == (code, state), url
    metrics = client.get("/health/?format=openmetrics")
    assert metrics.status_code == 200  # Prometheus reads the values
    body = metrics.content.decode()
    assert f'lofisite_health_status{{status="{state}"}} 1' in body and body.rstrip().endswith("# EOF")


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_admins_see_each_check_on_the_health_page(client, personas, checks, persona):
    checks("ok", "warns")
    client = client_for(client, personas, persona)
    html = client.get("/health/", HTTP_ACCEPT="text/html").content.decode()
    body = client.get("/health/?format=json").json()
    text = client.get("/health/?format=text").content.decode()
    metrics = client.get("/health/?format=openmetrics").content.decode()
    assert 'data-status="degraded"' in html and body["status"] == "degraded" and "status: degraded" in text
    everything = html + str(body) + text + metrics
    if persona == "admin":
        assert "AlwaysWarns()" in html and "the-warning-text" in html and 'class="table-stack"' in html
        assert body["checks"] == {"AlwaysOk()": "OK", "AlwaysWarns()": "Warning: the-warning-text"}
        assert [(d["name"], d["status"]) for d in body["details"]] == [("AlwaysOk()", "ok"),
                                                                     ("AlwaysWarns()", "warning")]
        assert all(d["time_seconds"] >= 0 for d in body["details"])
        assert 'django_health_check_status{check="AlwaysWarns"} 0' in metrics
    else:
        assert set(body) == {"status"}
        assert "AlwaysWarns" not in everything and "the-warning-text" not in everything


def test_the_health_page_is_never_cached(client, checks):
    checks("ok")
    response = client.get("/health/?format=json")
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_the_default_checks_name_each_part_of_the_product(client, admin_user):
    client.force_login(admin_user)
    names = " ".join(client.get("/health/?format=json").json()["checks"])
    for part in ("Database", "CacheCheck", "Storage", "DiskCheck", "Memory", "MaintenanceCheck", "WorkerCheck",
                 "QueueCheck", "SchedulerCheck", "BreakersCheck", "AIBudgetCheck", "BackupFreshnessCheck",
                 "FfmpegCheck"):
        assert part in names, part


def test_a_stale_worker_and_an_open_breaker_make_it_degraded_not_down(client, admin_user, breaker_settings):
    breaker_settings.HEALTH_CHECKS = ["health_check.checks.Database", "monitoring.health.WorkerCheck",
                                      "monitoring.health.BreakersCheck"]
    from django.utils import timezone

    JobRun.objects.create(name="tests.x", job_path="tests.x", status="running",
                          started_at=timezone.now() - timedelta(hours=1),
                          heartbeat_at=timezone.now() - timedelta(hours=1))
    for _ in range(3):
        with pytest.raises(ConnectionError):
            breakers.breaker("test").call(lambda: (_ for _ in ()).throw(ConnectionError("down")))
    client.force_login(admin_user)
    response = client.get("/health/?format=json")
    assert (response.status_code, response.json()["status"]) == (200, "degraded")
    messages = " ".join(response.json()["checks"].values())
    assert "no task worker has shown life" in messages and "test open" in messages


# --- /health/live/ --------------------------------------------------------------------------------------


def test_liveness_touches_neither_database_nor_cache(client, settings):
    # A cache that cannot answer (nothing listens there): liveness must not care.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/health/live/")
    assert response.status_code == 200 and response.json()["status"] == "alive"
    assert len(queries) == 0


# --- the API aliases --------------------------------------------------------------------------------------

ADMIN_ONLY = ["/api/v1/health/detailed", "/api/v1/health/jobs", "/api/v1/health/circuit-breakers", "/api/v1/metrics"]


@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_api_role_matrix(api_for, persona, api_with, checks):
    checks("ok", "warns")
    client = api_for(persona, using=api_with)
    response = client.get("/api/v1/health")
    assert (response.status_code, response.json()) == (200, {"status": "degraded"})
    for url in ADMIN_ONLY:
        response = client.get(url)
        expected = {"anonymous": 401, "admin": 200}.get(persona, 403)
        assert response.status_code == expected, (url, persona, response.content[:300])
        if expected != 200:
            body = response.json()
            assert body["error"]["code"] in ("NOT_AUTHENTICATED", "PERMISSION_DENIED") and body["request_id"]
            assert "the-warning-text" not in response.content.decode()


def test_api_health_is_503_in_the_envelope_when_unhealthy(api, api_as, admin_user, checks):
    checks("ok", "down")
    response = api.get("/api/v1/health")
    assert response.status_code == 503
    error = response.json()["error"]
    assert (error["code"], error["status"], error["details"]) == ("UNHEALTHY", 503, {"status": "unhealthy"})
    assert "the-failure-text" not in response.content.decode()  # anyone may ask: no detail
    detailed = api_as(admin_user).get("/api/v1/health/detailed")
    assert detailed.status_code == 503 and detailed["X-Request-ID"]
    details = detailed.json()["error"]["details"]
    assert details["status"] == "unhealthy"
    assert [(c["name"], c["status"], c["message"]) for c in details["checks"]] == [
        ("AlwaysOk()", "ok", ""), ("AlwaysDown()", "unavailable", "Unavailable: the-failure-text")]


def test_api_detailed_jobs_breakers_and_metrics_for_an_admin(api_as, admin_user, checks, breaker_settings):
    checks("ok", "warns")
    client = api_as(admin_user)
    detailed = client.get("/api/v1/health/detailed").json()
    assert detailed["status"] == "degraded" and detailed["checked_at"]
    assert [c["status"] for c in detailed["checks"]] == ["ok", "warning"]

    from monitoring import health as operations
    operations.ping_idle_worker()
    jobs = client.get("/api/v1/health/jobs").json()
    assert jobs["worker"] == {"last_seen_at": None, "age_seconds": None, "max_age_seconds": 300, "alive": False}
    assert jobs["queue"]["ready"] == 1 and jobs["queue"]["stuck"] is False
    assert jobs["scheduler"]["alive"] is False and isinstance(jobs["jobs"], list)

    for _ in range(3):
        with pytest.raises(ConnectionError):
            breakers.breaker("test").call(lambda: (_ for _ in ()).throw(ConnectionError("down")))
    state = client.get("/api/v1/health/circuit-breakers").json()
    assert state["not_closed"] == ["test"]
    assert {row["name"]: row["state"] for row in state["breakers"]}["test"] == "open"

    metrics = client.get("/api/v1/metrics").json()
    assert metrics["memory"]["total_bytes"] > 0 and 0 <= metrics["disk"]["percent"] <= 100
    assert len(metrics["load_average"]) == 3 and metrics["process"]["pid"] > 0 and metrics["cpu_count"] >= 1


def test_the_schema_documents_every_health_endpoint_and_its_answers(api_as, admin_user):
    schema = api_as(admin_user).get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for url in ["/api/v1/health", *ADMIN_ONLY]:
        assert url in paths, url
        responses = paths[url]["get"]["responses"]
        assert "200" in responses and "401" in responses and "403" in responses
    assert "503" in paths["/api/v1/health"]["get"]["responses"]
    assert "503" in paths["/api/v1/health/detailed"]["get"]["responses"]
