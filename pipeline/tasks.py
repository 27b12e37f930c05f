"""Thin task wrappers: load ids, call services."""

from django.conf import settings

from monitoring.jobs import job

from . import services


@job(
    "pipeline.execute_stage",
    # Stage retries are counted on the Stage row (services); the wrapper only re-enqueues.
    max_attempts=settings.PIPELINE_STAGE_MAX_ATTEMPTS + 5,
    time_limit=settings.PIPELINE_STAGE_TIME_LIMIT_SECONDS,
    on_dead=services.on_stage_worker_died,
)
def execute_stage(run_id: int) -> None:
    services.execute_next_stage(run_id)
