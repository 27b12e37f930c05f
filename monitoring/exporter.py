"""`/metrics`: Prometheus' scrape endpoint, for machines only.

Who may scrape (both gates apply; each is plain text on refusal, never a page or a trace):

1. The client address (`lofisite.client_ip`, which honours PROXY_COUNT) must be in
   METRICS_ALLOWED_IPS (addresses or networks; default loopback; "*" = any). Else 403.
2. When METRICS_TOKEN is set, the request must carry `Authorization: Bearer <token>`
   (compared in constant time): 401 without one, 403 with a wrong one.

A signed-in session counts for nothing here, an admin's included: the numbers are for
Prometheus, people read the dashboards. So Prometheus on another host needs its
address in METRICS_ALLOWED_IPS (or "*") and, sensibly, the token.

What a scrape answers: django-prometheus' request, latency, database and cache families
(under gunicorn from every worker: prometheus_client's multiprocess mode, see
lofisite/gunicorn_conf.py), then each collector in settings.METRICS_COLLECTORS, dotted
paths of functions yielding metric families computed from the database (monitoring knows
no domain app: pipeline and vinted list their own). A collector that fails is left out
of that scrape and `lofisite_metrics_collector_up{collector}` says 0.
"""

import hmac
import ipaddress
import logging
import os
import time
from functools import cache

from django.conf import settings
from django.http import HttpResponse
from django.utils.module_loading import import_string
from django.views import View
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder

from lofisite.client_ip import client_ip

logger = logging.getLogger(__name__)


@cache
def allowed_networks(entries: tuple[str, ...]) -> tuple:
    """METRICS_ALLOWED_IPS as networks ("*" is every IPv4 and IPv6 address)."""
    networks = []
    for entry in entries:
        if entry.strip() == "*":
            networks += [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")]
        elif entry.strip():
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
    return tuple(networks)


def address_allowed(address: str | None) -> bool:
    if not address:
        return False
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in allowed_networks(tuple(settings.METRICS_ALLOWED_IPS)))


def refusal(request) -> HttpResponse | None:
    """The plain-text answer for a request that may not scrape, or None when it may."""
    if not address_allowed(client_ip(request)):
        return _plain(403, "Forbidden: this address may not read /metrics (METRICS_ALLOWED_IPS).")
    expected = settings.METRICS_TOKEN
    if not expected:
        return None
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        response = _plain(401, "Unauthorized: send Authorization: Bearer <METRICS_TOKEN>.")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        return _plain(403, "Forbidden: wrong metrics token.")
    return None


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(text + "\n", status=status, content_type="text/plain; charset=utf-8")


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


class Scrape:
    """What one scrape exports: the process metrics (every worker's, in multiprocess mode), then the collectors."""

    def __init__(self, collector_paths: list[str]):
        self.collector_paths = collector_paths

    def collect(self):
        if multiprocess_dir():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            yield from registry.collect()
        else:
            yield from REGISTRY.collect()
        up = GaugeMetricFamily("lofisite_metrics_collector_up",
                               "1 when the collector answered this scrape, 0 when it failed (see the log).",
                               labels=["collector"])
        took = GaugeMetricFamily("lofisite_metrics_collector_duration_seconds",
                                 "Seconds the collector took in this scrape.", labels=["collector"])
        for path in self.collector_paths:
            started = time.perf_counter()
            try:
                families = list(import_string(path)())  # all or nothing: no half a collector
            except Exception:
                logger.exception("Metrics collector %s failed", path)
                families, ok = [], False
            else:
                ok = True
            up.add_metric([path], 1 if ok else 0)
            took.add_metric([path], time.perf_counter() - started)
            yield from families
        yield up
        yield took


class MetricsView(View):
    http_method_names = ["get", "head"]

    def get(self, request):
        refused = refusal(request)
        if refused is not None:
            return refused
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        response = HttpResponse(encoder(Scrape(list(settings.METRICS_COLLECTORS))), content_type=content_type)
        response["Cache-Control"] = "no-store"
        return response
