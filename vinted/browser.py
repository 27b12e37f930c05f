"""Chromium for Vinted pages: a bounded pool shared by all workers, and the new-item form flows.

    filled = prepare_form(account, values, photo_paths)     # fills, reads back, screenshots; never submits
    result = publish_form(account, {"values": ..., "photo_hashes": ...}, photo_paths)  # {"item_id", "url"}

The pool: at most settings.VINTED_MAX_BROWSERS Chromium instances across every process, one
`BrowserLease` row per slot, claimed with a conditional UPDATE and an expiry that each step renews
(a holder that died lets its slot lapse). A caller waits for a slot up to
VINTED_BROWSER_TIMEOUT_SECONDS, calling `heartbeat()` meanwhile, then gets BrowsersBusy (transient:
the job wrapper retries).

Chromium is closed on every path: page, context, browser and the Playwright driver are closed in
`finally` blocks, which also run for KeyboardInterrupt and SystemExit. django-tasks-db's db_worker
lets the running task finish on the first SIGTERM/SIGINT and raises SystemExit (sys.exit(1)) inside
it on the second, so a worker shut down in either way closes its browser. The driver is a child of
this process that exits (closing its browsers) when our end of its pipe goes, so even a SIGKILLed
worker leaves no Chromium behind.

Every page step goes through the risk ledger (`vinted.ledger.guard`) and is checked for blocks,
captchas and the login page (vinted.site); Chromium itself (launch failures, crashes) goes through
the "playwright" circuit breaker, where a Vinted block does not count.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import httpx
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from monitoring.breakers import breaker
from monitoring.jobs import TransientError, heartbeat

from . import site
from .choices import CallKind
from .ledger import VintedError, VintedUnavailable, ensure_usable, guard
from .models import BrowserLease

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 900}
# Every Chromium process we start carries its lease holder in this environment variable, so that a
# left-over one can be found (and the tests check none is left).
HOLDER_ENV = "LOFISITE_BROWSER_HOLDER"
# How long the pool waits between two attempts to claim a slot.
SLOT_POLL_SECONDS = 0.25


class BrowsersBusy(TransientError):
    """Every Chromium slot stayed taken for VINTED_BROWSER_TIMEOUT_SECONDS; retry later."""


class ChromiumFailed(TransientError):
    """Chromium would not start, or crashed: a failure of the "playwright" breaker, retried later."""


class ReadBackMismatch(VintedError):
    """What the form holds differs from what was to be filled; nothing was submitted.

    `difference` is {field: {"expected": x, "found": y}} ("photo_hashes" for the photos)."""

    def __init__(self, difference: dict):
        self.difference = difference
        names = ", ".join(sorted(difference))
        super().__init__(f"The Vinted form did not keep what was filled ({names}); nothing was submitted.")


class FormChanged(VintedError):
    """The new-item page lacks a field vinted.site expects: Vinted changed its page (not retried; the
    selectors in vinted/site.py need updating)."""


class SubmitUnconfirmed(VintedError):
    """The form was submitted but Vinted showed no item page: it may or may not be listed, so this is
    not retried (a retry could list it twice)."""


@dataclass
class FilledForm:
    values: dict  # read back from the form; keys = site.FORM_FIELDS
    photo_hashes: list[str]  # sha256 hex of each uploaded photo, in order, as the page shows them
    screenshot: bytes  # full-page PNG


# =============================================================================================
# The pool of Chromium slots
# =============================================================================================

def _step_seconds() -> float:
    return float(settings.VINTED_BROWSER_TIMEOUT_SECONDS)


def _lease_seconds() -> float:
    # Renewed at every step and while waiting for the browser, so it only has to outlast one step,
    # the ledger's wait before a write, and the close.
    return 3 * _step_seconds() + float(getattr(settings, "VINTED_WRITE_WAIT_MAX_SECONDS", 0)) + 30


def _ensure_slots(count: int) -> None:
    existing = set(BrowserLease.objects.filter(slot__lte=count).values_list("slot", flat=True))
    missing = [BrowserLease(slot=slot) for slot in range(1, count + 1) if slot not in existing]
    if missing:
        BrowserLease.objects.bulk_create(missing, ignore_conflicts=True)


def _try_claim(holder: str, count: int) -> int | None:
    now = timezone.now()
    for slot in range(1, count + 1):
        free = Q(expires_at__isnull=True) | Q(expires_at__lt=now)
        if BrowserLease.objects.filter(free, slot=slot).update(
                holder=holder, expires_at=now + timedelta(seconds=_lease_seconds())):
            return slot
    return None


class Lease:
    RENEW_EVERY_SECONDS = 10

    def __init__(self, slot: int, holder: str):
        self.slot, self.holder = slot, holder
        self.renewed = time.monotonic()

    def renew(self) -> None:
        """Push the expiry on; BrowsersBusy if the slot lapsed and another holder took it meanwhile
        (then two Chromiums would run: this flow stops)."""
        if not BrowserLease.objects.filter(slot=self.slot, holder=self.holder).update(
                expires_at=timezone.now() + timedelta(seconds=_lease_seconds())):
            raise BrowsersBusy(f"Browser slot {self.slot} lapsed and was taken by another worker; stopping.",
                               retry_after=_step_seconds())
        self.renewed = time.monotonic()

    def renew_if_due(self) -> None:
        if time.monotonic() - self.renewed >= self.RENEW_EVERY_SECONDS:
            self.renew()

    def release(self) -> None:
        BrowserLease.objects.filter(slot=self.slot, holder=self.holder).update(holder="", expires_at=None)


@contextmanager
def browser_slot():
    """Hold one of the VINTED_MAX_BROWSERS slots for the block; BrowsersBusy if none frees in time."""
    count = max(1, int(settings.VINTED_MAX_BROWSERS))
    holder = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"[:200]
    _ensure_slots(count)
    deadline = time.monotonic() + _step_seconds()
    while (slot := _try_claim(holder, count)) is None:
        if time.monotonic() >= deadline:
            raise BrowsersBusy(f"All {count} browser slot(s) stayed busy for {_step_seconds():g} s.",
                               retry_after=_step_seconds())
        heartbeat(message="Waiting for a free browser")
        time.sleep(SLOT_POLL_SECONDS)
    lease = Lease(slot, holder)
    try:
        yield lease
    finally:
        lease.release()


# =============================================================================================
# One Chromium, closed on every path
# =============================================================================================

def _cookies_for(account) -> list[dict]:
    jar = json.loads(account.cookies) if account.cookies else {}
    url = site.base_url(account.domain)
    return [{"name": name, "value": str(value), "url": url} for name, value in jar.items()]


class _Outcome:
    def __init__(self):
        self.done = threading.Event()
        self.result = self.error = None


class _BrowserThread:
    """The one thread that drives Playwright for a flow. Playwright's sync API keeps an asyncio loop
    running in its thread, where Django's ORM refuses to run (SynchronousOnlyOperation), so the ledger,
    the lease and the job's heartbeat stay in the caller's thread and every browser action is handed
    to this thread, one at a time."""

    def __init__(self):
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="vinted-browser", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while (item := self._calls.get()) is not None:
            fn, outcome = item
            try:
                outcome.result = fn()
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
                outcome.error = exc
            outcome.done.set()

    def run(self, fn, *, wait: float | None = None, while_waiting=None):
        """fn() in the browser thread; heartbeats (and calls `while_waiting`) while waiting.
        TimeoutError past `wait` seconds."""
        outcome = _Outcome()
        self._calls.put((fn, outcome))
        deadline = None if wait is None else time.monotonic() + wait
        while not outcome.done.wait(0.5):
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError("the browser thread did not answer")
            heartbeat()
            if while_waiting is not None:
                while_waiting()
        if outcome.error is not None:
            raise outcome.error
        return outcome.result

    def stop(self, wait: float) -> None:
        self._calls.put(None)
        self._thread.join(wait)


def _kill_leftovers(holder: str) -> None:
    """Kill any process still carrying our holder mark (a Chromium that a failed close left behind)."""
    import psutil

    for process in psutil.process_iter():
        try:
            if process.environ().get(HOLDER_ENV) == holder:
                process.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue


@contextmanager
def _chromium_page(account):
    """A page of a fresh Chromium with the account's session, in a slot of the pool."""
    from playwright.sync_api import Error as PlaywrightError

    # An account that may not call Vinted now (needs login, cooling down) is refused before a browser starts.
    ensure_usable(account)
    step_ms = _step_seconds() * 1000
    user_agent = str(account.user_agent) or None
    cookies = _cookies_for(account)
    with browser_slot() as lease:
        thread = _BrowserThread()
        handles: dict = {}

        def open_page():
            from playwright.sync_api import sync_playwright

            handles["driver"] = sync_playwright().start()
            handles["browser"] = handles["driver"].chromium.launch(
                executable_path=settings.PLAYWRIGHT_CHROMIUM_EXECUTABLE, args=CHROMIUM_ARGS, headless=True,
                timeout=step_ms, env={**os.environ, HOLDER_ENV: lease.holder})
            handles["context"] = handles["browser"].new_context(user_agent=user_agent, viewport=VIEWPORT)
            handles["context"].set_default_timeout(step_ms)
            handles["context"].set_default_navigation_timeout(step_ms)
            handles["context"].add_cookies(cookies)
            handles["page"] = handles["context"].new_page()

        def close_all():
            _close_all(*(handles.get(name) for name in ("page", "context", "browser", "driver")))

        def crashed() -> bool:
            return "browser" in handles and not handles["browser"].is_connected()

        try:
            # Only Chromium's own failures (ChromiumFailed) count against the breaker, not Vinted's answers.
            with breaker("playwright", counts_as_failure=lambda exc: isinstance(exc, ChromiumFailed)):
                try:
                    thread.run(open_page, while_waiting=lease.renew_if_due)
                    yield _Steps(account, handles["page"], lease, thread)
                except PlaywrightError as exc:
                    text = exc.message or str(exc)
                    first_line = text.splitlines()[0] if text else type(exc).__name__
                    if "page" not in handles:
                        raise ChromiumFailed(f"Chromium did not start: {first_line}") from exc
                    if thread.run(crashed, wait=_step_seconds()) or "closed" in first_line.lower():
                        raise ChromiumFailed(f"Chromium stopped: {first_line}") from exc
                    raise
        finally:
            try:
                thread.run(close_all, wait=_step_seconds() + 10)
            except Exception:  # noqa: BLE001 - a stuck or failed close: the kill below ends what is left
                pass
            finally:  # even when interrupted while closing (the interrupt goes on up)
                thread.stop(wait=5)
                _kill_leftovers(lease.holder)


def _close_all(*things) -> None:
    """Close page, context, browser and driver (in that order); a close that fails must not stop the
    next one, and stopping the driver ends any Chromium left."""
    for thing in things:
        if thing is None:
            continue
        try:
            thing.stop() if hasattr(thing, "stop") else thing.close()
        except Exception:  # noqa: BLE001 - already closed or crashed: the next close still runs
            pass


class _Steps:
    """The steps of a flow on one page, each through the risk ledger with its own timeout; the page
    itself is only touched in the browser thread (`self.run`)."""

    def __init__(self, account, page, lease, thread):
        self.account, self.page, self.lease, self.thread = account, page, lease, thread

    def run(self, fn):
        return self.thread.run(fn, while_waiting=self.lease.renew_if_due)

    @contextmanager
    def step(self, action: str, what: str, kind: str = CallKind.READ):
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        heartbeat(message=what)
        self.lease.renew()
        with guard(self.account, kind=kind, action=action, what=what) as call:
            try:
                yield call
            except PlaywrightTimeout as exc:
                raise VintedUnavailable(f"Vinted's page did not answer within {_step_seconds():g} s ({what}).") \
                    from exc

    def check_page(self, call, status=None, headers=None) -> None:
        """Raise what the page we are on means (login page, captcha, block), through the ledger: first
        the HTTP answer of the navigation, then the page as rendered (Chromium shows challenge pages
        with status 200), as site.classify_page reads it."""
        url, content = self.run(lambda: (self.page.url, self.page.content()))
        if status is not None:  # Playwright lower-cases header names; classify reads "Retry-After"
            call.answer(status, httpx.Headers(headers or {}), content, url)
        call.answer(200, {"content-type": "text/html"}, content, url)

    def open_form(self, action: str) -> None:
        url = site.base_url(self.account.domain) + site.NEW_ITEM_PATH
        with self.step(action, f"GET {site.NEW_ITEM_PATH}") as call:
            def goto():
                response = self.page.goto(url, wait_until="load")
                return (response.status, response.headers) if response is not None else (None, None)

            status, headers = self.run(goto)
            self.check_page(call, status, headers)

    def upload_photos(self, action: str, photo_paths: list[str]) -> list[str]:
        page = self.page

        def uploaded():
            error = page.locator(site.PHOTO_UPLOAD_ERROR)
            if error.count():
                return "error", (int(error.first.get_attribute("data-status") or 0), error.first.inner_text())
            if page.locator(site.PHOTO_ITEM).count() >= len(photo_paths):
                return "done", None
            page.wait_for_timeout(100)
            return "waiting", None

        with self.step(action, f"upload {len(photo_paths)} photo(s)") as call:
            self.run(lambda: page.locator(site.PHOTO_INPUT).set_input_files(photo_paths))
            deadline = time.monotonic() + _step_seconds()
            while (state := self.run(uploaded))[0] == "waiting":
                if time.monotonic() >= deadline:
                    raise VintedUnavailable(f"The photos were not uploaded within {_step_seconds():g} s.")
                heartbeat(message="Uploading photos")
            if state[0] == "error":
                status, text = state[1]
                call.answer(status, {}, text, site.base_url(self.account.domain) + "/api/v2/photos")
                raise VintedUnavailable(f"Vinted refused a photo ({status}).")
            return self.run(self.photo_hashes)

    def photo_hashes(self) -> list[str]:
        items = self.page.locator(site.PHOTO_ITEM)
        return [items.nth(index).get_attribute(site.PHOTO_HASH_ATTRIBUTE) or "" for index in range(items.count())]

    def fill(self, action: str, values: dict, expected_hashes: list[str], shown_hashes: list[str]) -> dict:
        """Fill every field of site.FORM_FIELDS from `values`, read them all back and compare (values
        and photo hashes): ReadBackMismatch on any difference. Returns the values read back."""
        def fill_and_read():
            from playwright.sync_api import TimeoutError as PlaywrightTimeout

            for key, (kind, selector) in site.FORM_FIELDS.items():
                try:
                    self.page.locator(selector).first.wait_for(state="attached")
                except PlaywrightTimeout:
                    raise FormChanged(f"The Vinted form has no {key} field ({selector}): Vinted changed its page, "
                                      "so vinted/site.py needs updating.") from None
                _fill_field(self.page, kind, selector, values.get(key, [] if kind == "checkboxes" else ""))
            return {key: _read_field(self.page, kind, selector) for key, (kind, selector) in site.FORM_FIELDS.items()}

        with self.step(action, "fill and read back the form"):
            found = self.run(fill_and_read)
            diff = difference(values, found, expected_hashes, shown_hashes)
            if diff:
                raise ReadBackMismatch(diff)
            return found

    def screenshot(self, action: str) -> bytes:
        with self.step(action, "screenshot"):
            return self.run(lambda: self.page.screenshot(full_page=True, type="png"))

    def submit(self) -> dict:
        """The one write: submit, then read the new item's id from the page Vinted lands on. Once the
        button was clicked, nothing is retried (a retry could list the item twice): a timeout, a crash
        or a 5xx then is SubmitUnconfirmed, which tells the seller to look on Vinted first."""
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        button = self.page.locator(site.SUBMIT_BUTTON)
        unconfirmed = ("Vinted did not confirm the new item ({}): check the account's items on Vinted before "
                       "publishing again.")

        def find_button():
            try:
                button.wait_for(state="visible")
            except PlaywrightTimeout:
                raise FormChanged(f"The Vinted form has no submit button ({site.SUBMIT_BUTTON}): Vinted changed "
                                  "its page, so vinted/site.py needs updating.") from None

        def click_and_wait():
            with self.page.expect_navigation(wait_until="load") as navigation:
                button.click()
            response = navigation.value
            return (response.status, response.headers) if response is not None else (None, None)

        with self.step("publish", "submit the new item", kind=CallKind.WRITE) as call:
            self.run(find_button)
            try:
                status, headers = self.run(click_and_wait)
            except PlaywrightTimeout as exc:
                raise SubmitUnconfirmed(unconfirmed.format("no answer in time")) from exc
            except PlaywrightError as exc:
                raise SubmitUnconfirmed(unconfirmed.format("the browser stopped")) from exc
            try:
                self.check_page(call, status, headers)
            except VintedUnavailable as exc:
                raise SubmitUnconfirmed(unconfirmed.format(str(exc))) from exc
            url = self.run(lambda: self.page.url)
            item_id = site.item_id_from_url(url)
            if item_id is None:
                raise SubmitUnconfirmed(unconfirmed.format("no item page after the submit"))
            return {"item_id": item_id, "url": url}


def _fill_field(page, kind: str, selector: str, value) -> None:
    if kind == "text":
        page.locator(selector).fill(str(value))
    elif kind == "select":
        page.locator(selector).select_option(value=str(value))
    elif kind == "radio":
        option = page.locator(f'{selector}[value="{value}"]')
        if option.count() != 1:
            raise VintedError(f"The Vinted form offers no choice {value!r} for {selector}.")
        option.click()
    elif kind == "checkboxes":
        wanted = {str(v) for v in value}
        boxes = page.locator(selector)
        offered = {boxes.nth(i).get_attribute("value") for i in range(boxes.count())}
        if wanted - offered:
            raise VintedError(f"The Vinted form offers no choice {sorted(wanted - offered)} for {selector}.")
        for index in range(boxes.count()):
            box = boxes.nth(index)
            # A click, not check(): a page that undoes it is for the read-back to catch, not an error here.
            if box.is_checked() != (box.get_attribute("value") in wanted):
                box.click()
    else:
        raise ValueError(f"unknown field kind {kind!r}")


def _read_field(page, kind: str, selector: str):
    if kind in ("text", "select"):
        return page.locator(selector).input_value()
    boxes = page.locator(selector)
    checked = [boxes.nth(i).get_attribute("value") for i in range(boxes.count()) if boxes.nth(i).is_checked()]
    if kind == "radio":
        return checked[0] if checked else ""
    return checked


# =============================================================================================
# The flows
# =============================================================================================

def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _normalised(key: str, value):
    if site.FORM_FIELDS[key][0] == "checkboxes":
        return sorted(str(v) for v in (value or []))  # the page decides the order of ticked boxes
    return "" if value is None else str(value)


def difference(expected_values: dict, found_values: dict, expected_hashes: list[str],
               found_hashes: list[str]) -> dict:
    """{field: {"expected", "found"}} for each field (and "photo_hashes") that differs."""
    diff = {}
    for key in site.FORM_FIELDS:
        expected, found = _normalised(key, expected_values.get(key)), _normalised(key, found_values.get(key))
        if expected != found:
            diff[key] = {"expected": expected_values.get(key), "found": found_values.get(key)}
    if list(expected_hashes) != list(found_hashes):
        diff["photo_hashes"] = {"expected": list(expected_hashes), "found": list(found_hashes)}
    return diff


def prepare_form(account, values: dict, photo_paths: list[str]) -> FilledForm:
    """Open the new-item page with the account's session, upload the photos in order, fill every field,
    read it all back and take a full-page screenshot. Never submits. A read-back that differs from
    `values` or from the files' hashes raises ReadBackMismatch; blocks, captchas and the login page
    raise vinted.ledger's errors."""
    expected_hashes = [file_sha256(path) for path in photo_paths]

    def flow():
        with _chromium_page(account) as steps:
            steps.open_form("prepare")
            hashes = steps.upload_photos("prepare", photo_paths)
            found = steps.fill("prepare", values, expected_hashes, hashes)
            return FilledForm(values=found, photo_hashes=hashes, screenshot=steps.screenshot("prepare"))

    return flow()


def publish_form(account, snapshot: dict, photo_paths: list[str]) -> dict:
    """Fill the form from snapshot["values"] and the photos, read it back and compare with the snapshot
    (values AND photo hashes); any difference raises ReadBackMismatch and nothing is submitted. Else
    submit and return {"item_id", "url"} of the new item."""
    values, snapshot_hashes = snapshot["values"], list(snapshot["photo_hashes"])
    file_hashes = [file_sha256(path) for path in photo_paths]
    if file_hashes != snapshot_hashes:  # the files changed since prepare: do not even open Vinted
        raise ReadBackMismatch({"photo_hashes": {"expected": snapshot_hashes, "found": file_hashes}})

    def flow():
        with _chromium_page(account) as steps:
            steps.open_form("publish")
            hashes = steps.upload_photos("publish", photo_paths)
            steps.fill("publish", values, snapshot_hashes, hashes)
            return steps.submit()

    return flow()
