"""The pipeline's business metrics for `/metrics` (settings.METRICS_COLLECTORS), read from the database.

Run and stage rows change state (a retry sends a failed run back to queued, a
deleted run takes its stages along), so counts over them are gauges, and the
"how many lately" numbers are counts over a recent window, not counters that
could go down:

- lofisite_pipeline_runs{status}                           runs by current status
- lofisite_pipeline_runs_finished_last_hour{status}         runs that ended in the last hour, by how
- lofisite_pipeline_stages_finished_last_hour{stage,status} stages that ended in the last hour (succeeded/failed)
- lofisite_pipeline_oldest_running_run_seconds             how long the longest-running run has run (0: none)
- lofisite_pipeline_stage_mean_duration_seconds{stage}      mean duration of stages that succeeded in the last 24 h
- lofisite_pipeline_render_seconds_per_audio_second         render time per second of audio, renders of the last 24 h
- lofisite_youtube_uploads{result}                         videos by upload result (all but not-uploaded)
- lofisite_youtube_quota_used_units{bucket}                YouTube quota spent today (Pacific day)
- lofisite_youtube_quota_limit_units{bucket}               the daily limit of that bucket
"""

from collections import defaultdict
from datetime import timedelta

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from .choices import RunStatus, StageName, StageStatus, UploadStatus
from .models import Run, Stage, Video
from .services import queries

FINISHED_RUN_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
FINISHED_STAGE_STATUSES = (StageStatus.SUCCEEDED, StageStatus.FAILED)
RECENT = timedelta(hours=1)
DURATION_WINDOW = timedelta(hours=24)


def collect():
    now = timezone.now()
    yield from run_metrics(now)
    yield from stage_metrics(now)
    yield from youtube_metrics()


def _counts(queryset, *fields) -> dict:
    return {tuple(row[f] for f in fields): row["n"]
            for row in queryset.values(*fields).annotate(n=Count("id")).order_by()}


def run_metrics(now):
    by_status = _counts(Run.objects.all(), "status")
    runs = GaugeMetricFamily("lofisite_pipeline_runs", "Pipeline runs by current status.", labels=["status"])
    for status in RunStatus.values:
        runs.add_metric([status], by_status.get((status,), 0))
    yield runs

    recent = _counts(Run.objects.filter(finished_at__gte=now - RECENT, status__in=FINISHED_RUN_STATUSES), "status")
    finished = GaugeMetricFamily("lofisite_pipeline_runs_finished_last_hour",
                                 "Pipeline runs that ended in the last hour, by status.", labels=["status"])
    for status in FINISHED_RUN_STATUSES:
        finished.add_metric([status], recent.get((status,), 0))
    yield finished

    started = Run.objects.filter(status=RunStatus.RUNNING).aggregate(first=Min("started_at"))["first"]
    yield GaugeMetricFamily("lofisite_pipeline_oldest_running_run_seconds",
                            "Seconds the longest-running pipeline run has been running (0 when none runs).",
                            value=max(0.0, (now - started).total_seconds()) if started else 0.0)


def stage_metrics(now):
    recent = _counts(Stage.objects.filter(finished_at__gte=now - RECENT, status__in=FINISHED_STAGE_STATUSES),
                     "name", "status")
    finished = GaugeMetricFamily("lofisite_pipeline_stages_finished_last_hour",
                                 "Pipeline stages that ended in the last hour, by stage and status.",
                                 labels=["stage", "status"])
    for stage in StageName.values:
        for status in FINISHED_STAGE_STATUSES:
            finished.add_metric([stage, status], recent.get((stage, status), 0))
    yield finished

    # A day of stages is a few dozen rows: durations are summed here, the same way on SQLite and PostgreSQL.
    durations = defaultdict(list)
    render_seconds = audio_seconds = 0.0
    rows = (Stage.objects.filter(status=StageStatus.SUCCEEDED, finished_at__gte=now - DURATION_WINDOW,
                                 started_at__isnull=False)
            .values_list("name", "started_at", "finished_at", "run__video__duration_s"))
    for name, started_at, finished_at, audio_s in rows:
        seconds = max(0.0, (finished_at - started_at).total_seconds())
        durations[name].append(seconds)
        if name == StageName.RENDER and audio_s:
            render_seconds += seconds
            audio_seconds += audio_s
    mean = GaugeMetricFamily("lofisite_pipeline_stage_mean_duration_seconds",
                             "Mean duration of pipeline stages that succeeded in the last 24 hours.",
                             labels=["stage"])
    for name in StageName.values:
        if durations[name]:
            mean.add_metric([name], sum(durations[name]) / len(durations[name]))
    yield mean
    if audio_seconds:
        yield GaugeMetricFamily("lofisite_pipeline_render_seconds_per_audio_second",
                                "Render seconds per second of audio, over renders that succeeded in the last 24 "
                                "hours (below 1: faster than real time).", value=render_seconds / audio_seconds)


def youtube_metrics():
    by_status = _counts(Video.objects.all(), "upload_status")
    uploads = GaugeMetricFamily("lofisite_youtube_uploads", "Videos by YouTube upload result.", labels=["result"])
    for status in UploadStatus.values:
        if status != UploadStatus.NOT_UPLOADED:
            uploads.add_metric([status], by_status.get((status,), 0))
    yield uploads

    used = GaugeMetricFamily("lofisite_youtube_quota_used_units", "YouTube API quota spent today (Pacific day).",
                             labels=["bucket"])
    limit = GaugeMetricFamily("lofisite_youtube_quota_limit_units", "Daily YouTube API quota.", labels=["bucket"])
    for row in queries.quota_summary():
        used.add_metric([row["bucket"]], row["used"])
        limit.add_metric([row["bucket"]], row["limit"])
    yield used
    yield limit
