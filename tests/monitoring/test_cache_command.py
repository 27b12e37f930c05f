"""`manage.py cache clear [NAMESPACE]` and `manage.py cache stats`."""

import pytest
from django.core.management import CommandError, call_command

from lofisite.cache import invalidate
from pipeline import services
from tests.lofisite.redis_process import redis_process  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("cache", *args, stdout=out)
    return out.getvalue()


def test_clear_forgets_a_namespace_and_leaves_counters(operator, django_assert_num_queries):
    from lofisite import cache as shared_cache

    shared_cache.incr("ratelimit:test", 1, timeout=60)
    services.dashboard_stats(operator)
    with django_assert_num_queries(0):
        services.dashboard_stats(operator)

    assert "Cleared dashboard:pipeline" in run("clear", "dashboard:pipeline")
    with django_assert_num_queries(3):  # computed again: the user, today's runs, the success rate
        services.dashboard_stats(operator)
    assert "Cleared every namespace" in run("clear")
    assert shared_cache.counter("ratelimit:test") == 1  # not a cache.clear(): limits and lockouts stay


def test_an_unknown_namespace_is_refused_with_the_known_ones():
    with pytest.raises(CommandError, match="Known: .*dashboard:pipeline"):
        run("clear", "no-such-thing")


def test_stats_show_the_backend_and_the_namespaces(settings):
    out = run("stats")
    assert settings.CACHES["default"]["BACKEND"] in out and "status" in out and "dashboard:pipeline" in out


def test_with_redis_down_clear_and_stats_say_so(settings, redis_process):  # noqa: F811
    settings.CACHES = {**settings.CACHES, "default": {
        "BACKEND": "lofisite.cache.FailSoftRedisCache", "LOCATION": redis_process.url,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5, "OUTAGE_RETRY_SECONDS": 0.2}}}
    assert invalidate("dashboard:pipeline")
    assert "keys" in run("stats")
    redis_process.kill()
    with pytest.raises(CommandError, match="did not answer"):
        run("clear")
    with pytest.raises(CommandError, match="not answering"):
        run("stats")
