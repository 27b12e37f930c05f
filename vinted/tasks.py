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
# --- publishing (vinted.services.publishing) ---------------------------------------------------

# A transient fault (Vinted's 429/5xx, no free browser slot) retries; the last attempt fails visibly.
PUBLISHING_MAX_ATTEMPTS = 3


def prepare_label(publication_id: int) -> str:
    return f"Prepare Vinted publication #{publication_id}"


def publish_label(publication_id: int) -> str:
    return f"Publish Vinted publication #{publication_id}"


@job("vinted.prepare_publication", label=prepare_label, max_attempts=PUBLISHING_MAX_ATTEMPTS,
     time_limit=settings.VINTED_BROWSER_TIMEOUT_SECONDS * 5,
     on_dead="vinted.services.publishing.on_prepare_worker_died")
def prepare_publication(publication_id: int) -> dict:
    from .services.publishing import run_prepare

    publication = run_prepare(publication_id)
    return {"status": publication.status} if publication is not None else {}


@job("vinted.publish_publication", label=publish_label, max_attempts=PUBLISHING_MAX_ATTEMPTS,
     time_limit=settings.VINTED_BROWSER_TIMEOUT_SECONDS * 5,
     on_dead="vinted.services.publishing.on_publish_worker_died")
def publish_publication(publication_id: int) -> dict:
    from .services.publishing import run_publish

    publication = run_publish(publication_id)
    if publication is None:
        return {}
    return {"status": publication.status, "item_id": publication.vinted_item_id}
# --- inbox (vinted.services.inbox) ------------------------------------------------------------

def inbox_sync_label(account_id: int) -> str:
    return f"Inbox sync of Vinted account #{account_id}"


@job("vinted.sync_inbox", label=inbox_sync_label, max_attempts=3)
def sync_inbox(account_id: int) -> dict:
    # A 401 or a block stops here (not transient): the ledger already set the account's status.
    from .services.inbox import sync_account_id

    return sync_account_id(account_id)


def reply_label(message_id: int) -> str:
    return f"Vinted reply #{message_id}"


@job("vinted.send_reply", label=reply_label, max_attempts=5, on_dead="vinted.services.inbox.on_reply_worker_died")
def send_reply(message_id: int) -> dict:
    from .services.inbox import deliver_reply

    return deliver_reply(message_id)


# --- price drops (vinted.services.price_drops) ---------------------------------------------------------
def drop_price_label(listing_id: int, due_at: str | None = None) -> str:
    return f"Price drop of listing #{listing_id}"


@job("vinted.drop_price", label=drop_price_label, max_attempts=5)
def drop_price(listing_id: int, due_at: str | None = None) -> dict:
    # `due_at`: when the scheduler found it due (ISO); the job checks again at max(that, now).
    # A 429, a 5xx or the hourly write limit retries (TransientError); anything else is recorded.
    from datetime import datetime

    from .services.price_drops import drop_price as run

    return run(listing_id, datetime.fromisoformat(due_at) if due_at else None)


def push_price_label(listing_id: int) -> str:
    return f"Send the new price of listing #{listing_id} to Vinted"


@job("vinted.push_price", label=push_price_label, max_attempts=5)
def push_price(listing_id: int) -> dict:
    from .services.price_drops import push_price as run

    return run(listing_id)


# --- reposts (vinted.services.repost_steps) ----------------------------------------------------------
def repost_label(repost_id: int) -> str:
    return f"Repost #{repost_id} on Vinted"


# Each run moves the repost on as far as it goes (relist + prepare, publish, delete the old); the scheduler
# hook (vinted.services.reposts.run_due_reposts) enqueues the next run from the row, so nothing waits in memory.
# A transient fault (the hourly write limit, Vinted's 429/5xx) retries; the last attempt fails the repost
# (vinted.services.repost_steps reads REPOST_MAX_ATTEMPTS to know which attempt is the last).
REPOST_MAX_ATTEMPTS = 3


@job("vinted.repost", label=repost_label, max_attempts=REPOST_MAX_ATTEMPTS)
def repost(repost_id: int) -> dict:
    from .services.repost_steps import advance

    return advance(repost_id)
