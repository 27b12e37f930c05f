"""vinted.browser with real Chromium against the fake Vinted's pages (tests/fakes/vinted_pages.py):
prepare fills and reads back without submitting, publish submits once, the read-back check catches a
form that drops a field, blocks and expired sessions stop the flow, the pool bounds Chromium, and no
Chromium process is left behind."""

import hashlib
import json
import os
import socket

import psutil
import pytest

from accounts.roles import Role
from tests.factories import UserFactory, image_bytes
from vinted import browser
from vinted.choices import AccountStatus, CallKind, CallOutcome
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


def our_chromium_processes(main_only=False):
    """Live Chromium processes that vinted.browser started from this test process (their environment
    carries the lease holder, which starts with our host and pid)."""
    prefix = f"{socket.gethostname()}:{os.getpid()}:"
    found = []
    for process in psutil.process_iter(["pid", "status"]):
        try:
            if process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if not process.environ().get(browser.HOLDER_ENV, "").startswith(prefix):
                continue
            if main_only and any(arg.startswith("--type=") for arg in process.cmdline()):
                continue
            found.append(process.pid)
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
