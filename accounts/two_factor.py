"""Second factor: a TOTP authenticator app (django-otp) plus one-time recovery codes.

Enrolment makes an unconfirmed TOTP device; the user scans its QR code (SVG
from segno, served from its own URL so the strict CSP holds) or types the
secret, and confirms with a first code. Confirming creates ten recovery
codes (django-otp's static device), shown once.
"""

import io
from base64 import b32encode

import segno
from django.conf import settings
from django.db import transaction
from django_otp import devices_for_user, match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import roles

RECOVERY_CODES = 10
TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def has_device(user) -> bool:
    """A confirmed device: signing in asks for a code after the password."""
    return user.is_authenticated and user_has_device(user, confirmed=True)


def must_enrol(user) -> bool:
    """ADMIN_REQUIRE_2FA is on, the user is an admin and has no confirmed device yet."""
    return settings.ADMIN_REQUIRE_2FA and roles.is_admin(user) and not has_device(user)


def session_state(user) -> str:
    """For a signed-in session: "ok", "verify" (has a device, this session has not proved it, e.g. a
    session from before enrolling or from the admin's password-only sign-in) or "enrol" (must_enrol)."""
    if user.is_verified():
        return "ok"
    if has_device(user):
        return "verify"
    return "enrol" if settings.ADMIN_REQUIRE_2FA and roles.is_admin(user) else "ok"


@transaction.atomic
def pending_device(user, create=True):
    """The unconfirmed TOTP device being enrolled (a fresh secret the first time)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None and create:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def secret_of(device) -> str:
    """The base32 secret, in groups of four for typing into an app by hand."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def qr_svg(device) -> bytes:
    """The otpauth:// URL of the device as a QR code, an SVG document."""
    buffer = io.BytesIO()
    segno.make(device.config_url, error="m").save(buffer, kind="svg", scale=5, border=2, dark="#000",
                                                 light="#fff", title="QR code for your authenticator app")
    return buffer.getvalue()


def clean_code(code: str) -> str:
    return "".join((code or "").split())


@transaction.atomic
def confirm(user, code) -> list[str] | None:
    """Confirm the pending device with its first code; returns the new recovery codes, or None."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None or not device.verify_token(clean_code(code)):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()  # one authenticator at a time
    return new_recovery_codes(user)


@transaction.atomic
def new_recovery_codes(user) -> list[str]:
    """Replace the user's recovery codes with ten fresh ones (each works once)."""
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=static, token=code) for code in codes])
    return codes


def verify(user, code):
    """The confirmed device (authenticator or a recovery code, used up) that accepts `code`, or None."""
    code = clean_code(code)
    if not code or len(code) > 16:
        return None
    return match_token(user, code)


def totp_device(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def reset(user) -> int:
    """Remove every device (for `manage.py users reset-2fa`): the next sign-in asks for no code."""
    devices = list(devices_for_user(user, confirmed=None))
    for device in devices:
        device.delete()
    return len(devices)
