"""vinted.browser with real Chromium against the fake Vinted's pages (tests/fakes/vinted_pages.py):
prepare fills and reads back without submitting, publish submits once, the read-back check catches a
form that drops a field, blocks and expired sessions stop the flow, the pool bounds Chromium, and no
Chromium process is left behind."""

import _thread
import hashlib
import json
import os
import signal
import socket
import threading
from datetime import timedelta

import psutil
import pytest
from django.utils import timezone

from accounts.roles import Role
from monitoring.breakers import breaker
from tests.factories import UserFactory, image_bytes
from vinted import browser, site
from vinted.choices import AccountStatus, CallKind, CallOutcome
from vinted.ledger import AccountUnavailable, Blocked, SessionExpired, VintedRateLimited, VintedUnavailable
from vinted.models import BrowserLease, VintedAccount, VintedCall

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE", "/usr/bin/chromium")
if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
    pytestmark = [pytest.mark.browser, pytest.mark.skip(reason=f"Chromium not found at {CHROMIUM}")]

VALUES = {
    "title": "Levi's 501 jeans, W32 L32",
    "description": "Classic straight fit, barely worn.\nNo stains.",
    "catalog_id": "5",
    "brand_id": "53",
    "size_id": "207",
    "status_id": "2",
    "color_ids": ["9", "27"],
    "price": "24.50",
    "package_size_id": "2",
}


@pytest.fixture(autouse=True)
def _browser_settings(settings):
    settings.PLAYWRIGHT_CHROMIUM_EXECUTABLE = CHROMIUM
    settings.VINTED_MAX_BROWSERS = 1
    settings.VINTED_BROWSER_TIMEOUT_SECONDS = 20


@pytest.fixture(autouse=True)
def _no_chromium_left():
    """Whatever path a test took (success, error, timeout, interrupt), no Chromium of ours outlives it."""
    yield
    assert our_chromium_processes() == {}


def make_account(fake, label="main", owner=None):
    owner = owner or UserFactory(role=Role.OPERATOR)
    return VintedAccount.objects.create(
        owner=owner, label=label, domain="vinted.fr", cookies=json.dumps(fake.add_session()),
        user_agent="Mozilla/5.0 (X11; Linux x86_64) lofisite-tests", status=AccountStatus.ACTIVE)


@pytest.fixture
def account(db, fake_vinted):
    return make_account(fake_vinted)


@pytest.fixture
def photos(tmp_path):
    paths = []
    for index, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200)]):
        path = tmp_path / f"photo-{index}.jpg"
        path.write_bytes(image_bytes(80 + index, 60, colour))
        paths.append(str(path))
    return paths


def sha256_of(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def our_chromium_processes():
    """Live Chromium processes that vinted.browser started from this test process, as {pid: holder}
    (their environment carries the lease holder, which starts with our host and pid)."""
    prefix = f"{socket.gethostname()}:{os.getpid()}:"
    found = {}
    for process in psutil.process_iter(["pid", "status"]):
        try:
            if process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            holder = process.environ().get(browser.HOLDER_ENV, "")
            if holder.startswith(prefix):
                found[process.pid] = holder
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def submits(fake):
    return fake.state.get("submits", 0)


def test_prepare_fills_every_field_reads_back_and_never_submits(account, fake_vinted, photos):
    filled = browser.prepare_form(account, VALUES, photos)

    assert {**filled.values, "color_ids": sorted(filled.values["color_ids"])} == {
        **VALUES, "color_ids": sorted(VALUES["color_ids"])}
    assert filled.photo_hashes == [sha256_of(path) for path in photos]
    assert filled.screenshot.startswith(b"\x89PNG\r\n\x1a\n")
    assert submits(fake_vinted) == 0
    assert not fake_vinted.requests_to(r"^/items/new$", "POST")
    # The photos reached Vinted in order, with the account's session and user agent.
    uploads = fake_vinted.requests_to(r"^/api/v2/photos$", "POST")
    assert len(uploads) == 3
    cookies = json.loads(account.cookies)
    assert all(r.cookies.get("access_token_web") == cookies["access_token_web"] for r in uploads)
    assert all("lofisite-tests" in r.headers.get("user-agent", "") for r in uploads)
    calls = VintedCall.objects.filter(account=account)
    assert calls.count() >= 3
    assert set(calls.values_list("kind", flat=True)) == {CallKind.READ}
    assert set(calls.values_list("outcome", flat=True)) == {CallOutcome.OK}
    assert set(calls.values_list("action", flat=True)) == {"prepare"}
    assert BrowserLease.objects.get(slot=1).holder == ""


def test_publish_submits_once_and_returns_the_stored_item(account, fake_vinted, photos):
    snapshot = {"values": VALUES, "photo_hashes": [sha256_of(path) for path in photos]}

    result = browser.publish_form(account, snapshot, photos)

    assert submits(fake_vinted) == 1
    assert list(fake_vinted.state["items"]) == [result["item_id"]]
    stored = fake_vinted.state["items"][result["item_id"]]
    assert {**stored["values"], "color_ids": sorted(stored["values"]["color_ids"])} == {
        **VALUES, "color_ids": sorted(VALUES["color_ids"])}
    assert stored["photo_hashes"] == snapshot["photo_hashes"]
    assert result["url"].startswith(fake_vinted.base_url + f"/items/{result['item_id']}-levi-s-501")
    writes = VintedCall.objects.filter(account=account, kind=CallKind.WRITE)
    assert list(writes.values_list("action", "outcome")) == [("publish", CallOutcome.OK)]


def test_publish_aborts_on_a_dropped_field_and_submits_nothing(account, fake_vinted, photos):
    fake_vinted.fail_next("drop_field", field="brand_id", paths=r"^/items/new$")
    snapshot = {"values": VALUES, "photo_hashes": [sha256_of(path) for path in photos]}

    with pytest.raises(browser.ReadBackMismatch) as caught:
        browser.publish_form(account, snapshot, photos)

    assert caught.value.difference == {"brand_id": {"expected": "53", "found": ""}}
    assert "brand_id" in caught.value.message
    assert submits(fake_vinted) == 0
    assert not fake_vinted.requests_to(r"^/items/new$", "POST")
    assert not VintedCall.objects.filter(account=account, kind=CallKind.WRITE).exists()
    assert BrowserLease.objects.get(slot=1).holder == ""


def test_prepare_catches_a_dropped_colour(account, fake_vinted, photos):
    fake_vinted.fail_next("drop_field", field="color_ids", paths=r"^/items/new$")

    with pytest.raises(browser.ReadBackMismatch) as caught:
        browser.prepare_form(account, VALUES, photos)

    assert list(caught.value.difference) == ["color_ids"]
    assert caught.value.difference["color_ids"]["expected"] == VALUES["color_ids"]
    assert submits(fake_vinted) == 0


def test_publish_refuses_photos_that_changed_since_the_snapshot(account, fake_vinted, photos):
    snapshot = {"values": VALUES, "photo_hashes": [sha256_of(path) for path in reversed(photos)]}

    with pytest.raises(browser.ReadBackMismatch) as caught:
        browser.publish_form(account, snapshot, photos)

    assert caught.value.difference["photo_hashes"]["expected"] == snapshot["photo_hashes"]
    assert caught.value.difference["photo_hashes"]["found"] == [sha256_of(path) for path in photos]
    assert submits(fake_vinted) == 0


@pytest.mark.parametrize(("mode", "error", "status"), [
    ("captcha", Blocked, AccountStatus.COOLING_DOWN),
    ("datadome", Blocked, AccountStatus.COOLING_DOWN),
    ("cloudflare", Blocked, AccountStatus.COOLING_DOWN),
    ("expired", SessionExpired, AccountStatus.NEEDS_LOGIN),
])
@pytest.mark.parametrize("flow", ["prepare", "publish"])
def test_blocks_and_expired_sessions_stop_the_flow(account, fake_vinted, photos, mode, error, status, flow):
    fake_vinted.fail_next(mode, paths=r"^/items/new$")

    with pytest.raises(error):
        if flow == "prepare":
            browser.prepare_form(account, VALUES, photos)
        else:
            browser.publish_form(account, {"values": VALUES, "photo_hashes": [sha256_of(p) for p in photos]}, photos)

    assert submits(fake_vinted) == 0
    assert not fake_vinted.requests_to(r"^/api/v2/photos$")  # stopped at the page, before any upload
    account.refresh_from_db()
    assert account.status == status
    call = VintedCall.objects.get(account=account, what="GET /items/new")
    assert call.outcome == error.outcome
    assert BrowserLease.objects.get(slot=1).holder == ""


def test_a_session_vinted_no_longer_knows_lands_on_the_login_page(account, fake_vinted, photos):
    fake_vinted.expire_session(json.loads(account.cookies)["access_token_web"])

    with pytest.raises(SessionExpired):
        browser.prepare_form(account, VALUES, photos)

    assert fake_vinted.requests_to(r"^/member/signup$", "GET")
    account.refresh_from_db()
    assert account.status == AccountStatus.NEEDS_LOGIN


def test_a_blocked_photo_upload_stops_the_flow(account, fake_vinted, photos):
    fake_vinted.fail_next("datadome", paths=r"^/api/v2/photos$")

    with pytest.raises(Blocked):
        browser.prepare_form(account, VALUES, photos)

    account.refresh_from_db()
    assert account.status == AccountStatus.COOLING_DOWN
    assert VintedCall.objects.get(account=account, what__startswith="upload").outcome == CallOutcome.BLOCKED


def test_a_rate_limited_page_is_transient(account, fake_vinted, photos):
    fake_vinted.fail_next("rate_limit", paths=r"^/items/new$", retry_after=7)

    with pytest.raises(VintedRateLimited) as caught:
        browser.prepare_form(account, VALUES, photos)

    assert caught.value.retry_after == 7


def test_a_page_slower_than_the_timeout_fails_cleanly_and_closes_chromium(settings, account, fake_vinted, photos):
    settings.VINTED_BROWSER_TIMEOUT_SECONDS = 2
    fake_vinted.fail_next("slow", paths=r"^/items/new$", seconds=8)

    with pytest.raises(VintedUnavailable, match="did not answer within 2 s"):
        browser.prepare_form(account, VALUES, photos)

    assert our_chromium_processes() == {}
    assert BrowserLease.objects.get(slot=1).holder == ""
    assert VintedCall.objects.get(account=account, what="GET /items/new").outcome == CallOutcome.ERROR


def test_chromium_that_cannot_start_is_a_playwright_breaker_failure(settings, account, fake_vinted, photos, tmp_path):
    settings.PLAYWRIGHT_CHROMIUM_EXECUTABLE = str(tmp_path / "no-such-chromium")

    with pytest.raises(browser.ChromiumFailed, match="did not start"):
        browser.prepare_form(account, VALUES, photos)

    assert breaker("playwright").state().failure_count == 1
    assert BrowserLease.objects.get(slot=1).holder == ""
    assert not fake_vinted.requests_to(r"^/items/new$")


def test_a_vinted_block_is_not_a_playwright_failure(account, fake_vinted, photos):
    fake_vinted.fail_next("cloudflare", paths=r"^/items/new$")

    with pytest.raises(Blocked):
        browser.prepare_form(account, VALUES, photos)

    assert breaker("playwright").state().failure_count == 0


def test_a_busy_pool_waits_then_says_so(settings, account, fake_vinted, photos):
    settings.VINTED_BROWSER_TIMEOUT_SECONDS = 1
    BrowserLease.objects.create(slot=1, holder="another-worker", expires_at=timezone.now() + timedelta(minutes=5))

    with pytest.raises(browser.BrowsersBusy) as caught:
        browser.prepare_form(account, VALUES, photos)

    assert caught.value.retry_after == 1
    assert not fake_vinted.requests_to(r"^/items/new$")
    assert BrowserLease.objects.get(slot=1).holder == "another-worker"  # not ours to release


def test_the_lease_of_a_dead_holder_lapses(account, fake_vinted, photos):
    BrowserLease.objects.create(slot=1, holder="dead-worker", expires_at=timezone.now() - timedelta(seconds=1))

    browser.prepare_form(account, VALUES, photos)

    assert BrowserLease.objects.get(slot=1).holder == ""


def test_a_flow_whose_lease_was_taken_over_stops(transactional_db, fake_vinted, photos):
    """A slot that lapsed (a stalled holder) and went to another worker: the first flow must stop at its
    next step rather than run a second Chromium beside the new holder's."""
    account = make_account(fake_vinted)
    fake_vinted.fail_next("slow", paths=r"^/items/new$", seconds=1)

    def take_over():
        from django.db import connection

        while not fake_vinted.requests_to(r"^/items/new$", "GET"):
            threading.Event().wait(0.05)
        BrowserLease.objects.filter(slot=1).update(holder="the-next-worker")
        connection.close()

    thief = threading.Thread(target=take_over)
    thief.start()
    with pytest.raises(browser.BrowsersBusy, match="lapsed"):
        browser.prepare_form(account, VALUES, photos)
    thief.join()

    assert not fake_vinted.requests_to(r"^/api/v2/photos$")
    assert BrowserLease.objects.get(slot=1).holder == "the-next-worker"  # ours no more: left alone
    assert our_chromium_processes() == {}


def _interrupt_while_the_page_loads(fake_vinted, signum):
    """Send `signum` to the main thread once Chromium asked for the (slow) form."""
    def watch():
        while not fake_vinted.requests_to(r"^/items/new$", "GET"):
            threading.Event().wait(0.05)
        _thread.interrupt_main(signum)

    threading.Thread(target=watch, daemon=True).start()


def test_ctrl_c_closes_chromium(account, fake_vinted, photos):
    fake_vinted.fail_next("slow", paths=r"^/items/new$", seconds=3)
    _interrupt_while_the_page_loads(fake_vinted, signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        browser.prepare_form(account, VALUES, photos)

    assert our_chromium_processes() == {}
    assert BrowserLease.objects.get(slot=1).holder == ""


def test_the_db_workers_shutdown_closes_chromium(account, fake_vinted, photos):
    """django-tasks-db's worker raises SystemExit inside the running task on a second SIGTERM."""
    from django_tasks_db.management.commands.db_worker import Worker

    worker = Worker.__new__(Worker)
    worker.running, worker.running_task = False, True  # the first SIGTERM already came during this task
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    worker.configure_signals()
    fake_vinted.fail_next("slow", paths=r"^/items/new$", seconds=3)
    _interrupt_while_the_page_loads(fake_vinted, signal.SIGTERM)
    try:
        with pytest.raises(SystemExit):
            browser.prepare_form(account, VALUES, photos)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    assert our_chromium_processes() == {}
    assert BrowserLease.objects.get(slot=1).holder == ""


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="two threads writing at once: SQLite's in-memory test database (shared cache) answers "
                           "'database table is locked' instead of waiting, which the product never meets "
                           "(a file database with a busy timeout); PostgreSQL runs it")
def test_two_prepares_with_one_browser_slot_never_run_two_chromiums(transactional_db, fake_vinted, photos):
    accounts = [make_account(fake_vinted, label=f"seller-{n}") for n in range(2)]
    tokens = {json.loads(a.cookies)["access_token_web"]: a.label for a in accounts}
    most_at_once, stop = [0], threading.Event()

    def sample():
        while not stop.is_set():
            most_at_once[0] = max(most_at_once[0], len(set(our_chromium_processes().values())))
            stop.wait(0.05)

    results, errors = {}, []

    def prepare(account):
        from django.db import connection

        try:
            results[account.label] = browser.prepare_form(account, VALUES, photos)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    sampler = threading.Thread(target=sample)
    sampler.start()
    workers = [threading.Thread(target=prepare, args=(account,)) for account in accounts]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stop.set()
    sampler.join()

    assert errors == []
    assert set(results) == {"seller-0", "seller-1"}
    assert most_at_once[0] == 1
    # One flow's requests all came before the other's: the second Chromium started after the first closed.
    order = [tokens[r.cookies["access_token_web"]] for r in fake_vinted.requests
             if r.cookies.get("access_token_web") in tokens]
    first = order[0]
    assert order == [first] * order.count(first) + [o for o in order if o != first]
    assert our_chromium_processes() == {}


def test_fifty_prepares_leave_no_chromium_behind(account, fake_vinted, photos):
    assert our_chromium_processes() == {}
    # Some flows end on an error path (a ReadBackMismatch inside the form step).
    fake_vinted.fail_next("drop_field", count=5, field="title", paths=r"^/items/new$")

    outcomes = []
    for _ in range(50):
        try:
            outcomes.append(len(browser.prepare_form(account, VALUES, photos[:1]).photo_hashes))
        except browser.ReadBackMismatch:
            outcomes.append("mismatch")

    assert outcomes.count("mismatch") == 5
    assert outcomes.count(1) == 45
    assert our_chromium_processes() == {}
    assert BrowserLease.objects.get(slot=1).holder == ""


def test_a_form_without_an_expected_field_says_vinted_changed_its_page(settings, monkeypatch, account, fake_vinted,
                                                                       photos):
    settings.VINTED_BROWSER_TIMEOUT_SECONDS = 2
    monkeypatch.setitem(site.FORM_FIELDS, "brand_id", ("text", 'input[name="brand"]'))  # as if Vinted renamed it

    with pytest.raises(browser.FormChanged, match="no brand_id field"):
        browser.prepare_form(account, VALUES, photos)

    assert submits(fake_vinted) == 0
    assert our_chromium_processes() == {}


@pytest.mark.parametrize(("mode", "options"), [("server_error", {}), ("slow", {"seconds": 6})])
def test_a_submit_vinted_does_not_confirm_is_not_retried(settings, account, fake_vinted, photos, mode, options):
    """The item may exist on Vinted now: the flow says so (SubmitUnconfirmed is not transient), so that no
    retry lists it twice."""
    settings.VINTED_BROWSER_TIMEOUT_SECONDS = 3
    fake_vinted.fail_next(mode, paths=r"^/items/\d+", **options)
    snapshot = {"values": VALUES, "photo_hashes": [sha256_of(path) for path in photos]}

    with pytest.raises(browser.SubmitUnconfirmed, match="check the account's items on Vinted"):
        browser.publish_form(account, snapshot, photos)

    assert submits(fake_vinted) == 1
    write = VintedCall.objects.get(account=account, kind=CallKind.WRITE)
    assert write.outcome == CallOutcome.ERROR
    assert our_chromium_processes() == {}


def test_an_account_that_needs_login_is_refused_before_chromium_starts(account, fake_vinted, photos):
    account.status, account.status_message = AccountStatus.NEEDS_LOGIN, "Import a new session."
    account.save(update_fields=["status", "status_message"])

    with pytest.raises(AccountUnavailable, match="Import a new session"):
        browser.prepare_form(account, VALUES, photos)

    assert fake_vinted.requests == []
    assert not BrowserLease.objects.filter(holder__gt="").exists()
