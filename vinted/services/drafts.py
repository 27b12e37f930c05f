"""AI drafts of listings, one or a batch.

One draft (`draft_listing`): the listing's photos go to the AI gateway (vinted.drafting); each
field of the answer is checked on its own and written only where the seller has not set the
field themselves: a field is the seller's when it is in `edited_fields`, or when it has a value
that no earlier draft wrote (`ai_confidence` has a key for every field a draft wrote).
`overwrite=True` writes over the seller's fields too (and they stop counting as edited).
Without an AI key nothing is invented: only the colours are read from the pixels.

The gateway is called outside any transaction (its ledger row must survive a rollback); the
listing is then locked and read again, so an edit the seller saved meanwhile is kept.

A batch (`start_batch` for any listings, `queue_batch` for the items of a bulk upload) is one
background job (`vinted.tasks.draft_batch`). `DraftBatch.results` holds one entry per listing
id: {"status": "queued" | "ok" | "failed", "message", "filled", "rejected", "needs_user",
"cost_usd"}. Items are drafted in id order; a failure is that item's, never the batch's. A
transient AI error re-raises so the job wrapper retries later (finished items are skipped);
on the job's last attempt it fails that item instead.
"""

import logging
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.roles import Action
from monitoring import ai
from monitoring.events import record_event
from monitoring.jobs import current_attempt, heartbeat
from monitoring.models import AIUsage

from .. import drafting, tasks
from ..choices import EDITABLE_STATUSES, BatchStatus, ListingStatus, PhotoStatus
from ..models import DraftBatch, Listing

logger = logging.getLogger(__name__)

QUEUED, OK, FAILED = "queued", "ok", "failed"
ITEM_STATUSES = (QUEUED, OK, FAILED)
ACTIVE_BATCH_STATUSES = (BatchStatus.QUEUED, BatchStatus.RUNNING)


@dataclass
class DraftResult:
    """What one draft did. `filled`: fields written; `kept`: the seller's fields the draft left
    alone; `rejected`: field -> why the AI's value could not be used; `needs_user`: fields still
    empty that the listing needs; `cost_usd`: this draft's AI cost (0 offline)."""

    listing_id: int
    offline: bool
    model: str = ""
    filled: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    needs_user: list[str] = field(default_factory=list)
    cost_usd: Decimal = Decimal("0")

    def as_dict(self) -> dict:
        return {**asdict(self), "cost_usd": str(self.cost_usd)}


def _require(user, obj, action=Action.CHANGE):
    if not type(obj).objects.permits(user, obj, action):
        raise PermissionDenied("You may not change this listing.")


def draftable_photos(listing):
    return listing.photos.filter(status=PhotoStatus.READY).order_by("position", "id")


def draft_listing(user, listing, *, overwrite=False):
    """Draft `listing` from its photos (AI when configured, honest offline fallback otherwise).
    Fields the seller edited are kept unless `overwrite`. Returns a DraftResult.

    Raises PermissionDenied (not the user's to change), ValidationError (no photo, or a status
    that cannot be edited), and the gateway's errors: BudgetExceeded (nothing sent, nothing
    changed), AITransientError (try later), AIError (an unusable answer; its cost is recorded,
    nothing changed)."""
    _require(user, listing)
    if listing.status not in EDITABLE_STATUSES:
        raise ValidationError(f"A {listing.get_status_display().lower()} listing cannot be drafted again.")
    photos = list(draftable_photos(listing))
    if not photos:
        raise ValidationError({"photos": "Add at least one photo before drafting: the draft is made from them."})
    if not ai.ai_enabled():
        return _draft_offline(listing, photos, overwrite=overwrite)

    catalogue = drafting.Catalogue()
    images = drafting.model_images(photos)
    if not images:
        raise ValidationError({"photos": "None of the photos could be read; upload them again."})
    last_row = AIUsage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    answer, model = drafting.ask_model(user, catalogue, images, currency=listing.currency)
    cost = _cost_since(last_row, user)
    with transaction.atomic():
        listing = Listing.objects.select_for_update().get(pk=listing.pk)
        if listing.status not in EDITABLE_STATUSES:  # moved on (published, sold) during the call
            raise ValidationError(f"The listing became {listing.get_status_display().lower()} while it was "
                                  "being drafted; nothing changed.")
        protected = _protected(listing, overwrite)
        size_category = listing.category if "category" in protected else None
        suggestion = drafting.read_answer(answer, catalogue, size_category=size_category)
        suggestion.model = model
        result = _apply(listing, suggestion, protected, offline=False, cost=cost)
    return result


def _draft_offline(listing, photos, *, overwrite):
    found = drafting.dominant_colours(photos)
    suggestion = drafting.Suggestion(model=drafting.OFFLINE_MODEL)
    if found:
        suggestion.values["colours"] = [colour for colour, _ in found]
        suggestion.confidence["colours"] = found[0][1]
    else:
        suggestion.rejected["colours"] = "No colour could be read from the photos."
    with transaction.atomic():
        listing = Listing.objects.select_for_update().get(pk=listing.pk)
        return _apply(listing, suggestion, _protected(listing, overwrite), offline=True, cost=Decimal("0"))


def _cost_since(last_row: int, user) -> Decimal:
    # The gateway writes one ledger row per call; this call's is this user's first listing_draft row since.
    row = (AIUsage.objects.filter(pk__gt=last_row, user=user, request_type=drafting.REQUEST_TYPE)
           .order_by("pk").values_list("cost_usd", flat=True).first())
    return row if row is not None else Decimal("0")


# --- applying a suggestion ------------------------------------------------------------------------


def has_value(listing, name: str) -> bool:
    if name == "brand":
        return listing.brand_id is not None or listing.no_brand
    if name in ("category", "size"):
        return getattr(listing, f"{name}_id") is not None
    if name == "colours":
        return listing.colours.exists()
    if name in ("title", "description", "hashtags"):
        return bool(getattr(listing, name))
    return getattr(listing, name) is not None


def _protected(listing, overwrite: bool) -> set[str]:
    """The fields that are the seller's (see the module docstring); none when overwriting."""
    if overwrite:
        return set()
    written_by_drafts = set(listing.ai_confidence or {})
    return {name for name in drafting.DRAFT_FIELDS
            if name in (listing.edited_fields or []) or (has_value(listing, name) and name not in written_by_drafts)}


def needs_user(listing) -> list[str]:
    """The draft fields a listing still lacks (hashtags are optional; size only where the category has sizes)."""
    missing = []
    for name in drafting.DRAFT_FIELDS:
        if name == "hashtags":
            continue
        if name == "size" and listing.category_id is not None and not listing.category.needs_size:
            continue
        if not has_value(listing, name):
            missing.append(name)
    return missing


def _apply(listing, suggestion, protected: set[str], *, offline: bool, cost: Decimal) -> DraftResult:
    filled, kept = [], []
    confidence = {name: value for name, value in (listing.ai_confidence or {}).items()
                  if name not in suggestion.values and name not in protected}
    colours = None
    for name in drafting.DRAFT_FIELDS:  # the page's order
        if name not in suggestion.values:
            continue
        value = suggestion.values[name]
        if name == "price":  # the AI's range is a suggestion beside the seller's price, never theirs
            listing.ai_price_min, listing.ai_price_target, listing.ai_price_max = (
                value["min"], value["target"], value["max"])
        if name in protected:
            kept.append(name)
            continue
        if name == "price":
            listing.price = value["target"]
        elif name == "brand":
            listing.brand, listing.no_brand = (None, True) if value == drafting.NO_BRAND else (value, False)
        elif name == "condition":
            listing.condition = value
        elif name == "colours":
            colours = value
        else:
            setattr(listing, name, value)
        filled.append(name)
        confidence[name] = suggestion.confidence.get(name)
    # A field the seller filled is not left for them, whatever the AI answered for it.
    rejected = {name: reason for name, reason in suggestion.rejected.items() if name not in protected}
    listing.ai_confidence = confidence
    listing.ai_rejected = rejected
    listing.ai_model = suggestion.model
    listing.ai_drafted_at = timezone.now()
    listing.ai_cost_usd = cost
    listing.edited_fields = [name for name in listing.edited_fields or [] if name not in filled]
    if filled and listing.status in (ListingStatus.READY, ListingStatus.PREPARED):
        # What was checked changed: it must pass the validator again (and a preparation no longer shows it).
        from .publishing import supersede_for_edit

        supersede_for_edit(listing)
        listing.status, listing.ready_at = ListingStatus.DRAFT, None
    listing.save()
    if colours is not None:
        listing.colours.set(colours)
    if "category" in filled and listing.size_id is not None and "size" not in filled and "size" not in protected:
        # A size of the old category's group no longer fits.
        if listing.size.group != listing.category.size_group:
            listing.size = None
            listing.save(update_fields=["size", "updated_at"])
    return DraftResult(listing_id=listing.pk, offline=offline, model=suggestion.model, filled=filled, kept=kept,
                       rejected=rejected, needs_user=needs_user(listing), cost_usd=cost)


def last_draft(listing) -> dict | None:
    """The last draft as the listing's panel shows it, or None before the first one."""
    if listing.ai_drafted_at is None:
        return None
    confidence = listing.ai_confidence or {}
    return {
        "offline": listing.ai_model == drafting.OFFLINE_MODEL,
        "model": listing.ai_model,
        "drafted_at": listing.ai_drafted_at,
        "cost_usd": listing.ai_cost_usd,
        "confidence": [(drafting.FIELD_LABELS.get(name, name), value) for name, value in confidence.items()],
        "rejected": [(drafting.FIELD_LABELS.get(name, name), reason)
                     for name, reason in (listing.ai_rejected or {}).items()],
        "price_range": (listing.ai_price_min, listing.ai_price_target, listing.ai_price_max)
        if listing.ai_price_target is not None else None,
    }


def ai_error_text(exc: ai.AIError) -> str:
    """A gateway error as the seller reads it on a page or at a shell."""
    if isinstance(exc, ai.BudgetExceeded):
        return f"{exc} Nothing was sent and nothing changed."
    if isinstance(exc, ai.AITransientError):
        return f"The AI service is unavailable right now ({exc}). Nothing changed; try again in a minute."
    return f"{exc} Nothing changed; try again, or fill in the fields yourself."


def edited_draft_fields(listing) -> list[str]:
    """The draft fields the seller set by hand (what "overwrite my edits" would replace)."""
    return [name for name in drafting.DRAFT_FIELDS if name in (listing.edited_fields or [])]


def field_labels(names) -> list[str]:
    return [drafting.FIELD_LABELS.get(name, name) for name in names]


# --- batches ---------------------------------------------------------------------------------------


def start_batch(user, listings):
    """Queue one background job that drafts every listing; returns the DraftBatch (live progress)."""
    listings = list(listings)
    if not listings:
        raise ValidationError({"listings": "Choose at least one listing to draft."})
    if not DraftBatch.objects.can_add(user):
        raise PermissionDenied("Your role cannot draft listings.")
    for listing in listings:
        _require(user, listing)
    with transaction.atomic():
        batch = DraftBatch.objects.create(owner=user)
        return _queue(batch, [listing.pk for listing in listings])


def queue_batch(user, batch):
    """Draft every item of a batch (the listings grouped from its bulk upload, and those it drafted
before) again, in the background."""
    _require(user, batch)
    listing_ids = list(batch_listings(user, batch, Action.CHANGE).values_list("pk", flat=True))
    if not listing_ids:
        raise ValidationError("This batch has no items yet: group its photos into items first.")
    with transaction.atomic():
        batch = DraftBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status in ACTIVE_BATCH_STATUSES and batch.results:
            raise ValidationError("This batch is already being drafted; wait for it to finish.")
        return _queue(batch, listing_ids)


def batch_listings(user, batch, action=Action.VIEW):
    """The batch's items the user may take `action` on: the listings grouped from its bulk upload
    and those it drafted before."""
    ids = [int(pk) for pk in batch.results]
    return (Listing.objects.restrict(user, action).filter(Q(batch=batch) | Q(pk__in=ids))
            .distinct().order_by("pk"))


def _queue(batch, listing_ids):
    batch.results = {str(pk): {"status": QUEUED} for pk in listing_ids}
    batch.total, batch.done, batch.failed = len(listing_ids), 0, 0
    batch.status, batch.error, batch.finished_at = BatchStatus.QUEUED, "", None
    batch.save()
    tasks.draft_batch.enqueue(batch.pk)  # commits (or rolls back) with the batch
    return batch


def pending_ids(batch) -> list[int]:
    return sorted(int(pk) for pk, entry in batch.results.items() if entry.get("status") == QUEUED)


def run_batch(batch_id: int):
    """The job's body: draft each pending item, record it, then settle the batch."""
    batch = DraftBatch.objects.select_related("owner").filter(pk=batch_id).first()
    if batch is None or batch.status not in ACTIVE_BATCH_STATUSES:
        return batch
    DraftBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING)
    for listing_id in pending_ids(batch):
        finished = batch.done + batch.failed
        heartbeat(progress=finished / batch.total if batch.total else None,
                  message=f"Drafting listing #{listing_id} ({finished + 1} of {batch.total})")
        batch = _draft_item(batch, listing_id)
    return _finish(batch)


def _draft_item(batch, listing_id: int):
    listing = Listing.objects.filter(pk=listing_id).first()
    if listing is None:
        return _settle(batch, listing_id, FAILED, "The listing was deleted.")
    try:
        result = draft_listing(batch.owner, listing)
    except ai.AITransientError as exc:
        attempt = current_attempt()
        if attempt is not None and attempt < tasks.draft_batch.max_attempts:
            raise  # the wrapper retries the job later; the items settled so far stay settled
        return _settle(batch, listing_id, FAILED, str(exc))
    except (ai.AIError, ValidationError, PermissionDenied) as exc:
        message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        return _settle(batch, listing_id, FAILED, message)
    except Exception as exc:  # one item's bug must not stop the others
        logger.exception("Draft of listing #%s in batch #%s failed", listing_id, batch.pk)
        return _settle(batch, listing_id, FAILED, f"Unexpected error ({type(exc).__name__}); see the server log.")
    summary = f"Filled {len(result.filled)} field(s)" + (
        f", {len(result.rejected)} left for you" if result.rejected else "") + "."
    return _settle(batch, listing_id, OK, summary, filled=result.filled, rejected=result.rejected,
                   needs_user=result.needs_user, cost_usd=str(result.cost_usd), offline=result.offline)


def _settle(batch, listing_id: int, status: str, message: str, **details):
    with transaction.atomic():
        batch = DraftBatch.objects.select_for_update().select_related("owner").get(pk=batch.pk)
        if batch.results.get(str(listing_id), {}).get("status") != QUEUED:
            return batch  # settled already (a worker that was declared dead finished it)
        batch.results[str(listing_id)] = {"status": status, "message": message[:500], **details}
        if status == OK:
            batch.done += 1
        else:
            batch.failed += 1
        batch.save(update_fields=["results", "done", "failed"])
    return batch


def _finish(batch):
    if pending_ids(batch):
        return batch
    if batch.failed == 0:
        status, event_status = BatchStatus.SUCCEEDED, "succeeded"
    elif batch.done == 0:
        status, event_status = BatchStatus.FAILED, "failed"
    else:
        status, event_status = BatchStatus.PARTIAL, "warning"
    updated = DraftBatch.objects.filter(pk=batch.pk, status__in=ACTIVE_BATCH_STATUSES).update(
        status=status, finished_at=timezone.now())
    batch.refresh_from_db()
    if updated:
        record_event("vinted", "batch.finished", event_status,
                     f"{batch}: {batch.done} of {batch.total} drafted, {batch.failed} failed.",
                     {"batch": batch.pk, "total": batch.total, "done": batch.done, "failed": batch.failed},
                     user=batch.owner, target=batch)
    return batch


def on_batch_worker_died(job_run) -> None:
    """monitoring's stale-job recovery: the item being drafted when the worker died fails (so a
    photo that kills the worker cannot do it forever); the batch resumes with the others."""
    batch_id = (job_run.args or [None])[0]
    batch = DraftBatch.objects.filter(pk=batch_id).first()
    if batch is None or batch.status not in ACTIVE_BATCH_STATUSES:
        return
    pending = pending_ids(batch)
    if pending:
        batch = _settle(batch, pending[0], FAILED, "The worker stopped while drafting this item.")
    record_event("vinted", "batch.recovered", "warning", f"{batch}: its worker stopped; resuming.",
                 {"batch": batch.pk}, user=batch.owner, target=batch)
    if pending_ids(batch):
        tasks.draft_batch.enqueue(batch.pk)
    else:
        _finish(batch)


def batch_items(user, batch) -> list[dict]:
    """The batch's results with the listings the user may see (one query), in id order."""
    ids = sorted(int(pk) for pk in batch.results)
    listings = Listing.objects.restrict(user).in_bulk(ids)
    items = []
    for pk in ids:
        entry = batch.results[str(pk)]
        items.append({"id": pk, "listing": listings.get(pk), "status": entry.get("status", QUEUED),
                      "message": entry.get("message", ""), "rejected": field_labels(entry.get("rejected") or {}),
                      "needs_user": field_labels(entry.get("needs_user") or [])})
    return items


def batch_progress(batch) -> float:
    return (batch.done + batch.failed) / batch.total if batch.total else 0.0
