"""The risk ledger: every call to Vinted of an account goes through `guard()`, which refuses
calls the account may not make now, records the call (vinted.models.VintedCall) and applies
what Vinted's answer means to the account.

    with guard(account, kind=CallKind.WRITE, action="reply", what="POST /api/v2/conversations/1/messages") as call:
        response = ...
        call.answer(response.status_code, response.headers, response.text, str(response.url))

`call.answer()` raises the error the answer means (SessionExpired, Blocked, VintedRateLimited,
VintedUnavailable, VintedRefused); an exception raised inside the block is recorded as an error.
"""

import time
from contextlib import contextmanager

from django.utils import timezone

from monitoring.jobs import TransientError

from . import site
from .choices import AccountStatus, CallKind, CallOutcome
from .models import VintedCall


class VintedError(Exception):
    """Vinted said no in a way that retrying now does not fix; `message` is for the seller."""

    outcome = CallOutcome.ERROR

    def __init__(self, message: str, *, status_code: int | None = None):
        super().__init__(message)
        self.message, self.status_code = message, status_code


class SessionExpired(VintedError):
    outcome = CallOutcome.NEEDS_LOGIN


class Blocked(VintedError):
    outcome = CallOutcome.BLOCKED


class VintedRefused(VintedError):
    """A 4xx other than the ones above: the request itself was wrong."""


class AccountUnavailable(VintedError):
    """Refused before calling: the account needs a new session, is cooling down or is blocked."""

    outcome = CallOutcome.REFUSED


class VintedRateLimited(TransientError):
    """429 from Vinted: retried after Retry-After by the job wrapper."""


class VintedUnavailable(TransientError):
    """5xx or a timeout: retried with backoff by the job wrapper."""


class Call:
    def __init__(self, account, kind, action, what):
        self.account, self.kind, self.action, self.what = account, kind, action, what
        self.status_code = None
        self.outcome = CallOutcome.OK
        self.message = ""

    def answer(self, status_code: int, headers, text: str, url: str = "") -> None:
        """Record Vinted's answer; raise the error it means, if any."""
        verdict = site.classify(status_code, headers, text, url)
        self.status_code, self.outcome, self.message = status_code, verdict.outcome, verdict.message
        if verdict.outcome == CallOutcome.OK:
            return
        if verdict.outcome == CallOutcome.NEEDS_LOGIN:
            raise SessionExpired(verdict.message, status_code=status_code)
        if verdict.outcome == CallOutcome.BLOCKED:
            raise Blocked(verdict.message, status_code=status_code)
        if verdict.outcome == CallOutcome.RATE_LIMITED:
            raise VintedRateLimited(verdict.message, retry_after=verdict.retry_after)
        if status_code is not None and status_code >= 500:
            raise VintedUnavailable(verdict.message)
        raise VintedRefused(verdict.message, status_code=status_code)


def ensure_usable(account) -> None:
    """Refuse a call the account may not make now (AccountUnavailable says why)."""
    if account.status != AccountStatus.ACTIVE:
        raise AccountUnavailable(account.status_message or f"The account is {account.get_status_display().lower()}.")


@contextmanager
def guard(account, *, kind: str, action: str, what: str):
    """Check, time and record one call to Vinted of `account`; see the module docstring."""
    ensure_usable(account)
    call = Call(account, CallKind(kind), action, what)
    started = time.monotonic()
    try:
        yield call
    except VintedError as exc:
        call.outcome, call.message = exc.outcome, exc.message
        apply_outcome(account, exc)
        raise
    except Exception as exc:
        if call.outcome == CallOutcome.OK:
            call.outcome, call.message = CallOutcome.ERROR, str(exc)[:300]
        raise
    finally:
        VintedCall.objects.create(
            account=account, kind=call.kind, action=action[:32], what=what[:300], status_code=call.status_code,
            outcome=call.outcome, duration_ms=int((time.monotonic() - started) * 1000), message=call.message[:300])


def apply_outcome(account, exc: VintedError) -> None:
    """What the account does after Vinted's answer (its status, what the seller is told)."""
    now = timezone.now()
    if isinstance(exc, SessionExpired):
        account.status, account.status_message = AccountStatus.NEEDS_LOGIN, exc.message
        account.save(update_fields=["status", "status_message", "updated_at"])
    elif isinstance(exc, Blocked):
        account.status = AccountStatus.COOLING_DOWN
        account.status_message = exc.message
        account.cooling_until = now
        account.save(update_fields=["status", "status_message", "cooling_until", "updated_at"])


def summary(account, *, hours: int = 24) -> dict:
    """The account's ledger at a glance: reads, writes, errors and blocks in the last `hours`, and
    the writes left this hour (vinted.ledger owns the hourly limit; this is its read side)."""
    from datetime import timedelta

    from django.conf import settings
    from django.db.models import Count, Q

    now = timezone.now()
    calls = VintedCall.objects.filter(account=account, at__gte=now - timedelta(hours=hours))
    counts = calls.aggregate(
        reads=Count("id", filter=Q(kind=CallKind.READ)), writes=Count("id", filter=Q(kind=CallKind.WRITE)),
        errors=Count("id", filter=~Q(outcome__in=[CallOutcome.OK, CallOutcome.BLOCKED])),
        blocks=Count("id", filter=Q(outcome=CallOutcome.BLOCKED)))
    writes_last_hour = VintedCall.objects.filter(account=account, kind=CallKind.WRITE,
                                                 at__gte=now - timedelta(hours=1)).count()
    return {**counts, "hours": hours, "writes_last_hour": writes_last_hour,
            "write_limit": settings.VINTED_WRITES_PER_HOUR,
            "writes_left": max(0, settings.VINTED_WRITES_PER_HOUR - writes_last_hour),
            "limit_frees_in_seconds": 0}
