"""The services package imports cleanly whichever pipeline module a process loads first.

`services.execution` imports `tasks` at its top and `tasks` imports `services`; `stages`
uses the quota ledger in `services.queries`. That holds only while none of them uses the
other's names while it is being imported (the job's `on_dead` is a dotted path for that
reason), so each entry point is imported first in a fresh interpreter, as a worker, the
web process or a command would.
"""

import os
import subprocess
import sys

import pytest
from django.utils.module_loading import import_string

from pipeline import services, tasks

CHECK = """
import django
django.setup()
import importlib
importlib.import_module({first!r})
from pipeline import services, tasks
assert callable(services.start_run) and callable(services.quota_summary)
assert tasks.execute_stage.on_dead is services.on_stage_worker_died
print("ok")
"""


@pytest.mark.parametrize("first", ["pipeline.tasks", "pipeline.stages", "pipeline.services",
                                   "pipeline.services.queries", "pipeline.services.execution", "pipeline.views"])
def test_each_entry_point_imports_first_in_a_fresh_process(first):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "lofisite.settings", "DEBUG": "True"}
    done = subprocess.run([sys.executable, "-c", CHECK.format(first=first)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_the_stage_job_names_its_dead_worker_hook_by_dotted_path():
    assert tasks.execute_stage._on_dead == "pipeline.services.execution.on_stage_worker_died"
    assert tasks.execute_stage.on_dead is services.on_stage_worker_died


def test_scheduler_hooks_resolve(settings):
    for path in settings.SCHEDULER_HOOKS:
        assert callable(import_string(path)), path
    for old in ("pipeline.services.fire_due_schedules", "pipeline.services.purge_library_media"):
        assert callable(import_string(old)), old
