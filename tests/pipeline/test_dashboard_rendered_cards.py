"""The home dashboard keeps the rendered pipeline and monitoring cards per user and role
(lofisite.dashboard.rendered_cache): served without rebuilding them, forgotten with their statistics,
never shown to another user or role, and not kept at all with DASHBOARD_CACHE_SECONDS=0."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


def _page(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    return page[page.index('<section class="cards"'):], len(queries)  # the cards (the CSRF token changes)


def _runs_today(page):
    return int(re.search(r'stat-number">(\d+)</span><span class="stat-label">Runs started today', page).group(1))


def test_the_cards_are_served_rendered_and_forgotten_with_the_statistics(client, operator, worker):
    worker.start(operator)
    client.force_login(operator)
    first, first_queries = _page(client)
    again, again_queries = _page(client)
    assert again == first and _runs_today(again) == 1
    assert again_queries < first_queries  # the cards were neither rebuilt nor their figures read again

    worker.start(operator)  # committed: the run statistics are forgotten, and the cards with them
    assert _runs_today(_page(client)[0]) == 2


def test_rendered_cards_are_per_user_and_role(client, operator, viewer, worker):
    worker.commit(lambda: None)
    client.force_login(operator)
    assert "New run" in _page(client)[0]
    client.force_login(viewer)  # the operator's cards are in the cache: the viewer gets their own
    assert "New run" not in _page(client)[0]
    operator.role = "viewer"
    operator.save()
    client.force_login(operator)
    assert "New run" not in _page(client)[0]


def test_no_rendered_cards_kept_when_the_statistics_are_not_cached(rf, settings, operator):
    from lofisite import dashboard

    request = rf.get("/")
    request.user = operator
    kept = [card for card in dashboard.collect(request) if card.html is not None]
    assert {card.kind for card in kept} == {"stat", "panel"}  # the pipeline's and monitoring's, rendered
    settings.DASHBOARD_CACHE_SECONDS = 0
    assert all(card.html is None and card.template for card in dashboard.collect(request))
