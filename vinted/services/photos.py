"""Photos of listings: upload (typed from bytes, oriented, metadata stripped, resized), order,
cover, delete.

Where the heavy work runs (the choice the issue leaves open): in the request, bounded. A
4000x3000 upright JPEG costs about 0.17 s of one core and 30 MB (stored losslessly, display copy
decoded at reduced scale), a rotated one or another type about 0.33 s (JPEG) to 1.25 s (HEIC)
and 95 MB, under a pixel cap checked before decoding. Two process-wide bounds, whatever the number
of requests (gunicorn threads): at most VINTED_PHOTO_WORKERS photos (default 2: Pillow releases
the GIL while it decodes and encodes, so both cores) are worked on at once, and each first
reserves its working memory, read from its header, from VINTED_PHOTO_MEMORY_MB (default 140):
two upright photos run side by side, a photo decoded in full mostly alone, so a worker stays
under 300 MB with 20 photos in one request. The page's script sends one file per request, so a
page request holds a web thread for well under a second; an API client may send up to
VINTED_PHOTOS_MAX files in one request. Measured in bench/bench_vinted_photos.py
(bench/README.md). A background task would add a "processing" state the seller must wait on for
no gain at this cost, so photos are `ready` when the answer comes
back, or refused with their reason.

Who may: adding to, ordering and deleting a listing's photos is changing the listing
(`Listing.objects.permits(user, listing, "change")`); a listing the user cannot see is not found
(Http404), one they see but may not change is PermissionDenied. A photo belongs to its listing's
owner (or, in a bulk upload not yet grouped, to the batch's owner), whoever uploaded it.
"""

import itertools
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.http import Http404

from accounts.roles import Action
from monitoring.events import record_event

from ..choices import EDITABLE_STATUSES, PhotoStatus
from ..models import DraftBatch, Listing, Photo
from ..photos import PhotoRejected, ProcessedPhoto, process_upload, remove_files

logger = logging.getLogger(__name__)


@dataclass
class PhotoResult:
    """The outcome for one uploaded file: the Photo, or why it was refused. `name` is the client's
    file name, only ever shown back to them (never used to store or type the file)."""

    name: str
    photo: Photo | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.photo is not None


def _client_name(upload) -> str:
    return str(getattr(upload, "name", "") or "file")[:200]


def require_change(user, obj, what):
    """Not found unless the user may see `obj`; PermissionDenied unless they may change it."""
    manager = type(obj)._default_manager
    if not manager.permits(user, obj, Action.VIEW):
        raise Http404(f"No such {what}.")
    if not manager.permits(user, obj, Action.CHANGE):
        raise PermissionDenied(f"You may not change this {what}: it belongs to another user.")


def _check_editable(listing: Listing) -> None:
    if listing.status not in EDITABLE_STATUSES:
        raise ValidationError(f"This listing is {listing.get_status_display().lower()}: its photos can no "
                              "longer be changed here.")


def _capacity(listing, batch) -> tuple[int, str]:
    if listing is not None:
        return settings.VINTED_PHOTOS_MAX, f"A listing has at most {settings.VINTED_PHOTOS_MAX} photos"
    return settings.VINTED_BULK_PHOTOS_MAX, f"A bulk upload has at most {settings.VINTED_BULK_PHOTOS_MAX} photos"


def _target_photos(listing, batch):
    if listing is not None:
        return Photo.objects.filter(listing=listing)
    return Photo.objects.filter(batch=batch, listing__isnull=True)


_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}
_budgets: dict[int, "_MemoryBudget"] = {}


def _photo_slots() -> threading.BoundedSemaphore:
    """VINTED_PHOTO_WORKERS photos at most are worked on at once in this process, whichever requests
    they came in (gunicorn threads): that bounds the cores one web worker takes."""
    size = max(1, settings.VINTED_PHOTO_WORKERS)
    with _slots_lock:
        return _slots.setdefault(size, threading.BoundedSemaphore(size))


class _MemoryBudget:
    """VINTED_PHOTO_MEMORY_MB for the photos being worked on in this process: each reserves what its
    header says it will hold before it is decoded, and waits until that much is free (one bigger
    than the whole budget waits to run alone). Two upright JPEGs of 12 MP fit side by side; a photo
    that must be decoded in full (rotated, PNG, HEIC) takes most of it."""

    def __init__(self, total: int):
        self.total = total
        self.free = total
        self._changed = threading.Condition()
        self._tickets = itertools.count()
        self._serving = 0  # first come, first served: a big photo is not overtaken forever by small ones

    @contextmanager
    def reserve(self, amount: int):
        amount = min(amount, self.total)
        with self._changed:
            ticket = next(self._tickets)
            self._changed.wait_for(lambda: self._serving == ticket and self.free >= amount)
            self._serving += 1
            self.free -= amount
            self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                self.free += amount
                self._changed.notify_all()


def _memory_budget() -> _MemoryBudget:
    total = max(1, settings.VINTED_PHOTO_MEMORY_MB) * 1024 * 1024
    with _slots_lock:
        return _budgets.setdefault(total, _MemoryBudget(total))


def _process(upload) -> ProcessedPhoto | PhotoRejected:
    try:
        with _photo_slots():
            return process_upload(upload, getattr(upload, "size", None), reserve=_memory_budget().reserve)
    except PhotoRejected as exc:
        return exc


def _save(listing, batch, processed: ProcessedPhoto) -> Photo | str:
    """One processed file as a Photo at the end of the order, in its own transaction (so a later
    file's failure never takes an earlier one with it); the count is checked under a lock."""
    limit, limit_text = _capacity(listing, batch)
    with transaction.atomic():
        locked = (Listing if listing is not None else DraftBatch).objects.select_for_update().get(
            pk=(listing or batch).pk)
        photos = _target_photos(listing, batch)
        count = photos.count()
        if count >= limit:
            return f"{limit_text}; this would be photo {count + 1}."
        last = photos.aggregate(last=Max("position"))["last"]
        return Photo.objects.create(
            owner=locked.owner, listing=listing, batch=batch, status=PhotoStatus.READY,
            position=0 if last is None else last + 1,
            original=processed.original, display=processed.display, thumbnail=processed.thumbnail,
            content_type=processed.content_type, width=processed.width, height=processed.height,
            size_bytes=processed.size_bytes, sha256=processed.sha256)


def _discard_unsaved(futures, saved: set[str]) -> None:
    """After a failure while saving: stop what has not started, and remove the files of photos that
    were processed but will get no row (nothing is left behind on disk)."""
    for _, future in futures:
        future.cancel()
    for _, future in futures:
        if future.cancelled():
            continue
        outcome = future.exception() is None and future.result()
        if isinstance(outcome, ProcessedPhoto) and outcome.original not in saved:
            remove_files(outcome.names)


def add_photos(user, files, *, listing=None, batch=None):
    """Add uploaded files to `listing` (or to a bulk `batch`, not yet grouped). One result per file:
    the Photo, or the clear reason it was refused; files already added are never lost."""
    if (listing is None) == (batch is None):
        raise ValueError("add_photos needs a listing or a batch, not both.")
    target = listing if listing is not None else batch
    require_change(user, target, "listing" if listing is not None else "bulk upload")
    if listing is not None:
        _check_editable(listing)
    files = list(files)
    if not files:
        raise ValidationError({"files": "Choose at least one photo."})
    limit, limit_text = _capacity(listing, batch)
    room = limit - _target_photos(listing, batch).count()

    results: list[PhotoResult] = [PhotoResult(_client_name(upload)) for upload in files]
    # Files past the room left are refused before any work is spent on them (checked again under the lock).
    to_process = list(range(min(len(files), max(room, 0))))
    for index in range(len(to_process), len(files)):
        results[index].error = f"{limit_text}; this would be photo {limit - room + index + 1}."
    workers = max(1, min(settings.VINTED_PHOTO_WORKERS, len(to_process)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vinted-photo") as pool:
        # Saved in the files' order as each is ready; each thread holds one decoded photo at a time.
        futures = [(index, pool.submit(_process, files[index])) for index in to_process]
        saved_originals: set[str] = set()
        try:
            for index, future in futures:
                outcome = future.result()
                if isinstance(outcome, PhotoRejected):
                    results[index].error = str(outcome)
                    continue
                saved = _save(listing, batch, outcome)  # on an error, _discard_unsaved removes its files
                if isinstance(saved, str):
                    remove_files(outcome.names)
                    results[index].error = saved
                else:
                    results[index].photo = saved
                    saved_originals.add(outcome.original)
        except BaseException:
            _discard_unsaved(futures, saved_originals)
            raise
    added = sum(result.ok for result in results)
    if added:
        record_event("vinted", "photos.added", "info",
                     f"{added} photo(s) added to {target} by {user}",
                     {"listing": getattr(listing, "pk", None), "batch": getattr(batch, "pk", None),
                      "added": added, "refused": len(results) - added}, user=user, target=target)
    return results


# --- order, cover, delete ----------------------------------------------------------------------------
def _photo_target(photo: Photo):
    return photo.listing if photo.listing_id is not None else photo.batch


def _require_photo_change(user, photo: Photo) -> None:
    if not Photo.objects.permits(user, photo, Action.VIEW):
        raise Http404("No such photo.")
    if not Photo.objects.permits(user, photo, Action.CHANGE):
        raise PermissionDenied("You may not change this photo: it belongs to another user.")
    if photo.listing_id is not None:
        _check_editable(photo.listing)


def _siblings(photo: Photo):
    if photo.listing_id is not None:
        return Photo.objects.filter(listing_id=photo.listing_id)
    return Photo.objects.filter(batch_id=photo.batch_id, listing__isnull=True)


def _renumber(ordered_ids) -> None:
    photos = {p.pk: p for p in Photo.objects.filter(pk__in=ordered_ids)}
    changed = []
    for position, pk in enumerate(ordered_ids):
        if photos[pk].position != position:
            photos[pk].position = position
            changed.append(photos[pk])
    Photo.objects.bulk_update(changed, ["position"])


def _lock(target) -> None:
    type(target).objects.select_for_update().filter(pk=target.pk).first()


@transaction.atomic
def reorder_photos(user, listing: Listing, photo_ids) -> list[Photo]:
    """Put the listing's photos in this order (the first is the cover); the ids must be exactly its photos."""
    require_change(user, listing, "listing")
    _check_editable(listing)
    _lock(listing)
    current = list(Photo.objects.filter(listing=listing).values_list("pk", flat=True))
    wanted = [int(pk) for pk in photo_ids]
    if len(wanted) != len(set(wanted)) or set(wanted) != set(current):
        raise ValidationError({"photos": f"List each of this listing's {len(current)} photo ids once "
                                         f"(it has {sorted(current)})."})
    _renumber(wanted)
    return list(Photo.objects.filter(listing=listing))


@transaction.atomic
def move_photo(user, photo: Photo, offset: int) -> Photo:
    """Move a photo `offset` places (-1 earlier, +1 later); at either end it stays."""
    _require_photo_change(user, photo)
    _lock(_photo_target(photo))
    ordered = list(_siblings(photo).order_by("position", "id").values_list("pk", flat=True))
    index = ordered.index(photo.pk)
    new_index = max(0, min(len(ordered) - 1, index + offset))
    ordered.insert(new_index, ordered.pop(index))
    _renumber(ordered)
    photo.refresh_from_db()
    return photo


@transaction.atomic
def set_cover(user, photo: Photo) -> Photo:
    """Make this photo the cover (position 0); the others keep their order after it."""
    _require_photo_change(user, photo)
    _lock(_photo_target(photo))
    ordered = list(_siblings(photo).order_by("position", "id").values_list("pk", flat=True))
    ordered.remove(photo.pk)
    _renumber([photo.pk, *ordered])
    photo.refresh_from_db()
    record_event("vinted", "photo.cover", "info", f"{photo} is now the cover of {_photo_target(photo)}",
                 {"photo": photo.pk}, user=user, target=_photo_target(photo))
    return photo


@transaction.atomic
def delete_photo(user, photo: Photo) -> None:
    """Delete a photo; its files go once the deletion is committed; the rest close the gap."""
    _require_photo_change(user, photo)
    target = _photo_target(photo)
    _lock(target)
    names = [photo.original.name, photo.display.name, photo.thumbnail.name]
    photo_id = photo.pk
    photo.delete()
    _renumber(list(_siblings(photo).order_by("position", "id").values_list("pk", flat=True)))
    transaction.on_commit(lambda: remove_files(names))
    record_event("vinted", "photo.deleted", "info", f"A photo of {target} was deleted by {user}",
                 {"photo": photo_id}, user=user, target=target)
