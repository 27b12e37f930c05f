"""The risk ledger: every call to Vinted of an account goes through `guard()`, which refuses
calls the account may not make now, records the call (vinted.models.VintedCall) and applies
what Vinted's answer means to the account.

    with guard(account, kind=CallKind.WRITE, action="reply", what="POST /api/v2/conversations/1/messages") as call:
        response = ...
        call.answer(response.status_code, response.headers, response.text, str(response.url))

`call.answer()` raises the error the answer means (SessionExpired, Blocked, VintedRateLimited,
VintedUnavailable, VintedRefused); an exception raised inside the block is recorded as an error.

Before the block runs, guard() refuses (nothing is sent; one "refused" row is recorded):
- an account that is not active (AccountUnavailable; a cool-down whose end has passed makes the
  account active again first);
- any call while the `vinted` breaker is open (BreakerOpen, a TransientError);
- a write beyond VINTED_WRITES_PER_HOUR for the account (WriteLimitReached, a TransientError whose
  message says when it may run).
Then a write waits for its turn: writes of one account are spaced by a random wait between
VINTED_WRITE_WAIT_MIN_SECONDS and VINTED_WRITE_WAIT_MAX_SECONDS. The turn is claimed with a
conditional UPDATE of `VintedAccount.next_write_at`, so writers in different processes space out
too. Waiting SLEEPS in steps of at most WAIT_STEP_SECONDS calling monitoring.jobs.heartbeat(), so
a job never looks dead while it waits (the wait is at most the maximum gap, 120 s by default, well
under JOB_STALE_AFTER_SECONDS between heartbeats); re-enqueueing instead would spend one of the
job's attempts on every write.

What an answer does to the account (apply_outcome):
- expired session (401 / login page): "needs login" until a new session is imported;
- a block (403, DataDome, captcha, Cloudflare): "cooling down" for VINTED_COOLDOWN_MINUTES and the
  `vinted` breaker held open as long (an IP ban hits every account); blocked again within
  VINTED_BLOCK_REPEAT_HOURS of an earlier block (a cool-down did not help): "blocked", which only
  an admin undoes (vinted.services.accounts.unblock). Either one also pauses every automation of
  the account (vinted.services.automation.pause_for_block: replies, price drops, reposts); it stays
  paused until the seller resumes it, which is refused while the account is cooling down or blocked;
- 429: VintedRateLimited with Retry-After; 5xx/timeouts: VintedUnavailable (both TransientError:
  the job wrapper retries them).
Each status change records an Event (no secrets).
"""

import math
import random
import time
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from monitoring import jobs
from monitoring.breakers import BreakerOpen, breaker, trip
from monitoring.events import record_event
from monitoring.jobs import TransientError
from monitoring.ratelimit import RateLimited, RateLimitUnavailable, check_rate

from . import site
from .choices import AccountStatus, CallKind, CallOutcome
from .models import VintedAccount, VintedCall

BREAKER = "vinted"
# The longest single sleep while a write waits for its turn (a heartbeat between two).
WAIT_STEP_SECONDS = 1.0


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

    def __init__(self, message: str, *, status_code: int | None = None, block: str = ""):
        super().__init__(message, status_code=status_code)
        self.block = block  # site.DATADOME, site.CAPTCHA, ...


class VintedRefused(VintedError):
    """A 4xx other than the ones above: the request itself was wrong."""


class AccountUnavailable(VintedError):
    """Refused before calling: the account needs a new session, is cooling down or is blocked."""

    outcome = CallOutcome.REFUSED


class VintedRateLimited(TransientError):
    """429 from Vinted: retried after Retry-After by the job wrapper."""


class VintedUnavailable(TransientError):
    """5xx or a timeout: retried with backoff by the job wrapper."""


class WriteLimitReached(TransientError):
    """The account made its VINTED_WRITES_PER_HOUR writes: refused before calling; `may_run_at`
    (an aware datetime) is when one more write fits. The job wrapper retries then."""

    def __init__(self, message: str, *, retry_after: float, may_run_at):
        super().__init__(message, retry_after=retry_after)
        self.message, self.may_run_at = message, may_run_at


def _at(moment) -> str:
    return timezone.localtime(moment).strftime("%H:%M %Z").strip()


class Call:
    def __init__(self, account, kind, action, what):
        self.account, self.kind, self.action, self.what = account, kind, action, what
        self.status_code = None
        self.outcome = CallOutcome.OK
        self.message = ""

    def answer(self, status_code: int, headers, text: str, url: str = "") -> None:
        """Record Vinted's answer; raise the error it means, if any."""
        self.apply(site.classify(status_code, headers, text, url), status_code)

    def page(self, url: str, html: str, status_code: int = 200) -> None:
        """The same for a page the browser landed on (site.classify_page)."""
        self.apply(site.classify_page(url, html, status_code), status_code)

    def apply(self, verdict: site.Verdict, status_code: int | None) -> None:
        self.status_code, self.outcome, self.message = status_code, verdict.outcome, verdict.message
        if verdict.outcome == CallOutcome.OK:
            return
        if verdict.outcome == CallOutcome.NEEDS_LOGIN:
            raise SessionExpired(verdict.message, status_code=status_code)
        if verdict.outcome == CallOutcome.BLOCKED:
            raise Blocked(verdict.message, status_code=status_code, block=verdict.block)
        if verdict.outcome == CallOutcome.RATE_LIMITED:
            raise VintedRateLimited(verdict.message, retry_after=verdict.retry_after)
        if status_code is not None and status_code >= 500:
            raise VintedUnavailable(verdict.message)
        raise VintedRefused(verdict.message, status_code=status_code)


# --- before the call ---------------------------------------------------------------------------


def _refresh_status(account) -> None:
    """Another process may have cooled the account down meanwhile: read its status afresh."""
    row = VintedAccount.objects.filter(pk=account.pk).values("status", "status_message", "cooling_until").first()
    if row:
        account.status, account.status_message, account.cooling_until = (
            row["status"], row["status_message"], row["cooling_until"])


def end_cooldown(account, now=None) -> bool:
    """An account whose cool-down is over becomes active again (one process wins); True if it did."""
    now = now or timezone.now()
    if account.status != AccountStatus.COOLING_DOWN or not account.cooling_until or account.cooling_until > now:
        return False
    ended = VintedAccount.objects.filter(pk=account.pk, status=AccountStatus.COOLING_DOWN,
                                         cooling_until=account.cooling_until).update(
        status=AccountStatus.ACTIVE, status_message="", cooling_until=None, updated_at=now)
    account.status, account.status_message, account.cooling_until = AccountStatus.ACTIVE, "", None
    if ended:
        record_event("vinted", "account.cooldown_ended", "info",
                     f"Vinted account {account.label}: the cool-down is over; calls may resume.",
                     {"account": account.pk, "status": AccountStatus.ACTIVE}, target=account)
    return bool(ended)


def ensure_usable(account) -> None:
    """Refuse a call the account may not make now (AccountUnavailable says why)."""
    _refresh_status(account)
    end_cooldown(account)
    if account.status != AccountStatus.ACTIVE:
        raise AccountUnavailable(account.status_message or f"The account is {account.get_status_display().lower()}.")


def _check_write_limit(account, action: str) -> None:
    limit = settings.VINTED_WRITES_PER_HOUR
    try:
        check_rate(f"vinted:writes:{account.pk}", limit, 3600)
    except RateLimitUnavailable as exc:
        raise WriteLimitReached(f"The hourly write limit of {account.label} cannot be checked now (the shared "
                                f"cache is down), so nothing was sent; try again in {exc.retry_after:.0f} s.",
                                retry_after=exc.retry_after,
                                may_run_at=timezone.now() + timedelta(seconds=exc.retry_after)) from exc
    except RateLimited as exc:
        wait = max(1, math.ceil(exc.retry_after))
        may_run_at = timezone.now() + timedelta(seconds=wait)
        raise WriteLimitReached(
            f"{account.label} has made its {limit} Vinted writes of the last hour (the limit that keeps the "
            f"account clear of Vinted's blocks). Nothing was sent; this {action} may run at {_at(may_run_at)} "
            f"(in {math.ceil(wait / 60)} min).", retry_after=wait, may_run_at=may_run_at) from exc


def _wait_for_write_turn(account) -> None:
    """Claim this account's next write turn, sleeping (with heartbeats) until it comes."""
    low = max(0.0, float(settings.VINTED_WRITE_WAIT_MIN_SECONDS))
    high = max(low, float(settings.VINTED_WRITE_WAIT_MAX_SECONDS))
    rows = VintedAccount.objects.filter(pk=account.pk)
    while True:
        turn = rows.values_list("next_write_at", flat=True).first()
        now = timezone.now()
        if turn is not None and turn > now:
            jobs.heartbeat()
            time.sleep(min(WAIT_STEP_SECONDS, (turn - now).total_seconds()))
            continue
        claim = rows.filter(next_write_at=turn) if turn is not None else rows.filter(next_write_at__isnull=True)
        next_turn = now + timedelta(seconds=random.uniform(low, high))
        if claim.update(next_write_at=next_turn):
            account.next_write_at = next_turn
            return


# --- the call ------------------------------------------------------------------------------------


def _record(account, call: Call, at, started: float) -> None:
    VintedCall.objects.create(
        account=account, at=at, kind=call.kind, action=call.action[:32], what=call.what[:300],
        status_code=call.status_code, outcome=call.outcome, message=call.message[:300],
        duration_ms=int((time.monotonic() - started) * 1000))


@contextmanager
def guard(account, *, kind: str, action: str, what: str):
    """Check, time and record one call to Vinted of `account`; see the module docstring."""
    call = Call(account, CallKind(kind), action, what)
    at, started = timezone.now(), time.monotonic()
    try:
        ensure_usable(account)
        breaker(BREAKER).raise_if_open()
        if call.kind == CallKind.WRITE:
            _check_write_limit(account, action)
            _wait_for_write_turn(account)
    except (AccountUnavailable, BreakerOpen, WriteLimitReached) as exc:
        call.outcome, call.message = CallOutcome.REFUSED, getattr(exc, "message", str(exc))
        _record(account, call, at, started)
        raise
    at, started = timezone.now(), time.monotonic()  # the call itself starts after any wait
    try:
        yield call
    except VintedError as exc:
        call.outcome, call.message = exc.outcome, exc.message
        apply_outcome(account, exc)
        if isinstance(exc, SessionExpired | Blocked):  # the seller is told what the account does now
            exc.message = account.status_message or exc.message
            exc.args = (exc.message,)
        raise
    except BreakerOpen as exc:  # the breaker opened meanwhile: nothing was sent
        call.outcome, call.message = CallOutcome.REFUSED, str(exc)
        raise
    except Exception as exc:
        if call.outcome == CallOutcome.OK:
            call.outcome, call.message = CallOutcome.ERROR, str(exc)[:300]
        raise
    finally:
        _record(account, call, at, started)


# --- after the answer ------------------------------------------------------------------------


def _set_status(account, status: str, message: str, *, cooling_until=None, kind: str, level: str,
                payload: dict) -> None:
    now = timezone.now()
    previous = account.status
    VintedAccount.objects.filter(pk=account.pk).update(status=status, status_message=message[:300],
                                                        cooling_until=cooling_until, updated_at=now)
    account.status, account.status_message, account.cooling_until = status, message[:300], cooling_until
    if previous != status:
        record_event("vinted", kind, level, f"Vinted account {account.label}: {message}"[:1000],
                     {"account": account.pk, "status": status, "previous_status": previous, **payload},
                     user=account.owner, target=account)
    if status in (AccountStatus.COOLING_DOWN, AccountStatus.BLOCKED):
        from .services.automation import pause_for_block  # services import the ledger

        pause_for_block(account, message)


def apply_outcome(account, exc: VintedError) -> None:
    """What the account does after Vinted's answer (its status, what the seller is told)."""
    now = timezone.now()
    if isinstance(exc, SessionExpired):
        _set_status(account, AccountStatus.NEEDS_LOGIN,
                    f"{exc.message} Import a new session from a Vinted tab where you are signed in.",
                    kind="account.needs_login", level="warning", payload={"status_code": exc.status_code})
    elif isinstance(exc, Blocked):
        _refresh_status(account)
        minutes = settings.VINTED_COOLDOWN_MINUTES
        until = now + timedelta(minutes=minutes)
        payload = {"status_code": exc.status_code, "block": exc.block, "until": until.isoformat()}
        in_cooldown = account.status == AccountStatus.COOLING_DOWN and account.cooling_until \
            and account.cooling_until > now
        repeat_since = now - timedelta(hours=settings.VINTED_BLOCK_REPEAT_HOURS)
        blocked_before = VintedCall.objects.filter(account=account, outcome=CallOutcome.BLOCKED,
                                                   at__gte=repeat_since).exists()
        if account.status == AccountStatus.BLOCKED or (blocked_before and not in_cooldown):
            _set_status(account, AccountStatus.BLOCKED,
                        f"{exc.message} It happened again within {settings.VINTED_BLOCK_REPEAT_HOURS} h of an "
                        "earlier block, so the account is paused until an admin unblocks it. Retrying now makes "
                        "it worse: wait a day, then import a fresh session from a normal browser.",
                        kind="account.blocked", level="failed", payload=payload)
        elif not in_cooldown:
            _set_status(account, AccountStatus.COOLING_DOWN,
                        f"{exc.message} The account is cooling down until {_at(until)} ({minutes} min): "
                        "retrying now makes it worse. Calls resume by themselves after that.",
                        cooling_until=until, kind="account.cooling_down", level="warning", payload=payload)
        # An IP ban covers every account: the whole site pauses as long as the cool-down.
        trip(BREAKER, f"{account.label}: {exc.message}", minutes * 60)


# --- the read side -------------------------------------------------------------------------------


def summary(account, *, hours: int = 24) -> dict:
    """The account's ledger at a glance: reads, writes, errors, blocks and calls refused before
    calling in the last `hours`, the writes of the last hour against the limit, and
    `limit_frees_in_seconds`: 0 while a write fits, else when the oldest write of the hour leaves it.
    Writes count what reached Vinted (refused calls are not writes)."""
    now = timezone.now()
    calls = VintedCall.objects.filter(account=account, at__gte=now - timedelta(hours=hours))
    sent = ~Q(outcome=CallOutcome.REFUSED)
    counts = calls.aggregate(
        reads=Count("id", filter=Q(kind=CallKind.READ) & sent),
        writes=Count("id", filter=Q(kind=CallKind.WRITE) & sent),
        errors=Count("id", filter=Q(outcome__in=[CallOutcome.ERROR, CallOutcome.NEEDS_LOGIN,
                                                 CallOutcome.RATE_LIMITED])),
        blocks=Count("id", filter=Q(outcome=CallOutcome.BLOCKED)),
        refused=Count("id", filter=Q(outcome=CallOutcome.REFUSED)))
    limit = settings.VINTED_WRITES_PER_HOUR
    hour_writes = list(VintedCall.objects.filter(account=account, kind=CallKind.WRITE, at__gte=now - timedelta(hours=1))
                       .exclude(outcome=CallOutcome.REFUSED).order_by("at").values_list("at", flat=True))
    frees_in = 0
    if len(hour_writes) >= limit:
        # One more fits once all but limit - 1 of them are older than an hour.
        leaves_at = hour_writes[len(hour_writes) - limit] + timedelta(hours=1) if limit > 0 else now
        frees_in = max(0, math.ceil((leaves_at - now).total_seconds()))
    return {**counts, "hours": hours, "writes_last_hour": len(hour_writes), "write_limit": limit,
            "writes_left": max(0, limit - len(hour_writes)), "limit_frees_in_seconds": frees_in}
