"""`manage.py stats`: system figures, events by source and status, and every app's business counts from the
collectors in settings.STATS_COLLECTORS (pipeline and Vinted), as a table and as JSON."""

import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from monitoring.models import Event
from tests.factories import AIUsageFactory, ListingFactory
from tests.pipeline.api_fixtures import mark_uploaded
from tests.vinted.inbox_helpers import stored_conversation
from vinted.choices import AccountStatus, CallKind, CallOutcome
from vinted.models import VintedAccount, VintedCall

pytestmark = pytest.mark.django_db


def run_stats(*args):
    out = io.StringIO()
    call_command("stats", *args, stdout=out)
    return out.getvalue()


def make_events():
    for source, status, count in (("pipeline", "succeeded", 3), ("pipeline", "failed", 2), ("jobs", "warning", 1),
                                  ("pipeline", "info", 4)):
        Event.objects.bulk_create([Event(source=source, kind="x", status=status) for _ in range(count)])


def make_vinted_rows(operator, now):
    ListingFactory.create_batch(2, owner=operator)  # drafts
    ListingFactory(owner=operator, status="sold")
    stored_conversation(operator)  # an active account with one unread message
    blocked = VintedAccount.objects.create(owner=operator, label="Second shop", status=AccountStatus.BLOCKED)
    for kind, outcome, age in ((CallKind.READ, CallOutcome.OK, 1), (CallKind.WRITE, CallOutcome.OK, 2),
                               (CallKind.WRITE, CallOutcome.BLOCKED, 3), (CallKind.READ, CallOutcome.OK, 30)):
        VintedCall.objects.create(account=blocked, at=now - timedelta(hours=age), kind=kind, action="test",
                                  what="GET /", outcome=outcome)
    AIUsageFactory(user=operator, request_type="vinted.draft", cost_usd=Decimal("0.40"))
    AIUsageFactory(user=operator, request_type="vinted.draft", cost_usd=Decimal("1.00"),
                   created_at=now - timedelta(days=10))


def test_events_table(operator):
    make_events()
    lines = run_stats("--only", "events").splitlines()
    table = {line.split()[0]: line.split()[1:] for line in lines[1:5]}
    assert lines[1].split() == ["SOURCE", "INFO", "SUCCEEDED", "FAILED", "WARNING", "TOTAL"]
    assert table["pipeline"] == ["4", "3", "2", "0", "9"]
    assert table["jobs"] == ["0", "0", "0", "1", "1"]
    assert table["all"] == ["4", "3", "2", "1", "10"]


def test_json_has_system_events_and_every_app(operator, make_run, finished_run):
    now = timezone.now()
    make_events()
    mark_uploaded(finished_run(operator, duration_s=1800.0, size_bytes=2_000_000_000).video)
    finished_run(operator, duration_s=5400.0, size_bytes=10_000)
    make_run(operator)  # no video file yet: not counted as a video
    AIUsageFactory(user=operator, request_type="pipeline.metadata", cost_usd=Decimal("0.25"))
    AIUsageFactory(user=operator, request_type="pipeline.artwork", cost_usd=Decimal("2.00"),
                   created_at=now - timedelta(days=40))  # outside 30 days
    make_vinted_rows(operator, now)

    data = json.loads(run_stats("--json"))
    assert set(data) == {"system", "events", "events_total", "apps"}
    assert data["events"]["pipeline"]["failed"] == 2 and data["events_total"] == 10

    system = data["system"]
    assert 0 <= system["memory_percent"] <= 100 and 0 <= system["disk_percent"] <= 100
    assert system["database_bytes"] > 0 and system["processes"] > 0 and system["queue_ready"] == 0
    assert system["worker_heartbeat_age_seconds"] is None  # no worker has run anything in this test

    pipeline = data["apps"]["pipeline"]
    assert pipeline["runs_by_status"]["succeeded"] == 2 and pipeline["runs_by_status"]["queued"] == 1
    assert pipeline["videos"] == {"total": 2, "on_youtube": 1, "audio_hours": 2.0, "size_bytes": 2_000_010_000}
    assert pipeline["uploads_by_status"]["uploaded"] == 1
    assert pipeline["ai_cost_usd"] == {"today": 0.25, "last_30_days": 0.25}

    vinted = data["apps"]["vinted"]
    assert vinted["listings_by_status"]["draft"] == 2 and vinted["listings_by_status"]["sold"] == 1
    assert vinted["accounts_by_status"] == {**dict.fromkeys(AccountStatus.values, 0), "active": 1, "blocked": 1}
    assert vinted["unread"] == {"conversations": 1, "messages": 1}
    assert vinted["actions_last_24h_by_kind"] == {"read": 1, "write": 2}  # the 30 h old call is left out
    assert vinted["actions_last_24h_by_outcome"]["blocked"] == 1
    assert vinted["ai_cost_usd"] == {"today": 0.4, "last_30_days": 1.4}
    assert sum(vinted["publications_by_status"].values()) == 0


def test_table_shows_system_and_app_counts(operator, make_run):
    make_run(operator)
    make_vinted_rows(operator, timezone.now())
    out = run_stats()
    assert "System" in out and "Memory:" in out and "Database:" in out and "Task queue: 0 ready" in out
    assert "Worker: last sign of life never seen" in out
    assert "Pipeline\n  Runs by status: queued 1," in out
    assert "Vinted\n  Listings by status: draft 2," in out
    assert "Actions last 24h by kind: read 1, write 2" in out
    assert "Unread: conversations 1, messages 1" in out


def test_empty(db):
    out = run_stats()
    assert "No events recorded yet." in out and "Videos: total 0, on youtube 0" in out


def test_bad_option_is_a_command_error(db):
    with pytest.raises(CommandError, match="invalid choice"):
        run_stats("--only", "bogus")
    with pytest.raises(CommandError):
        run_stats("--bogus")


def test_a_collector_that_cannot_be_imported_is_named(db, settings):
    settings.STATS_COLLECTORS = ["pipeline.stats.counts", "nowhere.stats.counts"]
    with pytest.raises(CommandError, match="nowhere.stats.counts"):
        run_stats("--only", "apps")
    assert "system" in json.loads(run_stats("--json", "--only", "system"))
