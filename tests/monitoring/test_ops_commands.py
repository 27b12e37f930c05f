"""`manage.py jobs list|reset-stats` and `manage.py costs report`."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from monitoring.models import AIUsage, JobStat
from tests.factories import AIUsageFactory
from tests.monitoring.sample_jobs import broken, plain

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_jobs_list_shows_each_job_and_the_queue():
    plain.call(1)
    with pytest.raises(ValueError):
        broken.call()
    plain.enqueue(2)
    out = run("jobs", "list")
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("tests.")}
    assert "100%" in lines["tests.plain"] and "0%" in lines["tests.broken"] and "bad input" in lines["tests.broken"]
    assert "Queue: 1 queued, 0 retrying, 0 running" in out


def test_jobs_reset_stats_of_one_job_and_a_clear_error_for_an_unknown_one():
    plain.call(1)
    with pytest.raises(ValueError):
        broken.call()
    assert "Reset the statistics of tests.broken (1 row(s))" in run("jobs", "reset-stats", "tests.broken")
    assert JobStat.objects.get(name="tests.broken").failures == 0
    assert JobStat.objects.get(name="tests.plain").runs == 1
    with pytest.raises(CommandError, match="No statistics for a job named 'nope'. Known: tests.broken, tests.plain"):
        run("jobs", "reset-stats", "nope")


def test_costs_report_totals_and_breakdowns(operator, viewer):
    AIUsageFactory(user=operator, model="gpt-4o-mini", request_type="vinted.draft", cost_usd=Decimal("0.25"),
                   prompt_tokens=100, completion_tokens=50)
    AIUsageFactory(user=viewer, model="gpt-image-1", request_type="pipeline.art", cost_usd=Decimal("0.063"), images=1)
    old = AIUsageFactory(user=operator, cost_usd=Decimal("9"))
    AIUsage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))

    out = run("costs", "report")
    assert "$0.3130 in 2 call(s)" in out
    assert "By person:" in out and operator.username in out and viewer.username in out
    assert "gpt-image-1" in out and "vinted.draft" in out
    assert "$9.2500" in run("costs", "report", "--days", "60", "--user", operator.username)


def test_costs_report_as_csv(operator):
    AIUsageFactory(user=operator, model="gpt-4o-mini", request_type="vinted.draft", cost_usd=Decimal("0.25"))
    rows = list(csv.DictReader(io.StringIO(run("costs", "report", "--csv"))))
    assert len(rows) == 1 and rows[0]["user"] == operator.username and rows[0]["cost_usd"] == "0.250000"


@pytest.mark.parametrize("args,message", [
    (["--days", "0"], "between 1 and 3660"), (["--days", "ten"], "not a whole number"),
    (["--user", "nobody"], "No user named 'nobody'"),
])
def test_costs_report_refuses_bad_input_clearly(args, message):
    with pytest.raises((CommandError, SystemExit)) as caught:
        run("costs", "report", *args)
    if isinstance(caught.value, CommandError):
        assert message in str(caught.value)
