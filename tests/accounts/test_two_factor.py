"""Second factor (TOTP + recovery codes): enrolment, the code step of signing in, lockout,
ADMIN_REQUIRE_2FA, the JWT endpoint and `manage.py users reset-2fa`."""

import io
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts import two_factor
from accounts.views import _PENDING
from tests.api_helpers import assert_error
from tests.conftest import PASSWORD
from tests.otp_helpers import totp_code, wrong_code

pytestmark = pytest.mark.django_db

LOGIN_URL = "/accounts/login/"
CODE_URL = "/accounts/login/code/"
TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def _no_otp_delay(settings):
    # django-otp also slows down repeated wrong codes (1 s, 2 s, ...); django-axes does the locking here,
    # and the tests send a right code right after a wrong one.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def enrol(user):
    """A confirmed authenticator whose current code has not been used yet, and ten recovery codes."""
    device = TOTPDevice.objects.create(user=user, name=two_factor.TOTP_NAME, confirmed=True)
    return device, two_factor.new_recovery_codes(user)


def password_step(client, user, password=PASSWORD, next_url=""):
    url = f"{LOGIN_URL}?next={next_url}" if next_url else LOGIN_URL
    return client.post(url, {"username": user.username, "password": password})


# --- enrolment --------------------------------------------------------------------------------------------


def test_enrolment_shows_a_qr_code_and_the_secret_then_confirms_with_a_code(admin_user):
    client = Client()
    client.force_login(admin_user)
    page = client.get("/accounts/2fa/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<img class="qr" src="/accounts/2fa/qr.svg"' in html
    secret = re.search(r'<code id="otp-secret">([A-Z2-7 ]+)</code>', html).group(1)

    qr = client.get("/accounts/2fa/qr.svg")
    assert qr["Content-Type"] == "image/svg+xml" and "no-store" in qr["Cache-Control"]
    assert b"<svg" in qr.content and b"<script" not in qr.content

    wrong = client.post("/accounts/2fa/", {"code": wrong_code(secret)})
    assert wrong.status_code == 200
    assert "That code is not valid" in wrong.content.decode()
    assert not two_factor.has_device(admin_user)

    done = client.post("/accounts/2fa/", {"code": totp_code(secret)})
    assert done.status_code == 200 and "no-store" in done["Cache-Control"]
    codes = re.findall(r"<li><code>([a-z0-9]+)</code></li>", done.content.decode())
    assert len(codes) == 10
    assert two_factor.has_device(admin_user)
    assert two_factor.recovery_codes_left(admin_user) == 10
    # The session that enrolled has proved the second factor: it stays in.
    settings_page = client.get("/accounts/2fa/")
    assert "Recovery codes left: <strong>10</strong>" in settings_page.content.decode()


def test_qr_code_is_404_when_nothing_is_being_enrolled(operator):
    client = Client()
    client.force_login(operator)
    assert client.get("/accounts/2fa/qr.svg").status_code == 404


def test_new_recovery_codes_replace_the_old_ones(operator):
    device, old_codes = enrol(operator)
    client = Client()
    password_step(client, operator)
    client.post(CODE_URL, {"code": totp_code(device)})
    response = client.post("/accounts/2fa/", {"action": "recovery-codes"})
    new_codes = re.findall(r"<li><code>([a-z0-9]+)</code></li>", response.content.decode())
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert two_factor.verify(operator, old_codes[0]) is None
    assert two_factor.verify(operator, new_codes[0]) is not None


# --- signing in -------------------------------------------------------------------------------------------------


def test_sign_in_asks_for_the_code_after_the_password(operator):
    device, _ = enrol(operator)
    client = Client()
    response = password_step(client, operator, next_url="/accounts/profile/")
    assert response.status_code == 302 and response["Location"] == CODE_URL
    assert SESSION_KEY not in client.session  # not signed in yet
    assert client.get("/accounts/profile/").status_code == 302

    page = client.get(CODE_URL)
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.content.decode()
    response = client.post(CODE_URL, {"code": totp_code(device)})
    assert response.status_code == 302 and response["Location"] == "/accounts/profile/"
    assert client.session[SESSION_KEY] == str(operator.pk)
    assert client.get("/accounts/profile/").status_code == 200
    assert operator.login_events.count() == 1  # the sign-in is recorded once, after the code


def test_a_recovery_code_signs_in_once(operator):
    _, codes = enrol(operator)
    first = Client()
    password_step(first, operator)
    assert first.post(CODE_URL, {"code": codes[0]}).status_code == 302
    again = Client()
    password_step(again, operator)
    response = again.post(CODE_URL, {"code": codes[0]})
    assert response.status_code == 200 and "That code is not valid" in response.content.decode()
    assert two_factor.recovery_codes_left(operator) == 9


def test_code_page_without_a_correct_password_goes_back_to_sign_in(operator):
    enrol(operator)
    response = Client().post(CODE_URL, {"code": "123456"})
    assert response.status_code == 302 and response["Location"] == LOGIN_URL


def test_the_code_step_expires(operator):
    device, _ = enrol(operator)
    client = Client()
    password_step(client, operator)
    session = client.session
    late = timezone.now() - timedelta(seconds=settings.OTP_LOGIN_PENDING_SECONDS + 1)
    session[_PENDING] = {**session[_PENDING], "at": late.isoformat()}
    session.save()
    response = client.post(CODE_URL, {"code": totp_code(device)})
    assert response.status_code == 302 and response["Location"] == LOGIN_URL
    assert SESSION_KEY not in client.session


@pytest.mark.parametrize("code", ["", "x" * 40])
def test_code_form_bad_input_is_a_field_error(operator, code):
    enrol(operator)
    client = Client()
    password_step(client, operator)
    response = client.post(CODE_URL, {"code": code})
    assert response.status_code == 200 and response.context["form"].errors["code"]


def test_wrong_codes_count_like_wrong_passwords_and_lock(operator):
    device, _ = enrol(operator)
    client = Client()
    wrong = wrong_code(device)
    password_step(client, operator)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post(CODE_URL, {"code": wrong}).status_code == 200
    locked = client.post(CODE_URL, {"code": wrong})
    assert locked.status_code == 403 and "Too many failed sign-in attempts" in locked.content.decode()
    # Locked: neither the password step nor a right code gets in.
    fresh = Client()
    assert password_step(fresh, operator).status_code == 403
    assert SESSION_KEY not in fresh.session


# --- ADMIN_REQUIRE_2FA ---------------------------------------------------------------------------------------------


def test_required_2fa_sends_an_admin_to_enrolment_first(settings, admin_user, operator):
    settings.ADMIN_REQUIRE_2FA = True
    client = Client()
    client.force_login(admin_user)
    for url in ["/", "/admin/", "/accounts/profile/", "/pipeline/"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/?next="), url
    page = client.get("/accounts/2fa/")
    assert page.status_code == 200 and "Admins must set up two-factor sign-in" in page.content.decode()
    assert client.get("/legal/terms/").status_code == 200
    assert client.get("/accounts/2fa/qr.svg").status_code == 200
    # Other roles are not forced.
    other = Client()
    other.force_login(operator)
    assert other.get("/").status_code == 200

    device = two_factor.pending_device(admin_user)
    assert client.post("/accounts/2fa/?next=/admin/", {"code": totp_code(device)}).status_code == 200
    assert client.get("/admin/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302


def test_a_session_that_has_not_proved_the_code_is_asked_for_it(admin_user):
    # E.g. the Django admin's own password-only sign-in, or a session from before enrolling.
    device, _ = enrol(admin_user)
    client = Client()
    client.force_login(admin_user)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"] == f"{CODE_URL}?next=%2Fadmin%2F"
    response = client.post(f"{CODE_URL}?next=/admin/", {"code": totp_code(device)})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


# --- JWT --------------------------------------------------------------------------------------------------------------


def obtain(user, **extra):
    return APIClient().post(TOKEN_URL, {"username": user.username, "password": PASSWORD, **extra}, format="json")


def test_jwt_needs_the_code_once_two_factor_is_on(operator):
    device, _ = enrol(operator)
    body = assert_error(obtain(operator), 401, "OTP_REQUIRED")
    assert body["error"]["details"] == {"fields": {"otp": ["This field is required."]}}
    wrong = wrong_code(device)
    assert_error(obtain(operator, otp=wrong), 401, "INVALID_OTP")
    response = obtain(operator, otp=totp_code(device))
    assert response.status_code == 200 and "access" in response.json()
    assert_error(obtain(operator, otp="x" * 40), 400, "VALIDATION_ERROR")


def test_jwt_wrong_codes_lock_the_account(operator):
    device, _ = enrol(operator)
    wrong = wrong_code(device)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert_error(obtain(operator, otp=wrong), 401, "INVALID_OTP")
    assert_error(obtain(operator, otp=wrong), 403, "ACCOUNT_LOCKED")
    assert_error(obtain(operator, otp=totp_code(device)), 403, "ACCOUNT_LOCKED")


def test_jwt_for_an_admin_without_2fa_when_it_is_required(settings, admin_user, operator):
    settings.ADMIN_REQUIRE_2FA = True
    assert_error(obtain(admin_user), 403, "TWO_FACTOR_ENROLMENT_REQUIRED")
    assert obtain(operator).status_code == 200


def test_users_without_a_device_get_a_jwt_as_before(viewer):
    assert obtain(viewer).status_code == 200


# --- manage.py users reset-2fa ------------------------------------------------------------------------------


def test_users_reset_2fa(operator):
    enrol(operator)
    out = io.StringIO()
    call_command("users", "reset-2fa", operator.username, stdout=out)
    assert "reset (2 device(s) removed)" in out.getvalue()
    assert not two_factor.has_device(operator)
    assert password_step(Client(), operator).status_code == 302
    assert obtain(operator).status_code == 200
