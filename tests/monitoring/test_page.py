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


# The overview and the live fragments its tables refresh through (each table's own page fragment).
URLS = ["/monitoring/", "/monitoring/breakers/table/", "/monitoring/jobs/queue/"]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_role_matrix(breaker_settings, client, personas, persona, url):
    """Admin-only (the operations rule of monitoring's querysets): every other role gets a 403."""
    open_breaker()
    response = client_for(client, personas, persona).get(url)
    if persona == "anonymous":
        assert_login_redirect(response)
    elif persona == "admin":
        assert response.status_code == 200
        if url != "/monitoring/jobs/queue/":
            assertContains(response, "badge-failed")  # the open breaker
            assertContains(response, RESET_FORM)
            assertContains(response, 'data-confirm="Reset the test breaker?')
    else:
        assert response.status_code == 403
        assertNotContains(response, "badge-failed", status_code=403)
        assertNotContains(response, RESET_FORM, status_code=403)


def test_nav_entry_is_marked_current(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/monitoring/")
    assertContains(response, '<a href="/monitoring/" aria-current="page">Monitoring</a>', html=True)
    home = client.get("/")
    assertContains(home, '<a href="/monitoring/">Monitoring</a>', html=True)


@pytest.mark.parametrize("persona", ["viewer", "operator", "other_operator"])
def test_non_admins_get_their_costs_in_the_nav_instead(client, personas, persona):
    client.force_login(personas[persona])
    home = client.get("/")
    assertContains(home, '<a href="/monitoring/costs/">AI costs</a>', html=True)
    assertNotContains(home, 'href="/monitoring/"')
    costs = client.get("/monitoring/costs/")
    assertContains(costs, '<a href="/monitoring/costs/" aria-current="page">AI costs</a>', html=True)


def test_job_statistics_and_active_runs(client, admin_user):
    sample_jobs.quick_flaky.call("page-test", 1)
    sample_jobs.plain.enqueue(1)
    client.force_login(admin_user)
    response = client.get("/monitoring/")
    assertContains(response, "tests.quick_flaky")
    assertContains(response, "2 <span class=\"muted\">(1 failed)</span>")  # two runs (attempts) recorded
    assertContains(response, "Jobs queued, running or retrying, oldest first")
    assertContains(response, "tests.plain")


def test_empty_states(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/monitoring/")
    assertContains(response, "No job has run yet")
    assertContains(response, "Nothing is queued or running")
    assertContains(response, "Nothing has happened yet")
    assertContains(response, "No AI calls this month")


def test_overview_uses_the_pages_partials(client, admin_user):
    """One template per table: the overview shows the Breakers, Jobs and Events pages' own tables."""
    sample_jobs.quick_flaky.call("page-test", 1)
    make_events(1)
    client.force_login(admin_user)
    response = client.get("/monitoring/")
    assertNotContains(response, "{#")  # no template comment leaks into the page
    used = {template.name for template in response.templates}
    assert {"monitoring/_breakers_table.html", "monitoring/_jobs_queue.html", "monitoring/_job_stats_table.html",
            "monitoring/_events_table.html"} <= used


def make_events(count=30):
    for i in range(count):
        Event.objects.create(source="jobs" if i % 2 else "breakers", kind=f"kind.{i}",
                             status="failed" if i % 3 == 0 else "info", message=f"event number {i:02d}",
                             payload={"secret_detail": f"detail-{i}"})


def test_overview_shows_the_latest_events_and_links_to_all(client, admin_user):
    make_events()
    client.force_login(admin_user)
    response = client.get("/monitoring/")
    assertContains(response, "event number 29")
    assertContains(response, "event number 20")
    assertNotContains(response, "event number 19")
    assertContains(response, "detail-29")  # admins see the payload
    assertContains(response, 'href="/monitoring/events/"')


def test_ai_spend_of_everyone_for_admins(client, operator, other_operator, admin_user):
    AIUsageFactory(user=operator, request_type="pipeline.metadata", cost_usd=Decimal("1.25"))
    AIUsageFactory(user=other_operator, request_type="vinted.draft", cost_usd=Decimal("3.50"))
    client.force_login(admin_user)
    response = client.get("/monitoring/")
    assert {row["username"] for row in response.context["ai_by_user"]} == {"otto", "oona"}
    assertContains(response, "$4.75")  # everyone's total this month


def test_admin_reset_from_the_page(breaker_settings, client, admin_user):
    open_breaker()
    client.force_login(admin_user)
    response = client.post("/monitoring/breakers/test/reset/", follow=True)
    assert response.redirect_chain[-1][0] == "/monitoring/"
    assertContains(response, "was reset")
    assert {b.name: b.state for b in response.context["breakers"]}["test"] == "closed"
    assertContains(response, "badge-succeeded")


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
