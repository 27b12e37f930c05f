"""The home dashboard's pipeline pictures: runs per day stacked by status and render speed, as SVG
without script beside a table of the same figures; cached per user and forgotten when a run changes."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from pipeline import charts
from pipeline.choices import RunStatus, StageName
from pipeline.models import Stage
from tests.helpers import PERSONAS, assert_answer, client_for

pytestmark = pytest.mark.django_db


def _runs_of(figures, day):
    return next(row for row in figures["runs"] if row["day"] == day.isoformat())


def _render_took(run, seconds, *, finished=None):
    finished = finished or timezone.now()
    Stage.objects.filter(run=run, name=StageName.RENDER).update(
        started_at=finished - timedelta(seconds=seconds), finished_at=finished)


def test_runs_per_day_are_counted_by_status_for_each_of_the_last_14_days(operator, other_operator, make_run):
    make_run(operator, RunStatus.SUCCEEDED)
    make_run(operator, RunStatus.SUCCEEDED)
    make_run(other_operator, RunStatus.FAILED)
    make_run(operator)  # queued
    two_days_ago = timezone.now() - timedelta(days=2)
    old = make_run(operator, RunStatus.CANCELLED)
    type(old).objects.filter(pk=old.pk).update(created_at=two_days_ago)
    ancient = make_run(operator, RunStatus.SUCCEEDED)
    type(ancient).objects.filter(pk=ancient.pk).update(created_at=timezone.now() - timedelta(days=30))

    figures = charts.chart_figures(operator)
    assert len(figures["runs"]) == 14
    today = _runs_of(figures, timezone.localdate())
    assert (today["succeeded"], today["failed"], today["queued"], today["cancelled"], today["running"]) == (
        2, 1, 1, 0, 0)  # runs are everyone's to read (Run's rule)
    assert _runs_of(figures, timezone.localdate(two_days_ago))["cancelled"] == 1
    assert sum(sum(row[status.value] for status in charts.STATUS_COLOURS) for row in figures["runs"]) == 5


def test_render_speed_is_video_seconds_per_wall_second_per_day(operator, make_run):
    fast = make_run(operator, RunStatus.SUCCEEDED, duration_s=120)
    slow = make_run(operator, RunStatus.SUCCEEDED, duration_s=60)
    _render_took(fast, 30)
    _render_took(slow, 60)
    make_run(operator, RunStatus.FAILED)  # its render never succeeded: not counted
    figures = charts.chart_figures(operator)
    today = next(row for row in figures["render_speed"] if row["day"] == timezone.localdate().isoformat())
    assert today == {"day": timezone.localdate().isoformat(), "speed": 2.0, "renders": 2}  # 180 s in 90 s
    assert [row["speed"] for row in figures["render_speed"][:-1]] == [None] * 13


def test_the_charts_are_svg_without_script(client, operator, make_run):
    run = make_run(operator, RunStatus.SUCCEEDED)
    _render_took(run, 20)
    make_run(operator, RunStatus.FAILED)
    client.force_login(operator)
    runs = client.get(reverse("pipeline:chart-runs-per-day"))
    speed = client.get(reverse("pipeline:chart-render-speed"))
    for response in (runs, speed):
        assert response.status_code == 200
        assert response["Content-Type"] == "image/svg+xml"
        assert "<script" not in response.content.decode()
    runs_svg = runs.content.decode()
    for label in ("Succeeded", "Failed", "Cancelled", "Running", "Queued"):
        assert label in runs_svg  # the legend: colour is not the only signal
    assert "3.0× real time" in speed.content.decode()  # 60 s of video in 20 s


@pytest.mark.parametrize("url_name", ["pipeline:chart-runs-per-day", "pipeline:chart-render-speed"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_chart_role_matrix(client, personas, persona, url_name):
    response = client_for(client, personas, persona).get(reverse(url_name))
    assert_answer(response, "login" if persona == "anonymous" else 200)


def test_the_dashboard_shows_the_pictures_with_their_figures(client, viewer, operator, make_run):
    run = make_run(operator, RunStatus.SUCCEEDED, duration_s=90)
    _render_took(run, 45)
    client.force_login(viewer)
    page = client.get("/").content.decode()
    assert reverse("pipeline:chart-runs-per-day") in page and reverse("pipeline:chart-render-speed") in page
    assert "Succeeded 1" in page
    assert "2.0× real time" in page
    assert reverse("monitoring:dashboard-ai-chart") in page
    assert 'data-testid="health-status"' in page


def test_the_dashboard_says_what_to_do_without_runs(client, operator, viewer):
    client.force_login(operator)
    page = client.get("/").content.decode()
    assert "No runs in the last 14 days." in page and "Start a run" in page
    assert "No finished render in the last 14 days." in page
    client.force_login(viewer)
    assert "Start a run</a>." not in client.get("/").content.decode()


def test_the_figures_are_cached_and_forgotten_when_a_run_starts(operator, worker, django_assert_num_queries):
    assert sum(row["queued"] for row in charts.chart_figures(operator)["runs"]) == 0
    with django_assert_num_queries(0):  # read from the cache
        charts.chart_figures(operator)
    worker.start(operator)  # committed: the dashboard's run figures are forgotten
    assert sum(row["queued"] for row in charts.chart_figures(operator)["runs"]) == 1


def test_the_vinted_card_counts_are_cached_and_forgotten_when_a_listing_is_saved(
        client, operator, django_assert_num_queries, django_capture_on_commit_callbacks):
    from tests.factories import ListingFactory
    from vinted.dashboard import _listing_counts

    assert _listing_counts(user_id=operator.pk, role=operator.role) == []
    with django_assert_num_queries(0):
        _listing_counts(user_id=operator.pk, role=operator.role)
    with django_capture_on_commit_callbacks(execute=True):
        ListingFactory(owner=operator, title="Jeans")
    assert [(row["status"], row["count"]) for row in _listing_counts(user_id=operator.pk, role=operator.role)] == [
        ("draft", 1)]
    client.force_login(operator)
    assert "Listings per status" in client.get("/").content.decode()
