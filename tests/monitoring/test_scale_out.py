"""Beyond one machine: two `db_worker` processes and two `scheduler` processes against one PostgreSQL
(README, "Scaling out"). Every task runs exactly once; every schedule fires exactly once per due time.

PostgreSQL only: SQLite serialises writers, so it proves nothing about concurrent claims. The processes
are real (`manage.py db_worker`, `manage.py scheduler`) on this test's database, committed
(transaction=True) so that they see it.
"""

import os
import sys
import time
from contextlib import ExitStack
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from monitoring.choices import JobStatus
from monitoring.models import Event, JobRun
from pipeline.models import Run, Schedule
from tests.factories import ScheduleFactory
from tests.monitoring.sample_jobs import exactly_once
from tests.processes import process, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                       reason="concurrent claims need PostgreSQL (DATABASE_URL)"),
]

TASKS = 60
SCHEDULES = 4
ROUNDS = 3
WORKER = [sys.executable, "manage.py", "db_worker", "--interval", "0.05", "--no-startup-delay"]


def _environment(tmp_path) -> dict:
    db = connection.settings_dict
    url = urlsplit(os.environ["DATABASE_URL"])
    return {**os.environ, "DATABASE_URL": urlunsplit((url.scheme, url.netloc, "/" + db["NAME"], url.query, "")),
            "DJANGO_SETTINGS_MODULE": "lofisite.test_settings", "LOFISITE_TESTING": "1", "ENV_FILE": "/dev/null",
            "MEDIA_ROOT": str(settings.MEDIA_ROOT), "VAR_DIR": str(tmp_path / "var"),
            "SCHEDULER_TICK_SECONDS": "1", "JOB_HEARTBEAT_SECONDS": "1",
            # The runs the schedules start fail at their first stage at once: this test counts fires, not mixes.
            "FFMPEG_BINARY": "/bin/false", "PIPELINE_STAGE_MAX_ATTEMPTS": "1"}


def test_two_workers_and_two_schedulers_do_everything_exactly_once(tmp_path, operator):
    schedules = [ScheduleFactory(created_by=operator, name=f"Nightly {n}", cron="0 3 * * *", timezone="UTC",
                                 preset="sleep", duration_s=30, publish_target="library",
                                 next_run_at=timezone.now() + timedelta(days=1)) for n in range(SCHEDULES)]
    keys = [f"task-{n}" for n in range(TASKS)]
    for key in keys:
        exactly_once.enqueue(key)

    env = _environment(tmp_path)
    with ExitStack() as stack:
        procs = [stack.enter_context(process(args, env=env, log_path=tmp_path / f"{name}.log", name=name))
                 for name, args in [
                     ("worker-1", WORKER), ("worker-2", WORKER),
                     ("scheduler-1", [sys.executable, "manage.py", "scheduler"]),
                     ("scheduler-2", [sys.executable, "manage.py", "scheduler"])]]

        def alive():
            for proc in procs:
                assert proc.poll() is None, f"{proc.name} exited: {proc.log_path.read_text()[-2000:]}"

        for round_number in range(1, ROUNDS + 1):
            # A new due time for every schedule; both schedulers tick every second and race for it.
            due = timezone.now() - timedelta(seconds=1)
            Schedule.objects.filter(pk__in=[s.pk for s in schedules]).update(next_run_at=due)
            wait_for(lambda: not Schedule.objects.filter(next_run_at__lte=timezone.now()).exists(), timeout=60,
                     what=f"round {round_number}'s fires", interval=0.1)
            wait_for(lambda n=round_number: Run.objects.count() >= SCHEDULES * n, timeout=30,
                     what=f"round {round_number}'s runs", interval=0.1)
            # Both schedulers tick a few more times: a second fire of the same due time would show now.
            before = Run.objects.count()
            time.sleep(3 * float(env["SCHEDULER_TICK_SECONDS"]))
            assert Run.objects.count() == before
            alive()

        wait_for(lambda: JobRun.objects.filter(name="tests.exactly_once",
                                               status=JobStatus.SUCCEEDED).count() == TASKS,
                 timeout=120, what="every task to finish", interval=0.2)
        alive()

    ran = dict(Event.objects.filter(source="tests", kind="exactly-once").values_list("message")
               .annotate(n=Count("id")).values_list("message", "n"))
    assert ran == {key: 1 for key in keys}, "a task ran twice or not at all"
    fires = dict(Run.objects.values_list("schedule").annotate(n=Count("id")).values_list("schedule", "n"))
    assert fires == {s.pk: ROUNDS for s in schedules}, "a schedule fired twice for one due time, or not at all"
