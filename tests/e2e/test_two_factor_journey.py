"""An admin sets up two-factor sign-in in a real browser, signs in with a code, and makes an API token."""

import re

import httpx
import pytest
from playwright.sync_api import expect

from accounts import two_factor
from tests.e2e.conftest import PHONE
from tests.e2e.helpers import has_horizontal_scroll, sign_in, visit
from tests.otp_helpers import totp_code, wrong_code

pytestmark = pytest.mark.browser


def test_admin_enrols_totp_signs_in_with_a_code_and_creates_an_api_token(open_page, live_server, settings,
                                                                         admin_user):
    settings.ADMIN_REQUIRE_2FA = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp's 1 s pause after a wrong code; a script types fast
    page = open_page(viewport=PHONE)

    # The password alone leads to enrolment: no other page is reachable yet.
    sign_in(page, admin_user.username)
    expect(page).to_have_url(f"{live_server.url}/accounts/2fa/?next=%2F")
    expect(page.get_by_role("alert")).to_contain_text("Admins must set up two-factor sign-in")
    visit(page, "/accounts/profile/")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/\?next=%2Faccounts%2Fprofile%2F$"))
    qr = page.get_by_role("img", name=re.compile("QR code for your authenticator app"))
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.naturalWidth") > 0  # the SVG loaded from its own URL, under the CSP
    assert not has_horizontal_scroll(page)
    secret = page.locator("#otp-secret").inner_text()

    page.get_by_label("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in is on")
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    page.get_by_role("link", name="I have saved them").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/profile/")
    assert two_factor.has_device(admin_user)

    # Next time: password, then a code (the next one: each code works once).
    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    sign_in(page, admin_user.username)
    expect(page).to_have_url(f"{live_server.url}/accounts/login/code/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    page.get_by_label("Code").fill(wrong_code(secret))
    page.get_by_role("button", name="Verify").click()
    expect(page.locator(".field-error")).to_contain_text("That code is not valid")
    page.get_by_label("Code").fill(totp_code(secret, steps_ahead=1))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(f"{live_server.url}/")

    # A read-only API token for a script, shown once.
    visit(page, "/accounts/profile/")
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    page.get_by_role("link", name="New API token").click()
    page.get_by_label("Name").fill("nightly report")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("API token created")
    plaintext = page.get_by_label(re.compile("Token “nightly report”")).input_value()
    assert not has_horizontal_scroll(page)
    me = httpx.get(f"{live_server.url}/api/v1/auth/me/", headers={"Authorization": f"Token {plaintext}"})
    assert me.status_code == 200 and me.json()["username"] == admin_user.username
    write = httpx.post(f"{live_server.url}/api/v1/users/", headers={"Authorization": f"Token {plaintext}"}, json={})
    assert write.status_code == 403 and write.json()["error"]["code"] == "TOKEN_READ_ONLY"

    page.get_by_role("link", name="Done").click()
    row = page.get_by_role("row", name=re.compile("nightly report"))
    expect(row).to_contain_text("Read only")
    row.get_by_role("button", name="Revoke nightly report").click()
    expect(page.get_by_role("row", name=re.compile("nightly report"))).to_contain_text("Revoked")
    gone = httpx.get(f"{live_server.url}/api/v1/auth/me/", headers={"Authorization": f"Token {plaintext}"})
    assert gone.status_code == 401 and gone.json()["error"]["code"] == "TOKEN_REVOKED"
