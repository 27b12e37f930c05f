"""The one cache helper: integer counters shared between processes.

`incr()` is atomic on every backend we run: Redis (django-redis or Django's
own) and LocMem count natively; the file-based cache (the embedded default)
and any other backend count under an exclusive file lock in VAR_DIR, because
their own incr() is a read-then-write that loses updates between processes.

A counter expires `timeout` seconds after it was created, on every backend
(it is not extended by later increments). Read it with `counter()`: on the
locked path the stored value carries its own expiry.
"""

import fcntl
import math
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.cache import caches

_NATIVE_INCR = {
    "django_redis.cache.RedisCache",
    "django.core.cache.backends.redis.RedisCache",
    "django.core.cache.backends.locmem.LocMemCache",
}


def _cache(alias: str):
    return caches[alias]


def _native(cache) -> bool:
    return f"{type(cache).__module__}.{type(cache).__qualname__}" in _NATIVE_INCR


@contextmanager
def _counter_lock():
    path = Path(settings.VAR_DIR) / "cache-counters.lock"
    with open(path, "a+b") as handle:
        # flock works between processes and between threads (each open() is its own lock holder).
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def incr(key: str, delta: int = 1, timeout: float | None = None, *, alias: str = "default") -> int:
    """Add `delta` to the counter at `key` (created at 0 if missing) and return the new value.

    `timeout`: seconds the counter lives after its creation; None = no expiry.
    """
    cache = _cache(alias)
    ttl = None if timeout is None else max(1, math.ceil(timeout))
    if _native(cache):
        for _ in range(3):
            cache.add(key, 0, ttl)
            try:
                return cache.incr(key, delta)
            except ValueError:  # expired between add() and incr(): create it again
                continue
        raise RuntimeError(f"Could not increment cache counter {key!r}.")
    with _counter_lock():
        now = time.time()
        value, expires_at = _unpack(cache.get(key), now)
        if value is None:
            value, expires_at = 0, (now + ttl if ttl else None)
        value += delta
        remaining = None if expires_at is None else max(1, math.ceil(expires_at - now))
        cache.set(key, (value, expires_at), remaining)
        return value


def counter(key: str, *, alias: str = "default") -> int:
    """The current value of a counter written by incr() (0 when missing or expired)."""
    cache = _cache(alias)
    stored = cache.get(key)
    if _native(cache):
        return int(stored or 0)
    value, _ = _unpack(stored, time.time())
    return value or 0


def _unpack(stored, now: float) -> tuple[int | None, float | None]:
    if isinstance(stored, tuple) and len(stored) == 2:
        value, expires_at = stored
        if expires_at is None or expires_at > now:
            return int(value), expires_at
    return None, None
