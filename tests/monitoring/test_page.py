"""The Monitoring page: who sees what, filters, pagination, the live fragment and the nav entry."""

from decimal import Decimal

import pytest
from pytest_django.asserts import assertContains, assertNotContains

from monitoring.breakers import breaker
from monitoring.models import Event
from tests.factories import AIUsageFactory
from tests.helpers import PERSONAS, assert_login_redirect, client_for
from tests.monitoring import sample_jobs

pytestmark = pytest.mark.django_db

RESET_FORM = 'action="/monitoring/breakers/test/reset/"'


def open_breaker():
    failing = breaker("test")
    for _ in range(3):
        with pytest.raises(ConnectionError):
            failing.call(_down)


def _down():
    raise ConnectionError("service down")


@pytest.mark.parametrize("url", ["/monitoring/", "/monitoring/live/"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_role_matrix(breaker_settings, client, personas, persona, url):
    open_breaker()
    response = client_for(client, personas, persona).get(url)
    if persona == "anonymous":
        assert_login_redirect(response)
        return
    assertContains(response, "badge-failed")  # the open breaker, for every role
    assertContains(response, "Open")
    if persona == "admin":
        assertContains(response, RESET_FORM)
        assertContains(response, 'data-confirm="Reset the test breaker?')
    else:
        assertNotContains(response, RESET_FORM)


def test_nav_entry_is_marked_current(client, viewer):
    client.force_login(viewer)
    response = client.get("/monitoring/")
    assertContains(response, '<a href="/monitoring/" aria-current="page">Monitoring</a>', html=True)
    home = client.get("/")
    assertContains(home, '<a href="/monitoring/">Monitoring</a>', html=True)


def test_job_statistics_and_active_runs(client, viewer):
    sample_jobs.quick_flaky.call("page-test", 1)
    sample_jobs.plain.enqueue(1)
    client.force_login(viewer)
    response = client.get("/monitoring/")
    assertContains(response, "tests.quick_flaky")
    assertContains(response, '<td data-label="Runs">2</td>', html=True)  # two runs (attempts) recorded
    assertContains(response, "Running and waiting")
    assertContains(response, "tests.plain")


def test_empty_states(client, viewer):
    client.force_login(viewer)
    response = client.get("/monitoring/")
    assertContains(response, "No job has run yet")
    assertContains(response, "Nothing has happened yet")
    assertContains(response, "No AI calls this month")


def make_events(count=30):
    for i in range(count):
        Event.objects.create(source="jobs" if i % 2 else "breakers", kind=f"kind.{i}",
                             status="failed" if i % 3 == 0 else "info", message=f"event number {i:02d}",
                             payload={"secret_detail": f"detail-{i}"})


def test_events_are_paginated(client, viewer):
    make_events()
    client.force_login(viewer)
    first = client.get("/monitoring/")
    assertContains(first, "event number 29")
    assertNotContains(first, "event number 04")
    assertContains(first, "Page 1 of 2")
    second = client.get("/monitoring/?page=2")
    assertContains(second, "event number 04")
    assertNotContains(second, "event number 29")


def test_events_filters_keep_their_values_across_pages(client, operator):
    make_events(60)
    client.force_login(operator)
    response = client.get("/monitoring/?source=jobs&status=failed")
    shown = [e for e in response.context["page_obj"]]
    assert shown and all(e.source == "jobs" and e.status == "failed" for e in shown)
    assert {e.message for e in shown} == {f"event number {i:02d}" for i in range(60) if i % 2 and i % 3 == 0}
    assertContains(response, '<option value="jobs" selected>jobs</option>', html=True)


def test_pagination_links_keep_filters(client, operator):
    make_events(60)
    client.force_login(operator)
    response = client.get("/monitoring/?source=jobs")
    assertContains(response, 'href="?source=jobs&amp;page=2"')


def test_invalid_filter_shows_a_field_error_not_a_500(client, operator):
    make_events(3)
    client.force_login(operator)
    response = client.get("/monitoring/?status=bogus")
    assert response.status_code == 200
    assertContains(response, "field-error")


def test_payload_details_are_hidden_from_viewers(client, viewer, operator):
    make_events(1)
    client.force_login(viewer)
    assertNotContains(client.get("/monitoring/"), "detail-0")
    client.force_login(operator)
    assertContains(client.get("/monitoring/"), "detail-0")


def test_ai_spend_follows_the_usage_rule(client, operator, other_operator, admin_user):
    AIUsageFactory(user=operator, request_type="pipeline.metadata", cost_usd=Decimal("1.25"))
    AIUsageFactory(user=other_operator, request_type="vinted.draft", cost_usd=Decimal("3.50"))
    client.force_login(operator)
    response = client.get("/monitoring/")
    assert [row["username"] for row in response.context["ai_by_user"]] == ["otto"]
    assertContains(response, "pipeline.metadata")
    assertNotContains(response, "vinted.draft")
    client.force_login(admin_user)
    response = client.get("/monitoring/")
    assert {row["username"] for row in response.context["ai_by_user"]} == {"otto", "oona"}
    assertContains(response, "$4.75")  # everyone's total this month


def test_admin_reset_from_the_page(breaker_settings, client, admin_user):
    open_breaker()
    client.force_login(admin_user)
    response = client.post("/monitoring/breakers/test/reset/", follow=True)
    assertContains(response, "was reset")
    assertContains(response, "badge-succeeded")
    assertNotContains(response, "badge-failed")


@pytest.mark.parametrize("model", ["event", "jobrun", "jobstat", "circuitbreaker", "aiusage"])
def test_admin_pages_are_read_only_and_admin_only(client, admin_user, operator, model):
    client.force_login(operator)
    assert client.get(f"/admin/monitoring/{model}/").status_code == 403
    client.force_login(admin_user)
    response = client.get(f"/admin/monitoring/{model}/")
    assert response.status_code == 200
    assert client.get(f"/admin/monitoring/{model}/add/").status_code == 403


def test_admin_can_reset_a_breaker_from_the_django_admin(breaker_settings, client, admin_user):
    open_breaker()
    client.force_login(admin_user)
    row = breaker("test").state()
    response = client.post("/admin/monitoring/circuitbreaker/",
                           {"action": "reset_breakers", "_selected_action": [row.pk]}, follow=True)
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.state == "closed"


def test_api_schema_documents_the_monitoring_endpoints(api_as, admin_user):
    response = api_as(admin_user).get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ["/api/v1/events/", "/api/v1/breakers/", "/api/v1/breakers/{name}/reset/", "/api/v1/ai/usage/",
                 "/api/v1/ai/usage/summary/"]:
        assert path in paths
