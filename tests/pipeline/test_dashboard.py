"""The dashboard's pipeline cards show real numbers."""

from decimal import Decimal

from pipeline.choices import RunStatus
from tests.factories import AIUsageFactory


def test_empty_dashboard_says_what_to_do(client, operator):
    client.force_login(operator)
    page = client.get("/").content.decode()
    assert "Runs started today" in page
    assert "no finished runs yet" in page
    assert "No finished video yet." in page and "Start a run" in page


def test_cards_count_runs_success_rate_and_show_latest_video(client, operator, viewer, make_run, finished_run):
    finished_run(operator, title="Night shift beats")
    make_run(operator, RunStatus.FAILED, error="Render failed: disk full")
    make_run(operator)  # queued: counts today, not in the success rate
    AIUsageFactory(user=viewer, prompt_tokens=10, completion_tokens=10, cost_usd=Decimal("0.42"), latency_ms=5)
    client.force_login(viewer)
    page = client.get("/").content.decode()
    assert '<span class="stat-number">3</span><span class="stat-label">Runs started today' in page
    assert "50%" in page  # one of two finished runs succeeded
    assert "Night shift beats" in page
    assert "/thumbnail/" in page
    assert "$0.42" in page  # the viewer's own AI spend this month
    assert "New run" not in page  # viewers read only


def test_the_run_statistics_are_cached_and_forgotten_when_a_run_starts_or_finishes(
        client, operator, worker, django_assert_num_queries):
    from pipeline import services
    from pipeline.services.execution import finish_run

    assert services.dashboard_stats(operator) == {"runs_today": 0, "success_rate": None}
    with django_assert_num_queries(0):  # read from the cache
        assert services.dashboard_stats(operator)["runs_today"] == 0

    run = worker.start(operator)  # committed: the statistics are forgotten
    assert services.dashboard_stats(operator) == {"runs_today": 1, "success_rate": None}

    worker.commit(finish_run, run, RunStatus.FAILED, "stopped by the test")
    assert services.dashboard_stats(operator) == {"runs_today": 1, "success_rate": 0}
    client.force_login(operator)
    assert "Runs started today" in client.get("/").content.decode()
