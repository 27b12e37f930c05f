"""The operations pages (overview, System, Jobs, Breakers, Events and their live fragments): admin-only,
and each action they offer."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from pytest_django.asserts import assertContains, assertNotContains

from monitoring import breakers, jobs, system
from monitoring.events import record_event
from monitoring.models import Event, JobRun, JobStat
from tests.helpers import PERSONAS, assert_login_redirect, client_for
from tests.monitoring import sample_jobs
from tests.monitoring.worker import run_worker

pytestmark = pytest.mark.django_db

PAGES = ["/monitoring/", "/monitoring/system/", "/monitoring/system/charts/resources.svg",
         "/monitoring/system/charts/cache.svg",
         "/monitoring/jobs/", "/monitoring/jobs/queue/", "/monitoring/jobs/chart.svg", "/monitoring/breakers/",
         "/monitoring/breakers/table/", "/monitoring/events/"]


def failed_run():
    run = sample_jobs.broken.enqueue()
    run_worker()
    run.refresh_from_db()
    assert run.status == "failed"
    return run


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("persona", PERSONAS)
def test_role_matrix_of_the_pages(client, personas, persona, url):
    system.take_sample()
    response = client_for(client, personas, persona).get(url)
    if persona == "anonymous":
        assert_login_redirect(response)
    elif persona == "admin":
        assert response.status_code == 200
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("persona", PERSONAS)
def test_role_matrix_of_retry_now(client, personas, persona, django_capture_on_commit_callbacks):
    run = failed_run()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(client, personas, persona).post(f"/monitoring/jobs/runs/{run.pk}/retry/")
    run.refresh_from_db()
    if persona == "anonymous":
        assert_login_redirect(response)
    elif persona == "admin":
        assert response.status_code == 302 and response["Location"] == "/monitoring/jobs/"
        assert run.status == "queued"
        return
    else:
        assert response.status_code == 403
    assert run.status == "failed"
    assert not Event.objects.filter(kind="job.retried").exists()


@pytest.mark.parametrize("persona", PERSONAS)
def test_role_matrix_of_reset_statistics(client, personas, persona):
    failed_run()
    response = client_for(client, personas, persona).post("/monitoring/jobs/stats/reset/", {"name": "tests.broken"})
    stat = JobStat.objects.get(name="tests.broken")
    if persona == "anonymous":
        assert_login_redirect(response)
    elif persona == "admin":
        assert response.status_code == 302
        assert (stat.runs, stat.failures, stat.consecutive_failures) == (0, 0, 0)
        return
    else:
        assert response.status_code == 403
    assert stat.runs == 1


@pytest.mark.parametrize("persona", ["viewer", "operator", "other_operator"])
def test_non_admins_see_no_links_to_the_admin_pages(client, personas, persona):
    """A non-admin never sees a link that answers 403: not in the nav, the dashboard or the pages they may open."""
    client.force_login(personas[persona])
    admin_pages = ["/monitoring/", "/monitoring/system/", "/monitoring/jobs/", "/monitoring/breakers/",
                   "/monitoring/events/", "/monitoring/audit/"]
    for url in ["/", "/monitoring/costs/", "/monitoring/notifications/", "/accounts/profile/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assertNotContains(response, 'aria-label="Monitoring sections"')
        for page in admin_pages:
            assertNotContains(response, f'href="{page}"')


def test_admins_see_the_links_to_every_operations_page(client, personas):
    client.force_login(personas["admin"])
    response = client.get("/monitoring/")
    for url in ["/monitoring/system/", "/monitoring/jobs/", "/monitoring/breakers/", "/monitoring/events/"]:
        assertContains(response, f'href="{url}"')
    assertContains(client.get("/"), '<a href="/monitoring/">Monitoring</a>', html=True)


# --- System ---------------------------------------------------------------------------------------------


def test_system_page_shows_the_figures_tables_and_charts(client, admin_user):
    system.take_sample(timezone.now() - timedelta(minutes=2))
    system.take_sample()
    client.force_login(admin_user)
    response = client.get("/monitoring/system/")
    assertContains(response, "Rows per table")
    assertContains(response, "<code>monitoring_systemsample</code>", html=True)
    assertContains(response, "2 samples")
    for name in ["resources", "load", "database", "cache"]:
        assertContains(response, f'src="/monitoring/system/charts/{name}.svg"')
    assertContains(response, 'aria-current="page">System</a>')


def test_system_page_shows_every_health_check_with_its_time_and_message(client, admin_user, settings):
    settings.HEALTH_DISK_MIN_FREE_MB = 10**12  # no disk has that much free: the disk check warns
    client.force_login(admin_user)
    response = client.get("/monitoring/system/")
    assertContains(response, 'id="health-heading"')
    assertContains(response, "DiskCheck")
    assertContains(response, "below the 1e+12 MB threshold")
    assertContains(response, "Database")
    assertContains(response, 'data-label="Time"')


def test_system_page_without_samples_says_how_to_get_them(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/monitoring/system/")
    assertContains(response, "No samples yet")
    assertNotContains(response, "/monitoring/system/charts/")


def test_charts_are_svg_without_script(client, admin_user):
    system.take_sample(timezone.now() - timedelta(minutes=2))
    system.take_sample()
    client.force_login(admin_user)
    for name in ["resources", "load", "database", "cache"]:
        response = client.get(f"/monitoring/system/charts/{name}.svg")
        assert response["Content-Type"] == "image/svg+xml"
        body = response.content
        assert body.lstrip().startswith((b"<?xml", b"<svg")) and b"<svg" in body
        assert b"<script" not in body
    assert client.get("/monitoring/system/charts/nope.svg").status_code == 404


# --- Jobs -----------------------------------------------------------------------------------------------


def test_jobs_page_shows_statistics_failures_and_the_queue(client, admin_user):
    run = failed_run()
    sample_jobs.plain.enqueue(7)
    client.force_login(admin_user)
    response = client.get("/monitoring/jobs/")
    assertContains(response, "tests.broken")
    assertContains(response, "ValueError: bad input")
    assertContains(response, f'action="/monitoring/jobs/runs/{run.pk}/retry/"')
    assertContains(response, "Tasks ready to run")
    assertContains(response, "tests.plain")  # queued: in the task queue table
    assertContains(response, 'src="/monitoring/jobs/chart.svg"')
    fragment = client.get("/monitoring/jobs/queue/")
    assertContains(fragment, 'hx-trigger="every 10s"')
    assertContains(fragment, "tests.plain")
    assertNotContains(fragment, "<html")
    chart = client.get("/monitoring/jobs/chart.svg")
    assert chart["Content-Type"] == "image/svg+xml" and b"tests.broken" in chart.content


def test_retry_now_requeues_the_same_run_with_fresh_attempts(client, admin_user, django_capture_on_commit_callbacks):
    run = failed_run()
    old_task = run.task_result_id
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/monitoring/jobs/runs/{run.pk}/retry/", follow=True)
    assertContains(response, "is queued again")
    run.refresh_from_db()
    assert (run.status, run.attempt, run.error) == ("queued", 1, "")
    assert run.task_result_id != old_task
    assert DBTaskResult.objects.get(id=run.task_result_id).status == "READY"
    event = Event.objects.get(kind="job.retried")
    assert event.user == admin_user and event.payload["job_run"] == run.pk and event.target == run
    run_worker()  # the worker runs it again through the wrapper: the job still fails the same way
    run.refresh_from_db()
    assert run.status == "failed" and JobStat.objects.get(name="tests.broken").runs == 2


def test_retry_now_of_a_dead_run(django_capture_on_commit_callbacks):
    run = sample_jobs.plain.enqueue(3)
    JobRun.objects.filter(pk=run.pk).update(status="dead", error="worker lost")
    run.refresh_from_db()
    jobs.retry_now(run)
    run_worker()
    run.refresh_from_db()
    assert run.status == "succeeded"


def test_retry_now_refuses_a_run_that_is_not_failed_or_dead(client, admin_user):
    run = sample_jobs.plain.enqueue(5)
    run_worker()
    client.force_login(admin_user)
    response = client.post(f"/monitoring/jobs/runs/{run.pk}/retry/", follow=True)
    assertContains(response, "is not failed or dead")
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert client.post("/monitoring/jobs/runs/999999/retry/").status_code == 404


def test_two_retries_of_the_same_failure_queue_it_once():
    run = failed_run()
    jobs.retry_now(run)
    with pytest.raises(jobs.NotRetryable):
        jobs.retry_now(run)  # the stale copy still says "failed": the conditional UPDATE refuses it
    assert DBTaskResult.objects.filter(status="READY").count() == 1


def test_reset_statistics_of_one_job_or_all(client, admin_user, django_capture_on_commit_callbacks):
    failed_run()
    sample_jobs.plain.call(1)
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/monitoring/jobs/stats/reset/", {"name": "tests.broken"})
    assert JobStat.objects.get(name="tests.broken").runs == 0
    assert JobStat.objects.get(name="tests.plain").runs == 1
    assert client.post("/monitoring/jobs/stats/reset/", {"name": "no.such.job"}).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/monitoring/jobs/stats/reset/", follow=True)
    assertContains(response, "Statistics of all jobs reset")
    assert JobStat.objects.get(name="tests.plain").runs == 0
    assert Event.objects.filter(kind="stats.reset", user=admin_user).count() == 2


# --- Breakers -------------------------------------------------------------------------------------------


def test_breakers_page_shows_state_counts_open_until_and_resets(breaker_settings, client, admin_user):
    breakers.trip("test", "told to stop", 600)
    client.force_login(admin_user)
    response = client.get("/monitoring/breakers/")
    assertContains(response, "badge-failed")
    assertContains(response, "told to stop")
    until = breakers.all_breakers()[-1].open_until
    assertContains(response, f'datetime="{until.isoformat()}"')
    fragment = client.get("/monitoring/breakers/table/")
    assertContains(fragment, "told to stop")
    assertNotContains(fragment, "<html")
    response = client.post("/monitoring/breakers/test/reset/", {"next": "breakers"})
    assert response["Location"] == "/monitoring/breakers/"
    assert breakers.breaker("test").state().state == "closed"


# --- Events ---------------------------------------------------------------------------------------------


def test_events_filter_and_paginate(client, admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(55):
            record_event("alpha", "thing.done", "info", f"alpha event {i}")
        record_event("beta", "thing.broke", "failed", "beta broke")
    client.force_login(admin_user)
    response = client.get("/monitoring/events/")
    assertContains(response, "56 events")
    assertContains(response, "Page 1 of 2")
    assertContains(response, "beta broke")
    page2 = client.get("/monitoring/events/?page=2")
    assertContains(page2, "alpha event 0")
    assertNotContains(page2, "beta broke")
    only_beta = client.get("/monitoring/events/?source=beta")
    assertContains(only_beta, "1 event,")
    assertNotContains(only_beta, "alpha event")
    by_kind = client.get("/monitoring/events/?kind=thing.done&status=info")
    assertContains(by_kind, "55 events")
    none = client.get("/monitoring/events/?status=failed&source=alpha")
    assertContains(none, "No events match these filters")


def test_events_with_a_bad_filter_answer_field_errors_not_a_500(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/monitoring/events/?since=yesterday&status=bogus")
    assert response.status_code == 200
    assertContains(response, "field-error")
    assertContains(response, "These filters are not valid")
