"""Rate limits shared between processes (counters in Django's cache via lofisite.cache).

    check_rate(f"vinted:publish:user:{user.pk}", limit=30, period_seconds=3600)

Sliding-window estimate: the previous fixed window's count, weighted by how
much of it still overlaps the last `period_seconds`, plus the current
window's count. That avoids the double burst a plain fixed window allows at
its boundary, with two counters per key. The estimate assumes the previous
window's actions were spread evenly, so after a burst `retry_after` can be a
little longer than `period_seconds` (conservative, never shorter). A refused
check does not use up quota. `RateLimited` is a `TransientError`, so a job that hits it backs off
(at least `retry_after` seconds) and retries; a view turns it into a 429.

While the shared cache is down (a Redis outage) nothing can be counted, and
letting actions through uncounted could exceed a service's limit (a Vinted
account's actions per hour): the check fails closed with
`RateLimitUnavailable`, a `RateLimited` that says so and asks to retry in
`UNAVAILABLE_RETRY_SECONDS`. (The API's own throttles fail open instead: see
settings.REST_FRAMEWORK.)
"""

import math
import time

from lofisite import cache as counters

from .jobs import TransientError

# How soon a check refused because the cache was down asks to be tried again.
UNAVAILABLE_RETRY_SECONDS = 30


class RateLimited(TransientError):
    def __init__(self, key: str, retry_after: float, message: str = ""):
        self.key = key
        wait = max(1, math.ceil(retry_after))
        super().__init__(message or f"Rate limit reached for {key}; try again in {wait} s.", retry_after=retry_after)


class RateLimitUnavailable(RateLimited):
    """The counters are unreachable (cache down): refused, not counted; try again later."""

    def __init__(self, key: str, reason: str):
        super().__init__(key, UNAVAILABLE_RETRY_SECONDS,
                         f"Rate limit for {key} cannot be checked (shared cache unavailable: {reason}); "
                         f"try again in {UNAVAILABLE_RETRY_SECONDS} s.")


def check_rate(key: str, limit: int, period_seconds: int) -> None:
    """Count one action under `key`; raise RateLimited if that makes more than `limit` per period."""
    if period_seconds <= 0:
        raise ValueError("period_seconds must be positive.")
    if limit <= 0:
        raise RateLimited(key, period_seconds)
    now = time.time()
    window = int(now // period_seconds)
    elapsed = (now % period_seconds) / period_seconds  # fraction of the current window gone by
    current_key = f"ratelimit:{key}:{period_seconds}:{window}"
    try:
        current = counters.incr(current_key, 1, timeout=2 * period_seconds)
        previous = counters.counter(f"ratelimit:{key}:{period_seconds}:{window - 1}")
    except counters.CacheUnavailable as exc:
        raise RateLimitUnavailable(key, str(exc)) from exc
    if previous * (1 - elapsed) + current <= limit:
        return
    try:
        counters.incr(current_key, -1, timeout=2 * period_seconds)
    except counters.CacheUnavailable:
        pass  # refused anyway; the counter it could not give back expires with its window
    raise RateLimited(key, _retry_after(limit, previous, current - 1, elapsed, period_seconds))


def _retry_after(limit: int, previous: int, current: int, elapsed: float, period: int) -> float:
    """Seconds until one more action fits, if nothing else is counted meanwhile."""
    room = limit - current - 1
    if room > 0 and previous > 0:
        # Still in this window, once enough of the previous window has slid out.
        needed = 1 - room / previous
        if needed < 1:
            return max(0.0, needed - elapsed) * period
    rest_of_window = (1 - elapsed) * period
    if current + 1 <= limit:
        return rest_of_window
    # Next window: this window's count now weighs (1 - g).
    return rest_of_window + (1 - (limit - 1) / current) * period
