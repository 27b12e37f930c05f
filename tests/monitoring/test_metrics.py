"""`/metrics`: who may scrape it, and that it parses as Prometheus text with the right business numbers.

The role matrix does not apply: the endpoint is for Prometheus, guarded by address and token,
and a signed-in person (an admin too) counts for nothing there (monitoring/exporter.py).
"""

import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from monitoring.choices import BreakerState
from monitoring.models import CircuitBreaker, JobRun, JobStat
from monitoring.scheduler import LAST_TICK_CACHE_KEY
from pipeline.choices import RunStatus, StageName, StageStatus, UploadStatus
from pipeline.models import QuotaUsage, Stage, Video
from pipeline.services.queries import quota_day
from tests.api_helpers import set_throttle_rates
from tests.factories import AIUsageFactory, RunFactory
from tests.helpers import client_for

TOKEN = "s3cret-metrics-token-0123456789"
OUTSIDE = "203.0.113.50"


def samples(text: str) -> dict:
    """{(sample name, frozenset of labels): value} of a Prometheus text page (parsed by prometheus_client)."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(parsed: dict, name: str, **labels):
    return parsed.get((name, frozenset(labels.items())))


def scrape(client, **extra) -> dict:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return samples(response.content.decode())


# --- the guard --------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_loopback_may_scrape_without_a_token_by_default(client):
    assert django_settings.METRICS_ALLOWED_IPS == ["127.0.0.1", "::1"]
    assert scrape(client)  # the test client's REMOTE_ADDR is 127.0.0.1
    assert scrape(client, REMOTE_ADDR="::1")


@pytest.mark.django_db
def test_an_address_not_allowed_is_refused_with_plain_text(client):
    response = client.get("/metrics", REMOTE_ADDR=OUTSIDE)
    assert response.status_code == 403
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert b"METRICS_ALLOWED_IPS" in response.content and b"lofisite_" not in response.content


@pytest.mark.django_db
def test_with_a_token_configured_none_is_401_a_wrong_one_403_the_right_one_200(client, settings):
    settings.METRICS_TOKEN = TOKEN
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"lofisite_" not in missing.content
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic " + TOKEN).status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer " + TOKEN[:-1]).status_code == 403
    assert scrape(client, HTTP_AUTHORIZATION="Bearer " + TOKEN)


@pytest.mark.django_db
def test_both_gates_apply_the_right_token_from_an_address_not_allowed_is_refused(client, settings):
    settings.METRICS_TOKEN = TOKEN
    auth = {"HTTP_AUTHORIZATION": "Bearer " + TOKEN}
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE, **auth).status_code == 403
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert scrape(client, REMOTE_ADDR="10.20.30.40", **auth)
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", **auth).status_code == 403
    settings.METRICS_ALLOWED_IPS = ["*"]  # token only
    assert scrape(client, REMOTE_ADDR=OUTSIDE, **auth)
    assert scrape(client, REMOTE_ADDR="2001:db8::7", **auth)
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE).status_code == 401


@pytest.mark.django_db
def test_behind_a_proxy_the_client_address_decides_not_the_proxys(client, settings):
    """With nginx on the same host every request comes from 127.0.0.1: PROXY_COUNT makes the real client count."""
    settings.PROXY_COUNT = 1
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=OUTSIDE)
    assert response.status_code == 403
    assert scrape(client, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1")


@pytest.mark.django_db
def test_a_signed_in_admin_without_the_token_is_refused_too(client, settings, personas):
    client_for(client, personas, "admin")
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE).status_code == 403
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401


@pytest.mark.django_db
def test_only_get_and_head(client):
    assert client.post("/metrics").status_code == 405
    assert client.head("/metrics").status_code == 200


def test_a_malformed_allow_list_stops_the_settings_from_loading(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "LOFISITE_TESTING": "1", "ENV_FILE": "/dev/null", "VAR_DIR": str(tmp_path),
           "METRICS_ALLOWED_IPS": "127.0.0.1,not-an-address"}
    result = subprocess.run([sys.executable, "-c", "import lofisite.settings"], cwd=django_settings.BASE_DIR,
                            env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "METRICS_ALLOWED_IPS: 'not-an-address' is not an address or network" in result.stderr


# --- what a scrape says -----------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_requests_database_and_cache_families_from_django_prometheus(client):
    client.get("/accounts/login/")
    parsed = scrape(client)
    assert value(parsed, "django_http_requests_total_by_view_transport_method_total",
                 view="accounts:login", transport="http", method="GET") >= 1
    assert any(name == "django_http_requests_latency_seconds_by_view_method_bucket" for name, _ in parsed)
    assert any(name == "django_db_execute_total" for name, _ in parsed)
    assert any(name == "django_cache_get_total" for name, _ in parsed)


@pytest.mark.django_db
def test_cache_hits_and_misses_count_falsy_values_as_hits(client):
    backend = "redis" if "Redis" in django_settings.CACHES["default"]["BACKEND"] else "filebased"

    def counted(name):
        return REGISTRY.get_sample_value(name, {"backend": backend}) or 0

    cache.set("metrics-test-zero", 0)
    hits, misses = counted("django_cache_get_hits_total"), counted("django_cache_get_misses_total")
    assert cache.get("metrics-test-zero", "default") == 0  # django-prometheus' own file backend says "default"
    assert cache.get("metrics-test-missing", "default") == "default"
    assert counted("django_cache_get_hits_total") == hits + 1
    assert counted("django_cache_get_misses_total") == misses + 1
    assert value(scrape(client), "django_cache_get_hits_total", backend=backend) >= hits + 1


@pytest.mark.django_db
def test_throttled_api_requests_are_counted_by_scope(client, monkeypatch, viewer):
    set_throttle_rates(monkeypatch, auth="2/min")
    api = APIClient()
    before = value(scrape(client), "lofisite_http_throttled_total", scope="auth") or 0
    statuses = [api.post("/api/v1/auth/token/", {"username": "vera", "password": "wrong"}, format="json").status_code
                for _ in range(4)]
    assert statuses.count(429) == 2
    assert value(scrape(client), "lofisite_http_throttled_total", scope="auth") == before + 2


def broken_collector():
    yield from ()
    raise RuntimeError("database on fire")


@pytest.mark.django_db
def test_a_failing_collector_is_left_out_and_says_so(client, settings):
    broken = "tests.monitoring.test_metrics.broken_collector"
    settings.METRICS_COLLECTORS = [broken, *settings.METRICS_COLLECTORS]
    parsed = scrape(client)
    assert value(parsed, "lofisite_metrics_collector_up", collector=broken) == 0
    assert value(parsed, "lofisite_metrics_collector_up", collector="pipeline.metrics.collect") == 1
    assert value(parsed, "lofisite_pipeline_runs", status="queued") == 0


@pytest.mark.django_db
def test_business_metrics_match_known_rows(client, operator, settings, django_capture_on_commit_callbacks):
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):  # each run's first task is enqueued on commit
        RunFactory.create_batch(2, created_by=operator)
        running = RunFactory(created_by=operator, status=RunStatus.RUNNING, started_at=now - timedelta(hours=2))
        RunFactory(created_by=operator, status=RunStatus.FAILED)
        succeeded = RunFactory(created_by=operator, status=RunStatus.SUCCEEDED)
        RunFactory(created_by=operator, status=RunStatus.SUCCEEDED, finished_at=now - timedelta(hours=3))
    # The succeeded run rendered 200 s of audio in 100 s; its compose stage took 30 s.
    Stage.objects.filter(run=succeeded, name=StageName.RENDER).update(
        started_at=now - timedelta(seconds=120), finished_at=now - timedelta(seconds=20))
    Stage.objects.filter(run=succeeded, name=StageName.COMPOSE).update(
        started_at=now - timedelta(seconds=300), finished_at=now - timedelta(seconds=270))
    Video.objects.filter(run=succeeded).update(duration_s=200, upload_status=UploadStatus.UPLOADED)
    Video.objects.filter(run=running).update(upload_status=UploadStatus.FAILED)
    QuotaUsage.objects.create(day=quota_day(), bucket="videos.insert", units=1, operation="videos.insert")
    QuotaUsage.objects.create(day=quota_day(), bucket="default", units=50, operation="thumbnails.set")

    AIUsageFactory(user=operator, prompt_tokens=1000, completion_tokens=200, cost_usd=Decimal("0.250000"))
    AIUsageFactory(user=operator, prompt_tokens=10, completion_tokens=0, success=False, error="timeout")
    AIUsageFactory(user=None, model="gpt-image-1", request_type="pipeline.cover", images=1,
                   cost_usd=Decimal("0.063000"))
    operator.ai_monthly_budget_usd = Decimal("5.00")
    operator.save(update_fields=["ai_monthly_budget_usd"])

    JobStat.objects.create(name="pipeline.execute_stage", runs=12, failures=3, consecutive_failures=2,
                           total_duration_seconds=90.5, last_success_at=now - timedelta(minutes=5))
    CircuitBreaker.objects.create(name="youtube", state=BreakerState.OPEN, failure_count=3, opened_at=now)
    # Six runs queued six tasks; one was enqueued ten minutes ago, one waits for a retry time in the future.
    tasks = list(DBTaskResult.objects.order_by("enqueued_at"))
    assert len(tasks) == 6
    DBTaskResult.objects.filter(pk=tasks[0].pk).update(enqueued_at=now - timedelta(minutes=10))
    DBTaskResult.objects.filter(pk=tasks[1].pk).update(run_after=now + timedelta(minutes=10))
    JobRun.objects.filter(pk=JobRun.objects.order_by("pk").first().pk).update(heartbeat_at=now - timedelta(seconds=30))
    cache.set(LAST_TICK_CACHE_KEY, time.time() - 42, None)

    parsed = scrape(client)

    assert {status: value(parsed, "lofisite_pipeline_runs", status=status) for status in RunStatus.values} == {
        "queued": 2, "running": 1, "succeeded": 2, "failed": 1, "cancelled": 0}
    assert {status: value(parsed, "lofisite_pipeline_runs_finished_last_hour", status=status)
            for status in ("succeeded", "failed", "cancelled")} == {"succeeded": 1, "failed": 1, "cancelled": 0}
    assert value(parsed, "lofisite_pipeline_stages_finished_last_hour", stage="artwork", status="failed") == 1
    assert value(parsed, "lofisite_pipeline_stages_finished_last_hour", stage="publish", status="failed") == 0
    assert 7190 <= value(parsed, "lofisite_pipeline_oldest_running_run_seconds") <= 7300
    assert value(parsed, "lofisite_pipeline_render_seconds_per_audio_second") == pytest.approx(0.5, abs=0.01)
    # Compose: 30 s in the succeeded run, ~0 s in the failed and the running ones (finished at once), 3 h ago: out.
    compose = Stage.objects.filter(name=StageName.COMPOSE, status=StageStatus.SUCCEEDED,
                                   finished_at__gte=now - timedelta(hours=24)).count()
    assert value(parsed, "lofisite_pipeline_stage_mean_duration_seconds", stage="compose") == pytest.approx(
        30 / compose, abs=0.5)
    assert value(parsed, "lofisite_youtube_uploads", result="uploaded") == 1
    assert value(parsed, "lofisite_youtube_uploads", result="failed") == 1
    assert value(parsed, "lofisite_youtube_uploads", result="not_uploaded") is None
    assert value(parsed, "lofisite_youtube_quota_used_units", bucket="videos.insert") == 1
    assert value(parsed, "lofisite_youtube_quota_used_units", bucket="default") == 50
    assert value(parsed, "lofisite_youtube_quota_limit_units", bucket="videos.insert") == 100

    mini = {"model": "gpt-4o-mini", "request_type": "pipeline.metadata"}
    assert value(parsed, "lofisite_ai_requests_total", result="ok", **mini) == 1
    assert value(parsed, "lofisite_ai_requests_total", result="error", **mini) == 1
    assert value(parsed, "lofisite_ai_tokens_total", kind="prompt", **mini) == 1010
    assert value(parsed, "lofisite_ai_tokens_total", kind="completion", **mini) == 200
    assert value(parsed, "lofisite_ai_cost_usd_total", **mini) == pytest.approx(0.25)
    assert value(parsed, "lofisite_ai_images_total", model="gpt-image-1", request_type="pipeline.cover") == 1
    assert value(parsed, "lofisite_ai_month_spend_usd", user="otto") == pytest.approx(0.25)
    assert value(parsed, "lofisite_ai_monthly_budget_usd", user="otto") == 5
    assert value(parsed, "lofisite_ai_month_spend_usd", user="system") == pytest.approx(0.063)
    assert value(parsed, "lofisite_ai_monthly_budget_usd", user="system") == settings.AI_MONTHLY_BUDGET_USD

    job = {"job_name": "pipeline.execute_stage"}  # not "job": Prometheus sets that on every scrape
    assert value(parsed, "lofisite_job_runs_total", **job) == 12
    assert value(parsed, "lofisite_job_failures_total", **job) == 3
    assert value(parsed, "lofisite_job_consecutive_failures", **job) == 2
    assert value(parsed, "lofisite_job_duration_seconds_total", **job) == 90.5
    assert value(parsed, "lofisite_job_last_success_timestamp_seconds", **job) == pytest.approx(
        (now - timedelta(minutes=5)).timestamp())
    assert value(parsed, "lofisite_jobs", status="queued") == 6
    assert value(parsed, "lofisite_circuit_breaker_state", breaker="youtube") == 2
    assert value(parsed, "lofisite_circuit_breaker_failures", breaker="youtube") == 3
    assert value(parsed, "lofisite_circuit_breaker_state", breaker="openai") == 0  # configured, never used

    assert value(parsed, "lofisite_task_queue_depth", queue="default") == 5
    assert 595 <= value(parsed, "lofisite_task_queue_oldest_ready_age_seconds", queue="default") <= 700
    assert 29 <= value(parsed, "lofisite_worker_heartbeat_age_seconds") <= 100
    assert 41 <= value(parsed, "lofisite_scheduler_heartbeat_age_seconds") <= 100
    backend = "redis" if "Redis" in django_settings.CACHES["default"]["BACKEND"] else "filebased"
    assert value(parsed, "lofisite_cache_reachable", backend=backend) == 1
    for collector in django_settings.METRICS_COLLECTORS:
        assert value(parsed, "lofisite_metrics_collector_up", collector=collector) == 1


@pytest.mark.django_db
def test_an_empty_product_exports_zeros_not_gaps(client):
    parsed = scrape(client)
    assert value(parsed, "lofisite_pipeline_runs", status="failed") == 0
    assert value(parsed, "lofisite_pipeline_oldest_running_run_seconds") == 0
    assert value(parsed, "lofisite_task_queue_depth", queue="default") == 0
    assert value(parsed, "lofisite_task_queue_oldest_ready_age_seconds", queue="default") == 0
    # Nothing ever ran, nothing ticked: unknown, so absent (the alert rules treat absence explicitly).
    assert value(parsed, "lofisite_worker_heartbeat_age_seconds") is None
    assert value(parsed, "lofisite_scheduler_heartbeat_age_seconds") is None
    assert value(parsed, "lofisite_pipeline_render_seconds_per_audio_second") is None


@pytest.mark.django_db
def test_backup_metrics_are_absent_until_a_backup_succeeds_then_name_the_newest(client):
    from monitoring.choices import BackupContent, BackupStatus
    from monitoring.models import Backup

    assert not any(name.startswith("lofisite_backup_") for name, _ in scrape(client))
    finished = timezone.now() - timedelta(hours=30)
    Backup.objects.create(content=BackupContent.DATABASE, status=BackupStatus.SUCCEEDED, size=4096,
                          finished_at=finished)
    Backup.objects.create(content=BackupContent.DATABASE, status=BackupStatus.FAILED, size=1,
                          finished_at=timezone.now())
    numbers = scrape(client)
    assert numbers[("lofisite_backup_last_success_timestamp_seconds", frozenset())] == pytest.approx(
        finished.timestamp())
    assert numbers[("lofisite_backup_last_size_bytes", frozenset())] == 4096
