"""Browser tests: Playwright (sync API) driving the system's Chromium against pytest-django's live server.

Chromium is not downloaded by Playwright here; it is launched from
PLAYWRIGHT_CHROMIUM_EXECUTABLE (default /usr/bin/chromium). When it is missing
the browser tests are skipped locally, with one line in the terminal summary,
and fail loudly when CI=true (CI never skips them).

Every page a test opens is watched: a console error, an uncaught exception, a
Content-Security-Policy violation, a failed request or a sub-resource answered
with 4xx/5xx fails the test.
"""

import os

# Playwright's sync API runs an event loop in this thread; Django refuses ORM
# calls from a thread with a running loop unless told it is safe (it is: the
# loop only drives the browser). Must be set before any test touches the ORM.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from legal import services as legal_services  # noqa: E402
from tests.e2e.helpers import PageWatch  # noqa: E402

CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}

_SKIP_REASON = f"Chromium not found at {CHROMIUM}; install it (apt-get install chromium) to run browser tests"


def _in_ci():
    return os.environ.get("CI", "").strip().lower() == "true"


def _chromium_present():
    return os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


@pytest.fixture(scope="session")
def browser():
    if not _chromium_present():
        if _in_ci():
            pytest.fail(f"CI=true: {_SKIP_REASON}. CI never skips browser tests.", pytrace=False)
        pytest.skip(_SKIP_REASON)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def pytest_terminal_summary(terminalreporter):
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if "Chromium not found" in str(getattr(report, "longrepr", ""))
    ]
    if skipped:
        terminalreporter.write_sep("=", f"{len(skipped)} BROWSER TESTS SKIPPED: {_SKIP_REASON}", yellow=True, bold=True)


@pytest.fixture(autouse=True)
def _legal_documents(browser, transactional_db):
    """Live-server tests use a flushed (transactional) database: put the seeded documents back.

    Autouse, so it runs before the persona fixtures accept "all current documents";
    it asks for the browser first so that a missing Chromium skips before any database work.
    """
    legal_services.seed_documents()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A test that passed still fails if any page it opened reported a problem."""
    result = yield
    problems = [problem for watch in getattr(item, "page_watches", []) for problem in watch.problems]
    if problems:
        pytest.fail("The browser reported problems:\n  " + "\n  ".join(problems), pytrace=False)
    return result


@pytest.fixture
def open_page(request, browser, live_server):
    """open_page(viewport=DESKTOP, color_scheme="light", storage_state=None) -> a watched Page.

    Each call opens a fresh browser context (own cookies and localStorage) whose
    base URL is the live server. Every page must stay clean (see pytest_runtest_call).
    """
    contexts, watches = [], []
    request.node.page_watches = watches

    def make(viewport=None, color_scheme="light", storage_state=None):
        context = browser.new_context(
            base_url=live_server.url,
            viewport=viewport or DESKTOP,
            color_scheme=color_scheme,
            storage_state=storage_state,
            locale="en-US",
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        watches.append(PageWatch(page))
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshots_dir():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def vinted_catalogue(transactional_db):
    """The live server's flushed database: the shipped Vinted catalogue is put back (tests/conftest.py)."""


@pytest.fixture(scope="session", autouse=True)
def _one_request_at_a_time_on_in_memory_sqlite():
    """With in-memory SQLite the live server's request threads share the test's one connection, and
    sqlite3 refuses two threads using it at once ("bad parameter or other API misuse") — pages that
    send requests in parallel (photo uploads two at a time) would fail only here. So the live
    server's application runs one request at a time then (connections are still accepted in
    parallel, and a response body streams outside the lock). PostgreSQL gives each thread its own
    connection and needs none of this."""
    import threading

    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connections

    default = connections["default"]
    if default.vendor != "sqlite" or not default.is_in_memory_db():
        yield
        return
    lock = threading.Lock()
    original = WSGIHandler.__call__

    def serialized(self, environ, start_response):
        with lock:
            return original(self, environ, start_response)

    WSGIHandler.__call__ = serialized
    yield
    WSGIHandler.__call__ = original
