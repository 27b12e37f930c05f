"""Thin job wrappers of the Vinted desk: load ids, call services.

`vinted.services.drafts` enqueues these, so this module imports it only inside the job
body (and names `on_dead` by its dotted path)."""

from django.conf import settings

from monitoring.jobs import job


def batch_label(batch_id: int) -> str:
    return f"AI draft of batch #{batch_id}"


@job(
    "vinted.draft_batch",
    label=batch_label,
    # A transient AI error retries the job with backoff; finished items are never drafted again.
    max_attempts=settings.VINTED_DRAFT_BATCH_MAX_ATTEMPTS,
    on_dead="vinted.services.drafts.on_batch_worker_died",
)
def draft_batch(batch_id: int) -> dict:
    from .services.drafts import run_batch

    batch = run_batch(batch_id)
    return {"done": batch.done, "failed": batch.failed} if batch is not None else {}


# --- relist: delete the old item on Vinted (vinted.services.relist) ---------------------------------------
def delete_item_label(listing_id: int) -> str:
    return f"Delete listing #{listing_id} on Vinted"


@job("vinted.delete_item", label=delete_item_label)
def delete_item(listing_id: int) -> dict:
    # Rate limits and Vinted's 5xx are TransientError: retried with backoff; a block, an expired session
    # or a refusal fails the run, which the listing pages show.
    from .services.relist import delete_on_vinted

    return delete_on_vinted(listing_id)
