"""The journeys a person makes through the foundation pages, in a real browser.

Every page opened here is also checked for console errors and CSP violations
(see conftest.open_page), so an inline script or style fails these tests.
"""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import LoginEvent
from accounts.roles import Role
from accounts.services import create_user
from legal import services as legal_services
from legal.models import LegalAcceptance
from tests.e2e.conftest import PHONE
from tests.e2e.helpers import sign_in, visit
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def main_nav(page):
    return page.get_by_role("navigation", name="Main")


def test_fresh_admin_accepts_the_terms_then_reaches_dashboard_and_django_admin(open_page, live_server, screenshots_dir):
    # What `manage.py bootstrap_admin` makes: an admin who has accepted nothing yet.
    admin = create_user("root", "root@example.com", PASSWORD, role=Role.ADMIN)
    documents = legal_services.current_documents()
    assert len(documents) == 4, "the seeded legal documents are missing"
    page = open_page()

    sign_in(page, "root")

    expect(page).to_have_url(f"{live_server.url}/legal/accept/?next=%2F")
    expect(page.get_by_role("heading", level=1)).to_have_text("Before you start")
    expect(page.get_by_role("checkbox")).to_have_count(len(documents))
    # The main navigation would only lead back here, so it is not offered; signing out is.
    expect(main_nav(page)).to_have_count(0)
    expect(page.get_by_role("banner").get_by_role("button", name="Sign out")).to_be_visible()
    # Nothing else is reachable before accepting.
    visit(page, "/accounts/profile/")
    expect(page).to_have_url(re.compile(r"/legal/accept/\?next=%2Faccounts%2Fprofile%2F$"))
    visit(page, "/legal/accept/")

    page.get_by_role("button", name="Accept and continue").click()

    # One summary at the top, read out first, linking to each box to tick ...
    summary = page.get_by_role("alert")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_count(len(documents))
    for doc in documents:
        message = f"You must accept the {doc.title} to continue."
        checkbox = page.get_by_role("checkbox", name=f"I have read and accept the {doc.title}")
        expect(summary.get_by_role("link", name=message)).to_have_attribute("href", f"#{checkbox.get_attribute('id')}")
        # ... and each error sits with its own checkbox, which says it is invalid and why.
        expect(page.locator(".field", has=checkbox).locator(".field-error")).to_have_text(message)
        expect(checkbox).to_have_attribute("aria-invalid", "true")
        expect(checkbox).to_have_accessible_description(message)
        expect(checkbox).not_to_be_checked()
    assert not LegalAcceptance.objects.filter(user=admin).exists()

    for doc in documents:
        page.get_by_role("checkbox", name=f"I have read and accept the {doc.title}").check()
    page.get_by_role("button", name="Accept and continue").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.get_by_role("status")).to_contain_text("Your acceptance has been recorded")
    page.screenshot(path=screenshots_dir / "dashboard-after-accept-1440-light.png")
    role_card = page.locator(".stat", has_text="Your role")
    expect(role_card.locator(".stat-number")).to_have_text("Admin")
    sign_ins = page.locator("section", has=page.get_by_role("heading", name="Your recent sign-ins"))
    expect(sign_ins.locator("tbody tr")).to_have_count(1)
    expect(sign_ins.locator("tbody tr").first).to_contain_text("Chrome")
    assert LoginEvent.objects.filter(user=admin).count() == 1
    assert LegalAcceptance.objects.filter(user=admin).count() == len(documents)

    admin_link = main_nav(page).get_by_role("link", name="Admin")
    expect(admin_link).to_be_visible()
    admin_link.click()

    expect(page).to_have_url(f"{live_server.url}/admin/")
    expect(page).to_have_title(re.compile("lofisite admin"))
    expect(page.get_by_role("link", name="Users")).to_be_visible()


def test_viewer_sees_no_admin_link_and_gets_the_friendly_403_with_request_id(open_page, viewer, live_server):
    page = open_page()
    sign_in(page, viewer.username)

    expect(page).to_have_url(f"{live_server.url}/")
    expect(main_nav(page).get_by_role("link", name="Dashboard")).to_be_visible()
    expect(main_nav(page).get_by_role("link", name="Admin")).to_have_count(0)
    expect(page.get_by_role("banner").locator(".badge-role")).to_have_text("Role: Viewer")

    response = visit(page, "/admin/", status=403)

    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    request_id = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    expect(page.get_by_role("main")).to_contain_text("quote this request id")
    expect(page.get_by_role("main").locator("code")).to_have_text(request_id)
    expect(page.get_by_role("main").get_by_role("link", name="Go to the dashboard")).to_be_visible()
    # Still signed in, navigation intact: the way out is obvious.
    expect(main_nav(page).get_by_role("link", name="Dashboard")).to_be_visible()


def _background(page):
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def _is_dark(rgb):
    r, g, b = (int(v) for v in re.findall(r"\d+", rgb)[:3])
    return (r + g + b) / 3 < 100


def test_theme_toggle_switches_and_persists_across_reload(open_page, operator):
    page = open_page(color_scheme="light")
    sign_in(page, operator.username)
    html = page.locator("html")
    toggle = page.locator("[data-theme-toggle]")
    assert not _is_dark(_background(page))
    # The button names what it will do, not a fixed "Dark theme" whatever shows.
    expect(toggle).to_have_accessible_name("Switch to dark theme")
    expect(toggle).not_to_have_attribute("aria-pressed", re.compile(".*"))

    toggle.click()
    expect(html).to_have_attribute("data-theme", "dark")
    assert _is_dark(_background(page))
    expect(toggle).to_have_accessible_name("Switch to light theme")

    page.reload()
    expect(html).to_have_attribute("data-theme", "dark")
    assert _is_dark(_background(page))
    expect(toggle).to_have_accessible_name("Switch to light theme")
    expect(toggle).to_have_attribute("title", re.compile("Now showing the dark theme"))

    toggle.click()
    expect(html).to_have_attribute("data-theme", "light")
    page.reload()
    expect(html).to_have_attribute("data-theme", "light")
    assert not _is_dark(_background(page))
    expect(toggle).to_have_accessible_name("Switch to dark theme")


def test_theme_follows_the_system_until_toggled(open_page):
    page = open_page(color_scheme="dark")
    visit(page, "/accounts/login/")
    assert _is_dark(_background(page))
    expect(page.locator("[data-theme-toggle]")).to_have_accessible_name("Switch to light theme")

    page.get_by_role("button", name=re.compile("dark theme|light theme", re.I)).click()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    page.reload()
    assert not _is_dark(_background(page))


def test_sign_out_from_the_top_bar_returns_to_the_login_page(open_page, operator, live_server):
    page = open_page(viewport=PHONE)  # the top bar must work at phone width too
    sign_in(page, operator.username)
    expect(page).to_have_url(f"{live_server.url}/")

    page.get_by_role("banner").get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.get_by_role("banner").get_by_role("button", name="Sign out")).to_have_count(0)
    # The session is really gone.
    visit(page, "/accounts/profile/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/accounts/profile/")


def test_api_docs_render_swagger_ui_from_our_own_static_files(open_page, operator, live_server, screenshots_dir):
    page = open_page()
    sign_in(page, operator.username)

    visit(page, "/api/docs/")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("lofisite API")
    expect(page.get_by_role("link", name="Back to the lofisite dashboard")).to_have_attribute("href", "/")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/auth/token/").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=screenshots_dir / "api-docs-1440-light.png", full_page=True)
    assert page.watch.foreign_requests(live_server.url) == []
    assert any(
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in url for url in page.watch.requests
    )
    page.watch.assert_clean()


def test_api_docs_send_anonymous_visitors_to_sign_in(open_page, live_server):
    page = open_page()
    visit(page, "/api/docs/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/api/docs/")
