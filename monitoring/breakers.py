"""Circuit breakers whose state is shared by every process through the database.

    yt = breaker("youtube", exclude=(YouTubeClientError,))
    response = yt.call(session.post, url, timeout=yt.timeout)
    # or
    with breaker("openai") as b:
        client = OpenAI(..., timeout=b.timeout)
        ...

- closed: calls pass; `failure_threshold` consecutive failures open it.
- open: calls raise `BreakerOpen(name, retry_after_seconds)` at once, without calling.
- `trip(name, reason, seconds)` opens it at once and holds it open at least `seconds` (a service
  that said "stop", such as a block, not a failure count).
- after `recovery_timeout` seconds (or the trip's hold) it goes half-open: ONE trial call at a time
  (claimed with a conditional UPDATE; the claim expires after call_timeout +
  a grace period, so a caller that crashed mid-trial can't wedge it).
  `success_threshold` successful trials close it; a failed trial reopens it.

Config: settings.CIRCUIT_BREAKERS["default"] merged with the named entry
(failure_threshold, recovery_timeout, success_threshold, call_timeout).
`Breaker.timeout` is call_timeout: the breaker does not interrupt calls, the
caller passes it to its HTTP client.

What counts as a failure: every exception, except those in `exclude` or for
which `counts_as_failure(exc)` is false (client errors such as a 4xx
validation error prove the service answered; like pybreaker, they count as a
success). KeyboardInterrupt/SystemExit count as neither.

`BreakerOpen` subclasses `monitoring.jobs.TransientError`: a job that hits an
open breaker backs off (at least `retry_after_seconds`) and retries instead of
failing for good.

Don't call through a breaker inside a database transaction: if the caller's
transaction rolls back, the breaker's bookkeeping rolls back with it (and a
transaction held over a network call blocks other writers anyway).
"""

import logging
import math
import threading
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import F, Q
from django.utils import timezone

from accounts.roles import Action

from .choices import BreakerState
from .events import record_event
from .jobs import TransientError
from .models import CircuitBreaker

logger = logging.getLogger(__name__)

_DEFAULTS = {"failure_threshold": 5, "recovery_timeout": 60, "success_threshold": 2, "call_timeout": 30}
# A half-open trial claim lapses this long after its call should have timed out.
TRIAL_GRACE_SECONDS = 5


class BreakerOpen(TransientError):
    """The named service is paused after repeated failures; nothing was sent."""

    def __init__(self, name: str, retry_after_seconds: float):
        self.name = name
        self.retry_after_seconds = max(0.0, float(retry_after_seconds))
        wait = max(1, math.ceil(self.retry_after_seconds))
        super().__init__(
            f"The {name} service is paused after repeated failures; try again in {wait} s.",
            retry_after=self.retry_after_seconds,
        )


def config(name: str) -> dict:
    merged = {**_DEFAULTS, **settings.CIRCUIT_BREAKERS.get("default", {}), **settings.CIRCUIT_BREAKERS.get(name, {})}
    return {key: merged[key] for key in _DEFAULTS}


def configured_names() -> list[str]:
    return sorted(name for name in settings.CIRCUIT_BREAKERS if name != "default")


@dataclass
class _Ticket:
    trial: bool  # this call is the half-open trial
    failures_seen: int  # failure_count when the call started (closed state)


def _update(queryset, **fields) -> int:
    # QuerySet.update() skips auto_now, so stamp updated_at here.
    return queryset.update(updated_at=timezone.now(), **fields)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return (f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[:1000]


class Breaker:
    def __init__(self, name: str, *, exclude: tuple = (), counts_as_failure=None):
        self.name = name
        cfg = config(name)
        self.failure_threshold = max(1, int(cfg["failure_threshold"]))
        self.recovery_timeout = float(cfg["recovery_timeout"])
        self.success_threshold = max(1, int(cfg["success_threshold"]))
        self.timeout = float(cfg["call_timeout"])
        self.exclude = tuple(exclude)
        self._counts_as_failure = counts_as_failure
        self._local = threading.local()  # tickets of `with` blocks, per thread

    def __repr__(self):
        return f"<Breaker {self.name}>"

    def counts_as_failure(self, exc: BaseException) -> bool:
        if self.exclude and isinstance(exc, self.exclude):
            return False
        if self._counts_as_failure is not None:
            return bool(self._counts_as_failure(exc))
        return True

    def state(self) -> CircuitBreaker:
        """The shared row, fresh from the database."""
        return CircuitBreaker.objects.get_or_create(name=self.name)[0]

    def call(self, fn, *args, **kwargs):
        ticket = self._before()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            self._after(ticket, exc)
            raise
        except BaseException:
            self._release(ticket)
            raise
        self._after(ticket, None)
        return result

    def __enter__(self):
        stack = getattr(self._local, "tickets", None)
        if stack is None:
            stack = self._local.tickets = []
        stack.append(self._before())
        return self

    def __exit__(self, exc_type, exc, tb):
        ticket = self._local.tickets.pop()
        if exc is None:
            self._after(ticket, None)
        elif isinstance(exc, Exception):
            self._after(ticket, exc)
        else:
            self._release(ticket)
        return False

    def raise_if_open(self) -> None:
        """Raise BreakerOpen while the breaker is open, without claiming a trial call: for callers
        that must refuse early (before waiting for a slot) and then call through `call()`."""
        row = self.state()
        if row.state == BreakerState.OPEN:
            now = timezone.now()
            reopen_at = self._reopen_at(row, now)
            if now < reopen_at:
                raise BreakerOpen(self.name, (reopen_at - now).total_seconds())

    def _reopen_at(self, row: CircuitBreaker, now):
        # (No opened_at can only come from a hand edit: treat the recovery time as over.)
        reopen_at = row.opened_at + timedelta(seconds=self.recovery_timeout) if row.opened_at else now
        return max(reopen_at, row.open_until) if row.open_until else reopen_at

    # --- state machine (every write is a conditional UPDATE) ------------------------------

    def _rows(self):
        return CircuitBreaker.objects.filter(name=self.name)

    def _before(self) -> _Ticket:
        for _ in range(3):  # a lost race re-reads the row
            row = self.state()
            now = timezone.now()
            if row.state == BreakerState.CLOSED:
                return _Ticket(trial=False, failures_seen=row.failure_count)
            if row.state == BreakerState.OPEN:
                reopen_at = self._reopen_at(row, now)
                if now < reopen_at:
                    raise BreakerOpen(self.name, (reopen_at - now).total_seconds())
                # Recovery time is over: whoever flips it to half-open makes the trial call.
                if _update(
                    self._rows().filter(state=BreakerState.OPEN, opened_at=row.opened_at),
                    state=BreakerState.HALF_OPEN, success_count=0, trial_started_at=now
                ):
                    record_event("breakers", "breaker.half_open", "info",
                                 f"{self.name}: recovery time over, letting a trial call through.",
                                 {"breaker": self.name})
                    return _Ticket(trial=True, failures_seen=0)
                continue
            lapsed = now - timedelta(seconds=self.timeout + TRIAL_GRACE_SECONDS)
            waiting = self._rows().filter(state=BreakerState.HALF_OPEN).filter(
                Q(trial_started_at__isnull=True) | Q(trial_started_at__lt=lapsed)
            )
            if _update(waiting, trial_started_at=now):
                return _Ticket(trial=True, failures_seen=0)
            row.refresh_from_db()
            if row.state == BreakerState.HALF_OPEN and row.trial_started_at:
                busy_until = row.trial_started_at + timedelta(seconds=self.timeout + TRIAL_GRACE_SECONDS)
                raise BreakerOpen(self.name, max(1.0, (busy_until - now).total_seconds()))
        raise BreakerOpen(self.name, 1.0)

    def _after(self, ticket: _Ticket, exc: BaseException | None) -> None:
        if exc is not None and self.counts_as_failure(exc):
            self._on_failure(ticket, exc)
        else:
            self._on_success(ticket)

    def _on_success(self, ticket: _Ticket) -> None:
        if not ticket.trial:
            if ticket.failures_seen:  # threshold counts consecutive failures: a success ends the streak
                _update(self._rows().filter(state=BreakerState.CLOSED, failure_count__gt=0), failure_count=0)
            return
        half_open = self._rows().filter(state=BreakerState.HALF_OPEN)
        _update(half_open, success_count=F("success_count") + 1, trial_started_at=None)
        if _update(
            half_open.filter(success_count__gte=self.success_threshold),
            state=BreakerState.CLOSED, failure_count=0, success_count=0, opened_at=None, trial_started_at=None,
            open_until=None,
        ):
            record_event("breakers", "breaker.closed", "succeeded",
                         f"{self.name} closed again after {self.success_threshold} successful trial call(s).",
                         {"breaker": self.name})

    def _on_failure(self, ticket: _Ticket, exc: BaseException) -> None:
        now = timezone.now()
        error = _describe(exc)
        if ticket.trial:
            if _update(
                self._rows().filter(state=BreakerState.HALF_OPEN),
                state=BreakerState.OPEN, opened_at=now, success_count=0, trial_started_at=None,
                failure_count=F("failure_count") + 1, last_failure_at=now, last_error=error,
            ):
                record_event("breakers", "breaker.opened", "failed",
                             f"{self.name} reopened: the trial call failed: {error}",
                             {"breaker": self.name, "error": error})
            return
        closed = self._rows().filter(state=BreakerState.CLOSED)
        _update(closed, failure_count=F("failure_count") + 1, last_failure_at=now, last_error=error)
        if _update(closed.filter(failure_count__gte=self.failure_threshold),
                   state=BreakerState.OPEN, opened_at=now, success_count=0):
            record_event("breakers", "breaker.opened", "failed",
                         f"{self.name} opened after {self.failure_threshold} failures in a row: {error}",
                         {"breaker": self.name, "error": error})
            logger.warning("Circuit breaker %s opened: %s", self.name, error)

    def _release(self, ticket: _Ticket) -> None:
        if ticket.trial:
            _update(self._rows().filter(state=BreakerState.HALF_OPEN), trial_started_at=None)


def breaker(name: str, *, exclude: tuple = (), counts_as_failure=None) -> Breaker:
    """The breaker for an external service (cheap to create: state lives in the database)."""
    return Breaker(name, exclude=exclude, counts_as_failure=counts_as_failure)


def trip(name: str, reason: str, seconds: float) -> CircuitBreaker:
    """Open a breaker now and hold it open for `seconds` (at least), whatever its failure count: the
    service told us to stop (a block, a ban), and every call before then makes it worse. A longer
    hold already in place is kept. Records an Event; returns the row."""
    now = timezone.now()
    row = CircuitBreaker.objects.get_or_create(name=name)[0]
    until = now + timedelta(seconds=max(0.0, float(seconds)))
    if row.state == BreakerState.OPEN and row.open_until and row.open_until > until:
        until = row.open_until
    reason = str(reason)[:1000]
    _update(CircuitBreaker.objects.filter(pk=row.pk), state=BreakerState.OPEN, opened_at=now, open_until=until,
            success_count=0, trial_started_at=None, last_failure_at=now, last_error=reason)
    wait = max(1, math.ceil((until - now).total_seconds()))
    record_event("breakers", "breaker.tripped", "failed", f"{name} held open for {wait} s: {reason}",
                 {"breaker": name, "seconds": wait, "error": reason})
    logger.warning("Circuit breaker %s held open for %s s: %s", name, wait, reason)
    row.refresh_from_db()
    return row


def reset(name: str, by_user=None) -> CircuitBreaker:
    """Close a breaker by hand (admins, or None for a shell/system action); records an Event."""
    if by_user is not None and not CircuitBreaker.objects.model_permits(by_user, Action.CHANGE):
        raise PermissionDenied("Only admins may reset circuit breakers.")
    if name not in configured_names() and not CircuitBreaker.objects.filter(name=name).exists():
        raise CircuitBreaker.DoesNotExist(f"No circuit breaker named {name!r}.")
    row = CircuitBreaker.objects.get_or_create(name=name)[0]
    previous = row.state
    _update(CircuitBreaker.objects.filter(pk=row.pk),
            state=BreakerState.CLOSED, failure_count=0, success_count=0, opened_at=None, trial_started_at=None,
            open_until=None)
    who = by_user.get_username() if by_user is not None else "the system"
    record_event("breakers", "breaker.reset", "info", f"{name} reset by {who} (was {previous}).",
                 {"breaker": name, "previous_state": previous}, user=by_user)
    row.refresh_from_db()
    return row


def all_breakers(viewer=None) -> list[CircuitBreaker]:
    """Every known breaker (configured or used), with `config` and `retry_after_seconds` attached for display.

    With `viewer`, only what restrict() lets that user see; None is the system (shell commands).
    """
    if viewer is not None and not CircuitBreaker.objects.model_permits(viewer, Action.VIEW):
        return []
    queryset = CircuitBreaker.objects.all() if viewer is None else CircuitBreaker.objects.restrict(viewer)
    rows = {row.name: row for row in queryset}
    for name in configured_names():
        rows.setdefault(name, CircuitBreaker(name=name))  # configured but never called: closed
    now = timezone.now()
    for row in rows.values():
        row.config = config(row.name)
        row.retry_after_seconds = None
        if row.state == BreakerState.OPEN and row.opened_at:
            reopen_at = row.opened_at + timedelta(seconds=row.config["recovery_timeout"])
            if row.open_until and row.open_until > reopen_at:
                reopen_at = row.open_until
            row.retry_after_seconds = max(0, math.ceil((reopen_at - now).total_seconds()))
    return [rows[name] for name in sorted(rows)]
