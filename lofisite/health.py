"""`/health/`: is the product up, and is anything degraded (django-health-check 4).

Overall status for a load balancer: 200 while every check passes or only warns
("degraded": e.g. Redis is down and the cache is skipped, see `lofisite.cache`),
503 when a check fails ("unhealthy": e.g. the database does not answer). The
library's own view answers 500 for a warning too, which would take a degraded but
working product out of a load balancer. The Operations issue adds more checks here.
"""

import dataclasses

from asgiref.sync import sync_to_async
from django.http import JsonResponse
from health_check.base import HealthCheck
from health_check.exceptions import ServiceWarning
from health_check.views import HealthCheckView

from . import cache as cache_helper


@dataclasses.dataclass
class CacheCheck(HealthCheck):
    """The shared cache answers; while it does not, the product runs uncached: degraded."""

    alias: str = "default"

    async def run(self):
        info = await sync_to_async(cache_helper.status)(self.alias)
        if not info["reachable"]:
            since = info.get("down_since")
            raise ServiceWarning("cache unreachable, running uncached" + (f" since {since}" if since else ""))


def overall(results) -> str:
    if any(r.error and not isinstance(r.error, ServiceWarning) for r in results):
        return "unhealthy"
    return "degraded" if any(r.error for r in results) else "healthy"


class HealthView(HealthCheckView):
    checks = ("health_check.checks.Database", CacheCheck)

    async def get(self, request, *args, **kwargs):
        response = await super().get(request, *args, **kwargs)
        state = overall(self.results)
        response.status_code = 503 if state == "unhealthy" else 200
        response["X-Health-Status"] = state
        return response

    def render_to_response_json(self, status):
        return JsonResponse({
            "status": overall(self.results),
            "checks": {repr(r.check): "OK" if not r.error else str(r.error) for r in self.results},
        }, status=status)


def current_health() -> dict:
    """The /health/ answer as data ({"status", "checks"}), from the checks its URL lists (for the admin API)."""
    import asyncio

    from asgiref.sync import async_to_sync
    from django.urls import resolve, reverse

    func = resolve(reverse("health")).func
    view = func.view_class(**func.view_initkwargs)

    async def gather():
        with view.get_executor() as executor:
            return await asyncio.gather(*(check.get_result(executor) for check in view.get_checks()))

    results = async_to_sync(gather)()
    return {"status": overall(results),
            "checks": {repr(r.check): "OK" if not r.error else str(r.error) for r in results}}
