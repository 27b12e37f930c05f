"""Thin task wrappers: load ids, call services.

`on_dead` is a dotted path, resolved only when a worker died: so this module uses
nothing of `services` while it is imported, and `services.execution` can import it
at its top to enqueue.
"""

from django.conf import settings

from monitoring.jobs import job

from . import services
from .models import Run


def stage_label(run_id: int) -> str:
    """The name the monitoring page shows for a stage job: "Compose stage of run #34"."""
    run = Run.objects.filter(pk=run_id).first()
    stage = run and next((s for s in run.ordered_stages() if s.status not in services.DONE_STAGE_STATUSES), None)
    return f"{stage.get_name_display()} stage of run #{run_id}" if stage else f"Next stage of run #{run_id}"


@job(
    "pipeline.execute_stage",
    label=stage_label,
    # Stage retries are counted on the Stage row (services); the wrapper only re-enqueues.
    max_attempts=settings.PIPELINE_STAGE_MAX_ATTEMPTS + 5,
    time_limit=settings.PIPELINE_STAGE_TIME_LIMIT_SECONDS,
    on_dead="pipeline.services.execution.on_stage_worker_died",
)
def execute_stage(run_id: int) -> None:
    services.execute_next_stage(run_id)
