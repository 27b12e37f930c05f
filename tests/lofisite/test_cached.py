"""`lofisite.cache.cached`: results in namespaces, on each backend the product runs (LocMem, the embedded
file cache, Redis), namespace-wide invalidation by a version key, JSON values, hit/miss counts, and a Redis
that goes away (computed uncached, no error) and comes back (cached again)."""

from decimal import Decimal

import pytest
from django.core.cache import caches

from lofisite import cache as shared_cache
from lofisite.cache import CACHED_CALLS, cached, invalidate
from tests.lofisite.redis_process import redis_process  # noqa: F401  (fixture)
from tests.processes import wait_for

CALLS: list = []


@cached("tests:squares", ttl=60)
def square(n: int, *, label: str = "") -> dict:
    CALLS.append(n)
    return {"n": n, "square": n * n, "label": label}


@cached("tests:squares", ttl=60)
def cube(n: int) -> int:
    CALLS.append(("cube", n))
    return n ** 3


@cached("tests:other", ttl=60)
def other(n: int) -> list:
    CALLS.append(("other", n))
    return [n]


@cached("tests:bad", ttl=60)
def not_json() -> Decimal:
    return Decimal("1.5")


@pytest.fixture(params=["locmem", "file", "redis"])
def backend(request, settings, tmp_path):
    if request.param == "locmem":
        config = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": f"cached-{tmp_path.name}"}
    elif request.param == "file":
        config = {"BACKEND": "lofisite.cache.CountedFileBasedCache", "LOCATION": str(tmp_path / "cache")}
    else:
        server = request.getfixturevalue("redis_process")
        config = {"BACKEND": "lofisite.cache.FailSoftRedisCache", "LOCATION": server.url, "KEY_PREFIX": "cached",
                  "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5, "OUTAGE_RETRY_SECONDS": 0.2}}
    settings.CACHES = {**settings.CACHES, "default": config}
    caches["default"].clear()
    CALLS.clear()
    return request.param


def counted(namespace, result) -> float:
    return CACHED_CALLS.labels(namespace=namespace, result=result)._value.get()


def test_a_result_is_computed_once_per_arguments_then_read(backend):
    hits, misses = counted("tests:squares", "hit"), counted("tests:squares", "miss")
    assert square(3) == {"n": 3, "square": 9, "label": ""}
    assert square(3) == {"n": 3, "square": 9, "label": ""}
    assert square(3, label="x")["label"] == "x"
    assert square(4)["square"] == 16
    assert CALLS == [3, 3, 4]
    assert (counted("tests:squares", "hit") - hits, counted("tests:squares", "miss") - misses) == (1, 3)


def test_cache_delete_forgets_one_result_and_cache_clear_the_whole_namespace(backend):
    square(1), square(2), cube(2), other(2)
    assert square.cache_delete(1) is True
    square(1), square(2)
    assert CALLS == [1, 2, ("cube", 2), ("other", 2), 1]

    CALLS.clear()
    square.cache_clear()  # every function of "tests:squares", not "tests:other"
    square(2), cube(2), other(2)
    assert CALLS == [2, ("cube", 2)]

    CALLS.clear()
    invalidate()  # every namespace
    square(2), other(2)
    assert CALLS == [2, ("other", 2)]


def test_values_are_json_and_a_miss_answers_what_a_hit_would(backend):
    first, second = square(5), square(5)
    assert first == second and type(first) is type(second) is dict
    with pytest.raises(TypeError):
        not_json()


def test_while_redis_is_down_results_are_computed_uncached_and_cached_again_when_it_returns(settings, redis_process):  # noqa: F811
    settings.CACHES = {**settings.CACHES, "default": {
        "BACKEND": "lofisite.cache.FailSoftRedisCache", "LOCATION": redis_process.url, "KEY_PREFIX": "cached",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5, "OUTAGE_RETRY_SECONDS": 0.2}}}
    CALLS.clear()
    square(7), square(7)
    assert CALLS == [7]

    redis_process.kill()
    assert square(7)["square"] == 49 and square(7)["square"] == 49  # computed each time, no error
    assert CALLS == [7, 7, 7]
    assert not shared_cache.healthy()

    redis_process.start()  # empty, on the same port

    def cached_again():
        square(7)
        calls = len(CALLS)
        square(7)
        return len(CALLS) == calls  # the second call was read from Redis

    wait_for(cached_again, timeout=5, what="caching to resume", interval=0.1)
    assert redis_process.keys("cached:*lofisite:ns:tests:squares:*")
