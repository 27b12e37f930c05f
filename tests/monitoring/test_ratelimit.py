"""Rate limits and the shared cache counter behind them (file cache by default, Redis with REDIS_URL)."""

import threading

import pytest
from django.core.cache import caches

from lofisite import cache as counters
from monitoring import ratelimit
from monitoring.jobs import TransientError
from monitoring.ratelimit import RateLimited, check_rate
from tests.clocks import ManualClock


@pytest.fixture
def clock(monkeypatch):
    fake = ManualClock(1_000_000.0)  # the start of a 100 s window
    monkeypatch.setattr(ratelimit, "time", fake)
    return fake


def test_allows_up_to_the_limit_then_refuses():
    for _ in range(3):
        check_rate("vinted:publish:user:1", limit=3, period_seconds=60)
    with pytest.raises(RateLimited) as caught:
        check_rate("vinted:publish:user:1", limit=3, period_seconds=60)
    assert caught.value.key == "vinted:publish:user:1"
    assert 0 < caught.value.retry_after <= 2 * 60  # the estimate is conservative: up to two windows
    assert isinstance(caught.value, TransientError)
    assert "try again in" in str(caught.value)


def test_keys_are_independent():
    check_rate("a", limit=1, period_seconds=60)
    check_rate("b", limit=1, period_seconds=60)
    with pytest.raises(RateLimited):
        check_rate("a", limit=1, period_seconds=60)


def test_refused_attempts_do_not_use_quota(clock):
    for _ in range(2):
        check_rate("k", limit=2, period_seconds=100)
    for _ in range(5):
        with pytest.raises(RateLimited):
            check_rate("k", limit=2, period_seconds=100)
    window = int(clock.now // 100)
    assert counters.counter(f"ratelimit:k:100:{window}") == 2


def test_sliding_window_counts_the_previous_window_partly(clock):
    for _ in range(10):
        check_rate("k", limit=10, period_seconds=100)
    with pytest.raises(RateLimited) as caught:
        check_rate("k", limit=10, period_seconds=100)
    # 10 in this window: one more fits once they weigh 9, i.e. 10% into the next window.
    assert caught.value.retry_after == pytest.approx(100 + 10, abs=0.01)

    clock.now += 150  # half-way through the next window: the old 10 weigh 5
    for _ in range(5):
        check_rate("k", limit=10, period_seconds=100)
    with pytest.raises(RateLimited) as caught:
        check_rate("k", limit=10, period_seconds=100)
    # 5 + 10 * (1 - f) + 1 <= 10 once f >= 0.6: 10 s from now.
    assert caught.value.retry_after == pytest.approx(10, abs=0.01)

    clock.now += 10
    check_rate("k", limit=10, period_seconds=100)


def test_a_plain_fixed_window_burst_at_the_boundary_is_refused(clock):
    clock.now += 99  # last second of a window
    for _ in range(10):
        check_rate("k", limit=10, period_seconds=100)
    clock.now += 2  # first second of the next one: a fixed window would allow 10 more now
    with pytest.raises(RateLimited):
        check_rate("k", limit=10, period_seconds=100)


def test_zero_limit_always_refuses():
    with pytest.raises(RateLimited):
        check_rate("off", limit=0, period_seconds=60)


def test_incr_is_atomic_between_threads():
    def work():
        for _ in range(50):
            counters.incr("race", 1, timeout=60)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counters.counter("race") == 400


def pass_time(wall_clock, key, seconds):
    """`seconds` of the counter's life go by. The file cache reads the wall clock of this process,
    which the test moves; Redis keeps time on its server, so its countdown is moved instead."""
    redis = caches["default"]
    if hasattr(redis, "ttl"):  # django-redis
        redis.expire(key, redis.ttl(key) - seconds)  # <= 0 expires the key now
    else:
        wall_clock.shift(seconds)


def test_incr_counter_expires_timeout_after_creation_not_after_last_change(wall_clock):
    assert counters.incr("short", 1, timeout=100) == 1
    pass_time(wall_clock, "short", 60)
    assert counters.incr("short", 1, timeout=100) == 2  # does not extend the lifetime...
    pass_time(wall_clock, "short", 30)
    assert counters.counter("short") == 2
    pass_time(wall_clock, "short", 15)  # ...so it ends 100 s after its creation, not 160 s
    assert counters.counter("short") == 0
    assert counters.incr("short", 1, timeout=100) == 1
