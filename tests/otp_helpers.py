"""One-time codes as an authenticator app computes them, from a device's secret (RFC 6238)."""

import time
from base64 import b32decode

from django_otp.oath import TOTP


def totp_code(secret_or_device, steps_ahead=0) -> str:
    """The code for now (+ steps_ahead * 30 s). A code is accepted once, so a second sign-in in the
    same 30 s uses steps_ahead=1, which the server accepts as clock drift of one step."""
    if isinstance(secret_or_device, str):
        key, step, t0, digits = b32decode("".join(secret_or_device.split())), 30, 0, 6
    else:
        device = secret_or_device
        key, step, t0, digits = device.bin_key, device.step, device.t0, device.digits
    totp = TOTP(key, step, t0, digits)
    totp.time = time.time() + steps_ahead * step
    return f"{totp.token():0{digits}d}"


def wrong_code(secret_or_device) -> str:
    """A 6-digit code that no step the server accepts (now, one before, one after) produces."""
    near = {totp_code(secret_or_device, steps) for steps in (-2, -1, 0, 1, 2)}
    return next(code for code in ("000000", "111111", "222222", "333333", "444444", "555555") if code not in near)
