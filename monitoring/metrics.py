"""monitoring's business metrics for `/metrics`, read from the database at scrape time.

`collect()` is listed in settings.METRICS_COLLECTORS (see monitoring.exporter): a
function that yields prometheus_client metric families. Reading rows at scrape
time makes every number right whichever gunicorn worker answers, and counts
what the task workers and the scheduler (other processes, other machines) did.

Families (names and labels are what the alert rules in
monitoring/prometheus/alerts.yml use; keep them in step):

- lofisite_circuit_breaker_state{breaker}           0 closed, 1 half-open, 2 open
- lofisite_circuit_breaker_failures{breaker}        consecutive failures counted by the breaker
- lofisite_job_runs_total{job_name}                      executions (attempts) per job name (JobStat)
- lofisite_job_failures_total{job_name}                  failed executions per job name (JobStat)
- lofisite_job_duration_seconds_total{job_name}          time spent in a job's executions (JobStat)
- lofisite_job_consecutive_failures{job_name}            failures in a row, 0 after a success
- lofisite_job_last_success_timestamp_seconds{job_name}  Unix time of the last success
- lofisite_jobs{status}                             job runs in the ledger by current status
- lofisite_task_queue_depth{queue}                  django-tasks-db tasks ready to run now
- lofisite_task_queue_oldest_ready_age_seconds{queue}  how long the oldest ready task has waited
- lofisite_worker_heartbeat_age_seconds             since a task worker last showed life
- lofisite_scheduler_heartbeat_age_seconds          since the scheduler's last tick
- lofisite_cache_reachable{backend}                 1 while the shared cache answers
- lofisite_ai_requests_total{model,request_type,result}   AI calls (result ok / error)
- lofisite_ai_tokens_total{model,request_type,kind}       tokens (kind prompt / completion)
- lofisite_ai_images_total{model,request_type}            generated images
- lofisite_ai_cost_usd_total{model,request_type}          USD spent
- lofisite_ai_month_spend_usd{user} / lofisite_ai_monthly_budget_usd{user}   this month per budget pool

The `_total` families come from append-only or only-growing rows (the AI ledger,
JobStat; resetting a job's statistics sets them to 0, which Prometheus takes as a counter reset).
"""

import time
from datetime import datetime

from django.conf import settings
from django.db.models import Case, Count, F, Max, Min, Q, Sum, When
from django.db.models.functions import Greatest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from lofisite import cache as shared_cache

from . import ai, breakers
from .choices import BreakerState, JobStatus
from .models import AIUsage, JobRun, JobStat
from .scheduler import LAST_TICK_CACHE_KEY

BREAKER_STATE_VALUES = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


def collect():
    yield from breaker_metrics()
    yield from job_metrics()
    yield from task_queue_metrics()
    yield from heartbeat_metrics()
    yield from ai_metrics()


def _timestamp(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment else None


def _age_seconds(moment: datetime | None, now: datetime) -> float | None:
    return max(0.0, (now - moment).total_seconds()) if moment else None


def breaker_metrics():
    state = GaugeMetricFamily("lofisite_circuit_breaker_state",
                              "Circuit breaker state: 0 closed, 1 half-open, 2 open.", labels=["breaker"])
    failures = GaugeMetricFamily("lofisite_circuit_breaker_failures",
                                 "Consecutive failures the breaker has counted.", labels=["breaker"])
    for row in breakers.all_breakers():  # configured ones too, closed until first used
        state.add_metric([row.name], BREAKER_STATE_VALUES.get(row.state, 2))
        failures.add_metric([row.name], row.failure_count)
    yield state
    yield failures


def job_metrics():
    runs = CounterMetricFamily("lofisite_job_runs", "Job executions (attempts) per job name.", labels=["job_name"])
    failed = CounterMetricFamily("lofisite_job_failures", "Failed job executions per job name.", labels=["job_name"])
    duration = CounterMetricFamily("lofisite_job_duration_seconds", "Seconds spent executing a job.",
                                   labels=["job_name"])
    consecutive = GaugeMetricFamily("lofisite_job_consecutive_failures",
                                    "Failed executions in a row (0 after a success).", labels=["job_name"])
    last_success = GaugeMetricFamily("lofisite_job_last_success_timestamp_seconds",
                                     "Unix time of the job's last successful execution.", labels=["job_name"])
    for stat in JobStat.objects.all():
        runs.add_metric([stat.name], stat.runs)
        failed.add_metric([stat.name], stat.failures)
        duration.add_metric([stat.name], stat.total_duration_seconds)
        consecutive.add_metric([stat.name], stat.consecutive_failures)
        if stat.last_success_at:
            last_success.add_metric([stat.name], _timestamp(stat.last_success_at))
    yield from (runs, failed, duration, consecutive, last_success)

    by_status = dict(JobRun.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    jobs = GaugeMetricFamily("lofisite_jobs", "Job runs in the ledger by current status.", labels=["status"])
    for status in JobStatus.values:
        jobs.add_metric([status], by_status.get(status, 0))
    yield jobs


def task_queue_metrics():
    now = timezone.now()
    # A task with a run_after became ready then; one without, when it was enqueued.
    ready_since = Case(When(run_after=get_date_max(), then=F("enqueued_at")),
                       default=Greatest("enqueued_at", "run_after"))
    rows = (DBTaskResult.objects.ready().values("queue_name")
            .annotate(depth=Count("id"), oldest=Min(ready_since)).order_by("queue_name"))
    depth = GaugeMetricFamily("lofisite_task_queue_depth", "Tasks ready to run now, per queue.", labels=["queue"])
    oldest = GaugeMetricFamily("lofisite_task_queue_oldest_ready_age_seconds",
                               "Seconds the oldest ready task has waited for a worker (0: none waiting).",
                               labels=["queue"])
    queues = {"default": (0, None)} | {row["queue_name"]: (row["depth"], row["oldest"]) for row in rows}
    for queue, (count, since) in sorted(queues.items()):
        depth.add_metric([queue], count)
        oldest.add_metric([queue], _age_seconds(since, now) or 0.0)
    yield depth
    yield oldest


def worker_last_seen() -> datetime | None:
    """When a task worker last showed life: a running job's heartbeat, or a task it started or finished.

    django-tasks-db's worker writes nothing while idle, so this ages while the queue is empty:
    read it together with the queue depth (the WorkerDown alert does).
    """
    jobs = JobRun.objects.aggregate(beat=Max("heartbeat_at"), started=Max("started_at"),
                                    finished=Max("finished_at"))
    tasks = DBTaskResult.objects.aggregate(started=Max("started_at"), finished=Max("finished_at"))
    moments = [value for value in (*jobs.values(), *tasks.values()) if value]
    return max(moments) if moments else None


def heartbeat_metrics():
    now = timezone.now()
    worker_age = _age_seconds(worker_last_seen(), now)
    if worker_age is not None:
        yield GaugeMetricFamily("lofisite_worker_heartbeat_age_seconds",
                                "Seconds since a task worker last showed life (a job heartbeat, a task started "
                                "or finished); grows while the queue is idle.", value=worker_age)

    reachable = shared_cache.healthy()
    backend = "redis" if "redis" in settings.CACHES["default"]["BACKEND"].lower() else "filebased"
    yield _labelled_gauge("lofisite_cache_reachable", "1 while the shared cache answers, 0 while it does not.",
                          {"backend": backend}, 1 if reachable else 0)

    # The scheduler writes its last tick to the shared cache (monitoring.scheduler); unknown while that is down.
    last_tick = shared_cache.get_quietly(LAST_TICK_CACHE_KEY) if reachable else None
    if isinstance(last_tick, (int, float)):
        yield GaugeMetricFamily("lofisite_scheduler_heartbeat_age_seconds",
                                "Seconds since the scheduler's last tick (absent while the cache is unreachable).",
                                value=max(0.0, time.time() - last_tick))


def _labelled_gauge(name, documentation, labels: dict, value):
    family = GaugeMetricFamily(name, documentation, labels=list(labels))
    family.add_metric(list(labels.values()), value)
    return family


def ai_metrics():
    requests = CounterMetricFamily("lofisite_ai_requests", "AI provider calls.",
                                   labels=["model", "request_type", "result"])
    tokens = CounterMetricFamily("lofisite_ai_tokens", "AI tokens used.", labels=["model", "request_type", "kind"])
    images = CounterMetricFamily("lofisite_ai_images", "AI images generated.", labels=["model", "request_type"])
    cost = CounterMetricFamily("lofisite_ai_cost_usd", "AI spend in USD.", labels=["model", "request_type"])
    rows = (AIUsage.objects.values("model", "request_type")
            .annotate(ok=Count("id", filter=Q(success=True)), errors=Count("id", filter=Q(success=False)),
                      prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"), images=Sum("images"),
                      cost=Sum("cost_usd"))
            .order_by("model", "request_type"))
    for row in rows:
        key = [row["model"], row["request_type"]]
        requests.add_metric([*key, "ok"], row["ok"])
        requests.add_metric([*key, "error"], row["errors"])
        tokens.add_metric([*key, "prompt"], row["prompt"] or 0)
        tokens.add_metric([*key, "completion"], row["completion"] or 0)
        images.add_metric(key, row["images"] or 0)
        cost.add_metric(key, float(row["cost"] or 0))
    yield from (requests, tokens, images, cost)

    spend = GaugeMetricFamily("lofisite_ai_month_spend_usd", "USD spent this month, per budget pool.",
                              labels=["user"])
    budget = GaugeMetricFamily("lofisite_ai_monthly_budget_usd", "Monthly AI budget in USD, per budget pool.",
                               labels=["user"])
    for row in ai.spend_by_user():  # pools that spent this month; "system" is the user-less pool
        spend.add_metric([row["username"]], float(row["cost_usd"]))
        budget.add_metric([row["username"]], float(row["budget_usd"]))
    yield spend
    yield budget
