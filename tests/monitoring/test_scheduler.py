"""The scheduler loop body, its failure handling, signals and the command."""

import signal

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command

from monitoring.models import Event
from monitoring.scheduler import LAST_TICK_CACHE_KEY, Scheduler
from tests.monitoring import sample_hooks

pytestmark = pytest.mark.django_db

COUNT = "tests.monitoring.sample_hooks.count"
EXPLODE = "tests.monitoring.sample_hooks.explode"
SIGTERM = "tests.monitoring.sample_hooks.send_sigterm"


@pytest.fixture(autouse=True)
def _reset_hooks():
    sample_hooks.CALLS.clear()
    sample_hooks.STATE["explode"] = True


def test_tick_calls_every_hook_and_survives_a_failing_one(django_capture_on_commit_callbacks):
    scheduler = Scheduler(hooks=[COUNT, EXPLODE, COUNT], tick_seconds=0)
    with django_capture_on_commit_callbacks(execute=True):
        results = scheduler.tick()
    assert sample_hooks.CALLS == ["count", "explode", "count"]
    assert isinstance(results[EXPLODE], RuntimeError)
    event = Event.objects.get(source="scheduler", kind="hook.failed")
    assert event.status == "failed" and EXPLODE in event.message and "hook is broken" in event.message
    assert cache.get(LAST_TICK_CACHE_KEY) is not None


def test_repeated_failure_is_recorded_once_and_recovery_too(django_capture_on_commit_callbacks):
    scheduler = Scheduler(hooks=[EXPLODE], tick_seconds=0)
    with django_capture_on_commit_callbacks(execute=True):
        scheduler.tick()
        scheduler.tick()
        sample_hooks.STATE["explode"] = False
        scheduler.tick()
        scheduler.tick()
    assert list(Event.objects.order_by("id").values_list("kind", flat=True)) == ["hook.failed", "hook.recovered"]
    assert sample_hooks.CALLS == ["explode"] * 4


def test_unknown_hook_path_is_a_failing_hook_not_a_crash(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        results = Scheduler(hooks=["tests.monitoring.sample_hooks.missing", COUNT], tick_seconds=0).tick()
    assert isinstance(results["tests.monitoring.sample_hooks.missing"], ImportError)
    assert sample_hooks.CALLS == ["count"]


def test_run_once_restores_signal_handlers():
    before = signal.getsignal(signal.SIGTERM)
    Scheduler(hooks=[COUNT], tick_seconds=3600).run(once=True)
    assert sample_hooks.CALLS == ["count"]
    assert signal.getsignal(signal.SIGTERM) is before


def test_sigterm_stops_the_loop_after_the_current_hook():
    # With an hour between ticks, returning at all proves the signal ended the wait.
    results = Scheduler(hooks=[SIGTERM, COUNT], tick_seconds=3600).run()
    assert sample_hooks.CALLS == ["sigterm"]  # the next hook is skipped once stopping
    assert SIGTERM in results


def test_command_uses_settings_hooks(settings):
    settings.SCHEDULER_HOOKS = [COUNT]
    call_command("scheduler", "--once", verbosity=0)
    assert sample_hooks.CALLS == ["count"]


def test_command_once_fails_when_a_hook_failed(settings):
    settings.SCHEDULER_HOOKS = [COUNT, EXPLODE]
    with pytest.raises(CommandError, match="1 hook"):
        call_command("scheduler", "--once", verbosity=0)
    assert sample_hooks.CALLS == ["count", "explode"]
