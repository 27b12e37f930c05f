"""`/health/`: is the product up, and is anything degraded (django-health-check 4).

The checks are settings.HEALTH_CHECKS (dotted paths, or (path, options) pairs): each app lists its own
there, so no app imports another's. Overall status for a load balancer:

- "healthy" (200): every check passes;
- "degraded" (200): a check only warns (`ServiceWarning`: Redis down and the cache skipped, a task
  worker gone, a breaker open...): the product still serves, a load balancer keeps it;
- "unhealthy" (503): a check fails (`ServiceUnavailable` or any other error: the database does not answer).

django-health-check's own view answers 500 for a warning too, which would take a degraded but working
product out of a load balancer. The `X-Health-Status` header carries the word. The OpenMetrics and feed
formats answer 200 whatever the state (as the library does: Prometheus reads the values, not the status).

Who sees what: every check's name, time and message go only to the users `details_for(user)` admits
(lofisite/urls.py passes the operations app's rule: admins); everyone else, signed in or not, gets the
overall status only, in every format.
"""

import asyncio
import dataclasses
import time

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from health_check.base import HealthCheck
from health_check.exceptions import ServiceWarning
from health_check.views import HealthCheckView

from . import cache as cache_helper

STATES = ("healthy", "degraded", "unhealthy")
_PASSTHROUGH_TYPES = ("application/openmetrics-text", "application/atom+xml", "application/rss+xml")


@dataclasses.dataclass
class CacheCheck(HealthCheck):
    """The shared cache answers; while it does not, the product runs uncached: degraded."""

    alias: str = "default"

    async def run(self):
        info = await sync_to_async(cache_helper.status)(self.alias)
        if not info["reachable"]:
            since = info.get("down_since")
            raise ServiceWarning("cache unreachable, running uncached" + (f" since {since}" if since else ""))


def check_state(result) -> str:
    """One check's result: "ok", "warning" (degrades) or "unavailable" (makes the whole unhealthy)."""
    if result.error is None:
        return "ok"
    return "warning" if isinstance(result.error, ServiceWarning) else "unavailable"


def overall(results) -> str:
    states = {check_state(r) for r in results}
    if "unavailable" in states:
        return "unhealthy"
    return "degraded" if "warning" in states else "healthy"


def describe(result) -> dict:
    """One result as data: name (the check's repr), state, message (empty when ok), time in seconds."""
    return {"name": repr(result.check), "status": check_state(result),
            "message": "" if result.error is None else str(result.error),
            "time_seconds": round(result.time_taken, 6)}


def configured_checks(entries=None) -> list[HealthCheck]:
    """The checks of settings.HEALTH_CHECKS (or `entries`), instantiated as django-health-check does."""
    view = HealthCheckView(checks=settings.HEALTH_CHECKS if entries is None else entries)
    return list(view.get_checks())


def run_checks(checks=None) -> list:
    """Run the checks (default: configured_checks()) concurrently; the results, in the checks' order."""
    checks = configured_checks() if checks is None else checks

    async def gather():
        return await asyncio.gather(*(check.get_result() for check in checks))

    return async_to_sync(gather)()


def report(results) -> dict:
    """Everything an admin sees: {"status", "checked_at", "checks": [describe(result), ...]}."""
    return {"status": overall(results), "checked_at": timezone.now(), "checks": [describe(r) for r in results]}


def current_health() -> dict:
    """The configured checks as {"status", "checks": {name: "OK" or what is wrong}} (the admin system API)."""
    results = run_checks()
    return {"status": overall(results),
            "checks": {repr(r.check): "OK" if not r.error else str(r.error) for r in results}}


class HealthView(HealthCheckView):
    checks = None  # None: settings.HEALTH_CHECKS, read per request
    details_for = None  # callable(user) -> bool: who sees every check; None: nobody

    async def get(self, request, *args, **kwargs):
        # A request that never went through AuthenticationMiddleware (RequestFactory) is anonymous.
        user = await request.auser() if hasattr(request, "auser") else None
        rule = self.details_for
        self.show_details = bool(rule) and await sync_to_async(rule)(user)
        response = await super().get(request, *args, **kwargs)
        self.state = overall(self.results)
        if not response.get("Content-Type", "").startswith(_PASSTHROUGH_TYPES) and response.status_code in (200, 500):
            response.status_code = 503 if self.state == "unhealthy" else 200
        response["X-Health-Status"] = self.state
        return response

    def get_checks(self):
        if self.checks is None:
            self.checks = settings.HEALTH_CHECKS
        return super().get_checks()

    @property
    def visible_results(self) -> list:
        return list(self.results) if self.show_details else []

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        return {**context, "results": self.visible_results, "status": overall(self.results),
                "show_details": self.show_details}

    def render_to_response_json(self, status):
        body = {"status": overall(self.results)}
        if self.show_details:
            body["checks"] = {repr(r.check): "OK" if not r.error else str(r.error) for r in self.results}
            body["details"] = [describe(r) for r in self.results]
        return JsonResponse(body, status=status)

    def render_to_response_text(self, status):
        lines = [f"status: {overall(self.results)}"]
        lines += [f"{repr(r.check)}: {'OK' if not r.error else r.error}" for r in self.visible_results]
        return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8", status=status)

    def render_to_response_openmetrics(self):
        state = overall(self.results)
        lines = [
            "# HELP lofisite_health_status Overall health: 1 for the current state (healthy, degraded, unhealthy).",
            "# TYPE lofisite_health_status gauge",
            *(f'lofisite_health_status{{status="{name}"}} {int(name == state)}' for name in STATES),
        ]
        if self.show_details:
            lines += ["# HELP django_health_check_status Health check status (1 = healthy, 0 = unhealthy)",
                      "# TYPE django_health_check_status gauge"]
            lines += [f"django_health_check_status{{{self.abnf_dumps(r.check.labels)}}} {not r.error:d}"
                      for r in self.results]
            lines += ["# HELP django_health_check_response_time_seconds Health check response time in seconds",
                      "# TYPE django_health_check_response_time_seconds gauge"]
            lines += [f"django_health_check_response_time_seconds{{{self.abnf_dumps(r.check.labels)}}} "
                      f"{r.time_taken:.6f}" for r in self.results]
        lines += [
            "# HELP django_health_check_overall_status Overall health check status "
            "(1 = all healthy, 0 = at least one unhealthy)",
            "# TYPE django_health_check_overall_status gauge",
            f"django_health_check_overall_status {int(state == 'healthy')}",
            "# EOF",
        ]
        return HttpResponse("\n".join(lines) + "\n", status=200,
                            content_type="application/openmetrics-text; version=1.0.0; charset=utf-8")

    def _render_feed(self, feed_class):
        # The feeds list each check: only for those who may see them (an empty feed for others).
        everything, self.results = self.results, self.visible_results
        try:
            return super()._render_feed(feed_class)
        finally:
            self.results = everything


def liveness(request):
    """`/health/live/`: the process answers. Touches neither database nor cache (a restart fixes nothing else)."""
    return JsonResponse({"status": "alive", "time": time.time()}, headers={"Cache-Control": "no-store"})
