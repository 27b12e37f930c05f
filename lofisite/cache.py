"""The one cache helper: a Redis cache that never stops the product, integer counters shared between processes,
and `@cached` results in namespaces (at the end of this module).

Redis outages (`FailSoftRedisCache`, the backend settings use with `REDIS_URL`)
--------------------------------------------------------------------------------
django-redis with its `IGNORE_EXCEPTIONS` behaviour always on: while Redis is
unreachable, reads answer their default (a miss), writes answer None and are
dropped, so pages, the API (DRF's throttles read and write the cache) and
the scheduler keep going, uncached. What django-redis leaves out, this adds:

- one warning when Redis goes away and one line when it is back (not a
  traceback per request), and a count of failed operations per process;
- a short back-off: after a connection failure this process does not try
  Redis again for `OUTAGE_RETRY_SECONDS` (OPTIONS, default 1 s), so a Redis
  host that no longer answers adds at most one connect timeout per second,
  not one to every request. The first operation after the back-off tries
  again, so caching resumes about a second after Redis returns.
- `healthy()` and `status()` for health checks ("degraded" while it is down).

Errors Redis answers (`ResponseError`, such as a wrong type) are not outages:
they are dropped like the others but start no back-off.

Hit/miss metrics (`CountedGetsMixin`)
-------------------------------------
Both backends count `get()` calls, hits and misses in django-prometheus' own
families (`django_cache_get_total`, `django_cache_get_hits_total`,
`django_cache_get_misses_total`, labelled by backend), exported at `/metrics`.
django-prometheus' own file backend answers the default for a cached falsy
value (0, "", False); ours tells a hit from a miss with a sentinel.

Counters (`incr()` / `counter()`)
---------------------------------
`incr()` is atomic on every backend we run: Redis (django-redis or Django's
own) and LocMem count natively; the file-based cache (the embedded default)
and any other backend count under an exclusive file lock in VAR_DIR, because
their own incr() is a read-then-write that loses updates between processes.

A counter expires `timeout` seconds after it was created, on every backend
(it is not extended by later increments). Read it with `counter()`: on the
locked path the stored value carries its own expiry.

A counter cannot be counted while the cache is down, and answering "0" would
silently lift every limit built on it: `incr()` and `counter()` raise
`CacheUnavailable` instead (the rate limiter turns it into a retry-later).
"""

import fcntl
import functools
import hashlib
import json
import logging
import math
import socket
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.filebased import FileBasedCache
from django_prometheus.cache.metrics import django_cache_get_total, django_cache_hits_total, django_cache_misses_total
from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted
from prometheus_client import Counter
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

_NATIVE_INCR = {
    "django_redis.cache.RedisCache",
    "django.core.cache.backends.redis.RedisCache",
    "django.core.cache.backends.locmem.LocMemCache",
}

DEFAULT_OUTAGE_RETRY_SECONDS = 1.0
# Causes of django-redis' ConnectionInterrupted that mean "Redis cannot be reached".
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, socket.timeout, OSError)


class CacheUnavailable(Exception):
    """The shared cache cannot be reached, so a counter cannot be read or counted."""


# --- Redis outages ----------------------------------------------------------------------------------------------
@dataclass
class Outage:
    """What this process knows about one Redis server (shared by its threads)."""

    retry_seconds: float
    clock: Callable[[], float] = time.monotonic  # tests pass a clock they control
    down_since: float | None = None  # time.time() of the first failure of the current outage
    retry_at: float = 0.0  # clock() before which Redis is not tried again
    failures: int = 0  # operations that failed because Redis was unreachable, since the process started
    skipped: int = 0  # operations not even tried (back-off)
    last_error: str = ""

    def __post_init__(self):
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def backing_off(self) -> bool:
        if self.down and self.clock() < self.retry_at:
            with self._lock:
                self.skipped += 1
            return True
        return False

    def failed(self, server: str, exc: BaseException) -> None:
        with self._lock:
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"[:300]
            self.retry_at = self.clock() + self.retry_seconds
            first = self.down_since is None
            if first:
                self.down_since = time.time()
        if first:
            logger.warning("Cache %s unreachable (%s): serving uncached, retrying every %g s.",
                           _safe_location(server), self.last_error, self.retry_seconds)

    def succeeded(self, server: str) -> None:
        if self.down_since is None:
            return
        with self._lock:
            since, self.down_since = self.down_since, None
        if since is not None:
            logger.warning("Cache %s reachable again after %.1f s; caching resumed.",
                           _safe_location(server), time.time() - since)


_outages: dict[str, Outage] = {}
_outages_lock = threading.Lock()


def _outage_for(server: str, retry_seconds: float) -> Outage:
    with _outages_lock:
        return _outages.setdefault(server, Outage(retry_seconds=retry_seconds))


def _safe_location(server) -> str:
    """The Redis address without a password (LOCATION may be redis://:secret@host)."""
    text = ",".join(server) if isinstance(server, (list, tuple)) else str(server)
    if "@" in text:
        scheme, _, rest = text.partition("://")
        text = f"{scheme}://***@{rest.rpartition('@')[2]}"
    return text


class _GuardedClient:
    """Stands in for django-redis' client: every call is skipped during a back-off, and its failures noted."""

    def __init__(self, client, outage: Outage, server: str):
        self._client, self._outage, self._server = client, outage, server

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def guarded(*args, **kwargs):
            if self._outage.backing_off():
                down = CacheUnavailable(f"Redis unreachable; not retried before the back-off ends ({name}).")
                raise ConnectionInterrupted(connection=None) from down
            try:
                result = attr(*args, **kwargs)
            except ConnectionInterrupted as exc:
                if isinstance(exc.__cause__, _UNREACHABLE):
                    self._outage.failed(self._server, exc.__cause__)
                raise
            self._outage.succeeded(self._server)
            return result

        return guarded


_MISSING = object()


class CountedGetsMixin:
    """Counts get() calls, hits and misses (django-prometheus' cache families) under `metrics_backend`."""

    metrics_backend = ""

    def get(self, key, default=None, version=None):
        django_cache_get_total.labels(backend=self.metrics_backend).inc()
        value = super().get(key, _MISSING, version=version)
        if value is _MISSING:
            django_cache_misses_total.labels(backend=self.metrics_backend).inc()
            return default
        django_cache_hits_total.labels(backend=self.metrics_backend).inc()
        return value


class CountedFileBasedCache(CountedGetsMixin, FileBasedCache):
    """Django's file-based cache (the embedded default), with hit/miss metrics."""

    metrics_backend = "filebased"


class FailSoftRedisCache(CountedGetsMixin, RedisCache):
    """django-redis that answers a miss instead of raising while Redis is down (see the module docstring)."""

    metrics_backend = "redis"

    def __init__(self, server, params):
        super().__init__(server, params)
        options = params.get("OPTIONS", {})
        # Always ignore connection errors; we log once per outage ourselves instead of a traceback per call.
        self._ignore_exceptions = True
        self._log_ignored_exceptions = False
        retry = float(options.get("OUTAGE_RETRY_SECONDS", DEFAULT_OUTAGE_RETRY_SECONDS))
        self.outage = _outage_for(str(server), retry)
        self._guarded = None

    @property
    def client(self):
        if self._guarded is None:
            real = super().client
            self._guarded = _GuardedClient(real, self.outage, str(self._server))
        return self._guarded


def healthy(alias: str = "default") -> bool:
    """True when the cache answers a write and a read now; False while it is down (health: "degraded")."""
    outage = None
    probe = f"lofisite:cache-probe:{time.monotonic_ns()}"
    try:
        cache = _cache(alias)
        outage = getattr(cache, "outage", None)
        if outage is not None and outage.backing_off():
            return False
        ok = bool(cache.set(probe, 1, 10)) or cache.get(probe) == 1
        cache.delete(probe)
    except Exception as exc:  # other backends raise their own errors (a file cache on a full or missing disk)
        logger.warning("Cache %s failed its health probe: %s: %s", alias, type(exc).__name__, exc)
        return False
    return ok and not (outage is not None and outage.down)


def status(alias: str = "default") -> dict:
    """What a health page shows about the cache: reachable or not, since when, failed operations."""
    backend = settings.CACHES[alias]["BACKEND"]
    reachable = healthy(alias)
    info = {"alias": alias, "backend": backend, "status": "ok" if reachable else "degraded", "reachable": reachable}
    try:
        outage = getattr(_cache(alias), "outage", None)
    except Exception:
        outage = None
    if outage is not None:
        info.update(down_since=outage.down_since, failures=outage.failures, skipped=outage.skipped,
                    last_error=outage.last_error, retry_seconds=outage.retry_seconds)
    return info


def set_quietly(key: str, value, timeout: float | None = None, *, alias: str = "default") -> bool:
    """cache.set() for bookkeeping that must never stop its caller (a scheduler tick): False when not stored."""
    try:
        return bool(_cache(alias).set(key, value, timeout))
    except Exception as exc:
        logger.warning("Cache write of %s failed: %s: %s", key, type(exc).__name__, exc)
        return False


def get_quietly(key: str, default=None, *, alias: str = "default"):
    """cache.get() for bookkeeping that must never stop its caller (a metrics scrape): `default` when unreadable."""
    try:
        return _cache(alias).get(key, default)
    except Exception as exc:
        logger.warning("Cache read of %s failed: %s: %s", key, type(exc).__name__, exc)
        return default


# --- counters ---------------------------------------------------------------------------------------------------
def _cache(alias: str):
    return caches[alias]


def _native(cache) -> bool:
    return any(f"{cls.__module__}.{cls.__qualname__}" in _NATIVE_INCR for cls in type(cache).__mro__)


def _check_reachable(cache, key: str) -> None:
    outage = getattr(cache, "outage", None)
    if outage is not None and outage.down:
        raise CacheUnavailable(f"The cache is unreachable; cannot count {key!r} ({outage.last_error}).")


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
    Raises CacheUnavailable when the cache cannot be reached.
    """
    cache = _cache(alias)
    ttl = None if timeout is None else max(1, math.ceil(timeout))
    if _native(cache):
        for _ in range(3):
            cache.add(key, 0, ttl)
            try:
                value = cache.incr(key, delta)
            except ValueError:  # expired between add() and incr(): create it again
                continue
            if value is None:  # FailSoftRedisCache dropped the call: Redis went away
                raise CacheUnavailable(f"The cache is unreachable; cannot count {key!r}.")
            return value
        raise RuntimeError(f"Could not increment cache counter {key!r}.")
    try:
        with _counter_lock():
            now = time.time()
            value, expires_at = _unpack(cache.get(key), now)
            if value is None:
                value, expires_at = 0, (now + ttl if ttl else None)
            value += delta
            remaining = None if expires_at is None else max(1, math.ceil(expires_at - now))
            cache.set(key, (value, expires_at), remaining)
            return value
    except OSError as exc:  # the file cache's folder is gone, read-only or full
        raise CacheUnavailable(f"The cache cannot be written; cannot count {key!r}: {exc}") from exc


def counter(key: str, *, alias: str = "default") -> int:
    """The current value of a counter written by incr() (0 when missing or expired).

    Raises CacheUnavailable when the cache cannot be reached (a miss then says nothing).
    """
    cache = _cache(alias)
    try:
        stored = cache.get(key)
    except OSError as exc:
        raise CacheUnavailable(f"The cache cannot be read; cannot count {key!r}: {exc}") from exc
    _check_reachable(cache, key)
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


# --- cached results in namespaces ---------------------------------------------------------------------------
#
#     @cached("dashboard:pipeline", ttl=60)
#     def pipeline_stats(*, user_id: int) -> dict: ...
#
#     pipeline_stats(user_id=3)                 # computed once, then read from the cache for 60 s
#     pipeline_stats.cache_delete(user_id=3)    # forget one result
#     pipeline_stats.cache_clear()              # forget every result of the namespace (every function in it)
#     invalidate("dashboard:pipeline")          # the same, from anywhere (e.g. on commit of a change)
#
# Namespace-wide invalidation works on every backend (no key scans): each namespace has a version number
# in the cache, part of every key; invalidating bumps it and the old entries expire with their TTL.
# Values must be JSON values (dict, list, str, int, float, bool, None): they are stored as JSON text,
# and a miss answers the same round-tripped value a hit would, so callers never see two types.
# While the cache is down (Redis away) every call computes its result, uncached (get/set_quietly): no
# 5xx, and caching resumes with the cache (the Redis backend tries again within OUTAGE_RETRY_SECONDS).

CACHED_CALLS = Counter("lofisite_cached_calls", "Calls of @cached functions, by namespace and result (hit/miss).",
                       ["namespace", "result"])
NAMESPACES: set[str] = set()  # every namespace a @cached function declared (manage.py cache clear)
_NOT_CACHED = object()


# Bumping this one forgets every namespace at once (manage.py cache clear without a namespace).
ALL_NAMESPACES = "__all__"


def _version_key(namespace: str) -> str:
    return f"lofisite:ns:{namespace}:version"


def _version_of(namespace: str) -> int:
    version = get_quietly(_version_key(namespace))
    if isinstance(version, int) and version > 0:
        return version
    # First use (or the cache forgot it): start a version of our own, so entries of an older one are not read.
    try:
        _cache("default").add(_version_key(namespace), time.time_ns(), None)
    except Exception as exc:
        logger.warning("Cache namespace %s: cannot store its version: %s: %s", namespace, type(exc).__name__, exc)
        return 0
    return get_quietly(_version_key(namespace), 0) or 0


def namespace_version(namespace: str) -> str:
    """The part of a namespace's keys that invalidation changes ("" while the cache is unreachable)."""
    everything, own = _version_of(ALL_NAMESPACES), _version_of(namespace)
    return f"{everything}.{own}" if everything and own else ""


def invalidate(namespace: str = ALL_NAMESPACES) -> bool:
    """Forget every cached result of `namespace`, or of every namespace (False when the cache is down:
    the entries' TTL bounds how stale they can be when it returns)."""
    version = time.time_ns()
    set_quietly(_version_key(namespace), version, None)  # Django's backends answer None for a stored value
    return get_quietly(_version_key(namespace)) == version


def _result_key(namespace: str, version: str, name: str, args: tuple, kwargs: dict) -> str:
    arguments = json.dumps([args, kwargs], sort_keys=True, default=str, separators=(",", ":"))
    digest = hashlib.sha256(f"{name}|{arguments}".encode()).hexdigest()[:40]
    return f"lofisite:ns:{namespace}:{version}:{digest}"


def cached(namespace: str, ttl: float):
    """Cache a function's JSON-valued result per arguments in `namespace` for `ttl` seconds (see above)."""
    if not namespace.strip():
        raise ValueError("A cache namespace is a non-empty name.")
    NAMESPACES.add(namespace)

    def decorate(fn):
        name = f"{fn.__module__}.{fn.__qualname__}"

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            version = namespace_version(namespace)
            key = _result_key(namespace, version, name, args, kwargs) if version else None
            stored = get_quietly(key, _NOT_CACHED) if key else _NOT_CACHED
            if isinstance(stored, str):
                CACHED_CALLS.labels(namespace=namespace, result="hit").inc()
                return json.loads(stored)
            CACHED_CALLS.labels(namespace=namespace, result="miss").inc()
            text = json.dumps(fn(*args, **kwargs))  # TypeError for a value that is not JSON: a caller's bug
            if key:
                set_quietly(key, text, ttl)
            return json.loads(text)

        def cache_delete(*args, **kwargs) -> bool:
            version = namespace_version(namespace)
            if not version:
                return False
            try:
                return bool(_cache("default").delete(_result_key(namespace, version, name, args, kwargs)))
            except Exception as exc:
                logger.warning("Cache delete in %s failed: %s: %s", namespace, type(exc).__name__, exc)
                return False

        wrapper.cache_clear = lambda: invalidate(namespace)
        wrapper.cache_delete = cache_delete
        wrapper.namespace = namespace
        return wrapper

    return decorate


def backend_stats(alias: str = "default") -> dict:
    """What the backend holds and how often it hit, as it reports it (Redis INFO, files on disk, LocMem)."""
    cache = _cache(alias)
    try:
        if isinstance(cache, RedisCache):
            client = cache.client.get_client(write=False)
            server = client.info()
            hits, misses = server.get("keyspace_hits", 0), server.get("keyspace_misses", 0)
            return {"keys": client.dbsize(), "memory": server.get("used_memory_human", "?"),
                    "hit ratio": f"{hits / (hits + misses):.0%}" if hits + misses else "-",
                    "hits / misses": f"{hits} / {misses} (since Redis started)"}
        if isinstance(cache, FileBasedCache):
            files = list(Path(cache._dir).glob(f"*{cache.cache_suffix}"))
            return {"entries": len(files), "bytes on disk": sum(f.stat().st_size for f in files if f.exists())}
        if hasattr(cache, "_cache"):
            return {"entries": len(cache._cache)}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {}
