"""Vinted metrics for /metrics (listed in settings.METRICS_COLLECTORS), read from the database at scrape time:

- lofisite_vinted_accounts{status}              gauge: Vinted accounts by current status (every status, 0 when
                                                none); the VintedAccountBlocked alert reads "cooling_down"
                                                (Vinted blocked a request: the account pauses) and "blocked"
- lofisite_vinted_actions_total{kind,result}    counter: calls to Vinted recorded in the risk ledger
                                                (VintedCall rows), by kind (read / write) and result (the
                                                call's outcome: ok, needs_login, blocked, rate_limited, error,
                                                refused); every pair is exported, 0 when none
- lofisite_vinted_publications{status}          gauge: publications by current status (every status)

The ledger only ever grows (a row is removed only with its account), so its counts are a counter; a deleted
account lowers it, which Prometheus' rate() reads as a counter reset.
"""

from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from .choices import AccountStatus, CallKind, CallOutcome, PublicationStatus
from .models import Publication, VintedAccount, VintedCall


def collect():
    yield accounts_metric()
    yield actions_metric()
    yield publications_metric()


def _counts(queryset, *fields) -> dict:
    return {tuple(row[f] for f in fields): row["n"]
            for row in queryset.order_by().values(*fields).annotate(n=Count("id"))}


def accounts_metric():
    counts = _counts(VintedAccount.objects.all(), "status")
    family = GaugeMetricFamily("lofisite_vinted_accounts", "Vinted accounts by status.", labels=["status"])
    for status in AccountStatus.values:
        family.add_metric([status], counts.get((status,), 0))
    return family


def actions_metric():
    counts = _counts(VintedCall.objects.all(), "kind", "outcome")
    # The name without _total: prometheus_client adds it to a counter family.
    family = CounterMetricFamily("lofisite_vinted_actions", "Calls to Vinted (risk ledger) by kind and result.",
                                 labels=["kind", "result"])
    for kind in CallKind.values:
        for outcome in CallOutcome.values:
            family.add_metric([kind, outcome], counts.get((kind, outcome), 0))
    return family


def publications_metric():
    counts = _counts(Publication.objects.all(), "status")
    family = GaugeMetricFamily("lofisite_vinted_publications", "Vinted publications by status.", labels=["status"])
    for status in PublicationStatus.values:
        family.add_metric([status], counts.get((status,), 0))
    return family
