"""/metrics exports the Vinted desk's families (parsed with prometheus_client's parser): accounts by every
status (zero-filled), the ledger's calls by kind and result (a real delete through the fake Vinted counts),
publications by status; the collector says it is up. Nothing secret reaches the page."""

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import ListingFactory
from tests.fakes import vinted_items
from vinted import site
from vinted.choices import AccountStatus, CallKind, CallOutcome, PublicationStatus
from vinted.models import Publication, VintedCall
from vinted.services.relist import delete_on_vinted

from .test_relist import account_for, published

pytestmark = pytest.mark.django_db


def scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200, response.content[:300]
    text = response.content.decode()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    return {"text": text, "families": families}


def samples(page, name) -> dict:
    """{frozenset(labels): value} of one sample name."""
    return {frozenset(s.labels.items()): s.value for family in page["families"].values() for s in family.samples
            if s.name == name}


def test_accounts_by_every_status_zero_filled(client, operator, other_operator):
    account_for(operator, label="a")
    account_for(other_operator, label="b")
    account_for(operator, label="c", status=AccountStatus.COOLING_DOWN)
    page = scrape(client)
    assert page["families"]["lofisite_vinted_accounts"].type == "gauge"
    assert samples(page, "lofisite_vinted_accounts") == {
        frozenset({"status": "active"}.items()): 2.0, frozenset({"status": "needs_login"}.items()): 0.0,
        frozenset({"status": "cooling_down"}.items()): 1.0, frozenset({"status": "blocked"}.items()): 0.0}
    assert samples(page, "lofisite_metrics_collector_up")[frozenset({"collector": "vinted.metrics.collect"}.items())] \
        == 1.0


def test_actions_by_kind_and_result_from_the_ledger(client, operator, fake_vinted):
    account = account_for(operator, fake_vinted)
    listing = published(operator, account=account, item_id=vinted_items.add_item(fake_vinted))
    delete_on_vinted(listing.pk)  # one real write through VintedClient: the ledger's row
    VintedCall.objects.create(account=account, kind=CallKind.READ, action="inbox", what="GET /api/v2/inbox",
                              outcome=CallOutcome.BLOCKED, status_code=403)
    page = scrape(client)
    assert page["families"]["lofisite_vinted_actions"].type == "counter"
    actions = samples(page, "lofisite_vinted_actions_total")
    assert len(actions) == len(CallKind.values) * len(CallOutcome.values)
    assert actions[frozenset({"kind": "write", "result": "ok"}.items())] == 1.0
    assert actions[frozenset({"kind": "read", "result": "blocked"}.items())] == 1.0
    assert sum(actions.values()) == 2.0


def test_publications_by_status(client, operator):
    account = account_for(operator)
    Publication.objects.create(owner=operator, listing=ListingFactory(owner=operator), account=account,
                               status=PublicationStatus.DRY_RUN)
    publications = samples(scrape(client), "lofisite_vinted_publications")
    assert set(dict(labels)["status"] for labels in publications) == set(PublicationStatus.values)
    assert publications[frozenset({"status": "dry_run"}.items())] == 1.0
    assert sum(publications.values()) == 1.0


def test_no_session_secret_reaches_the_metrics(client, operator, fake_vinted):
    account = account_for(operator, fake_vinted)
    text = scrape(client)["text"]
    cookies = json.loads(account.cookies)
    for name in site.SESSION_COOKIES:  # the secrets (the fake's v_uid is a short user id, found in any float)
        assert cookies[name] not in text
