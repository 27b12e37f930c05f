"""Every foundation page at phone and desktop width, light and dark.

No page may scroll sideways, text must keep WCAG AA contrast in both themes,
and a screenshot of each is saved to test-artifacts/screenshots/ for people to
look at (name-width-theme.png).
"""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.helpers import has_horizontal_scroll, low_contrast, overflowing_elements, sign_in, visit

pytestmark = pytest.mark.browser


def _failed_login(page):
    page.get_by_label("Username").fill("nobody")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()


def _empty_accept(page):
    page.get_by_role("button", name="Accept and continue").click()
    expect(page.get_by_role("alert").first).to_be_visible()


def _bad_password_change(page):
    page.get_by_label("Old password").fill("wrong-old-password")
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password confirmation").fill("different")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert").first).to_be_visible()


# (screenshot name, who is signed in, path, expected status, what to do on the page first)
PAGES = [
    ("login", None, "/accounts/login/", 200, None),
    ("login-error", None, "/accounts/login/", 200, _failed_login),
    ("legal-document-anonymous", None, "/legal/privacy/", 200, None),
    ("accept", "newcomer", "/legal/accept/", 200, None),
    ("accept-error", "newcomer", "/legal/accept/", 200, _empty_accept),
    ("dashboard", "admin", "/", 200, None),
    ("profile", "admin", "/accounts/profile/", 200, None),
    ("password-change-error", "admin", "/accounts/password/", 200, _bad_password_change),
    ("legal-document", "admin", "/legal/terms/", 200, None),
    ("404", "admin", "/no-such-page/", 404, None),
    ("403", "viewer", "/admin/", 403, None),
    ("500", "viewer", "/__crash__/", 500, None),
]


@pytest.fixture
def signed_in_states(browser, live_server, admin_user, viewer, newcomer):
    """Sign each persona in once; pages then open in contexts that carry the session."""
    states = {}
    for key, user in {"admin": admin_user, "viewer": viewer, "newcomer": newcomer}.items():
        context = browser.new_context(base_url=live_server.url)
        sign_in(context.new_page(), user.username)
        states[key] = context.storage_state()
        context.close()
    return states


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1440px"])
def test_pages_fit_the_screen_keep_contrast_and_are_screenshotted(
    open_page, signed_in_states, screenshots_dir, settings, viewport, color_scheme
):
    settings.ROOT_URLCONF = "tests.e2e.urls"  # adds /__crash__/ to see the real 500 page
    pages = {}
    problems = []
    for name, persona, path, status, action in PAGES:
        if persona not in pages:
            state = signed_in_states[persona] if persona else None
            pages[persona] = open_page(viewport=viewport, color_scheme=color_scheme, storage_state=state)
        page = pages[persona]
        visit(page, path, status=status)
        if action:
            action(page)
        page.screenshot(path=screenshots_dir / f"{name}-{viewport['width']}-{color_scheme}.png", full_page=True)
        if has_horizontal_scroll(page):
            problems.append(f"{name} scrolls sideways at {viewport['width']}px: {overflowing_elements(page)}")
        for failure in low_contrast(page):
            problems.append(f"{name} ({color_scheme}) low contrast: {failure}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_keyboard_focus_is_visible(open_page, color_scheme):
    page = open_page(color_scheme=color_scheme)
    visit(page, "/legal/terms/")
    page.keyboard.press("Tab")  # the skip link comes first and shows itself
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    assert skip.bounding_box()["x"] >= 0
    visit(page, "/accounts/login/")
    page.get_by_label("Username").focus()
    page.keyboard.press("Tab")
    password = page.get_by_label("Password")
    expect(password).to_be_focused()
    assert password.evaluate("el => el.matches(':focus-visible')")
    outline = password.evaluate("el => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth]; }")
    assert outline[0] != "none" and float(outline[1].rstrip("px")) >= 2, outline
