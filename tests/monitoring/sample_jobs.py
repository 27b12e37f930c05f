"""Jobs used by the monitoring tests (module level, as @job requires)."""

from collections import Counter

from monitoring import jobs
from monitoring.breakers import breaker
from monitoring.jobs import TransientError, heartbeat, job
from monitoring.models import JobRun

ATTEMPTS: Counter = Counter()
DEAD_RUNS: list[int] = []


@job("tests.flaky", max_attempts=3, backoff_base=30)
def flaky(key: str, failures: int):
    """Fails with a TransientError `failures` times, then succeeds."""
    ATTEMPTS[key] += 1
    if ATTEMPTS[key] <= failures:
        raise TransientError(f"attempt {ATTEMPTS[key]} failed")
    return {"attempts": ATTEMPTS[key]}


@job("tests.quick_flaky", max_attempts=3, backoff_base=0.01)
def quick_flaky(key: str, failures: int):
    ATTEMPTS[key] += 1
    if ATTEMPTS[key] <= failures:
        raise TransientError(f"attempt {ATTEMPTS[key]} failed")
    return ATTEMPTS[key]


@job("tests.broken", max_attempts=5)
def broken():
    raise ValueError("bad input")


@job("tests.slow", time_limit=0.2)
def slow(steps: int = 50):
    """Works in 0.15 s steps with a heartbeat before each, `steps` times: only its time limit stops
    it early. It waits on the job wrapper's clock, which a test may replace with a ManualClock."""
    for _ in range(steps):
        heartbeat()
        jobs.time.sleep(0.15)
    return "finished"


@job("tests.progress")
def report_progress():
    heartbeat(0.5, "halfway")
    return "done"


@job("tests.taken_over")
def taken_over():
    # Another process declares this run dead while it is still going.
    JobRun.objects.filter(status="running", name="tests.taken_over").update(status="dead")
    heartbeat()
    return "should not get here"


def remember_dead(job_run):
    DEAD_RUNS.append(job_run.pk)


def explode_on_dead(job_run):
    raise RuntimeError("hook is broken")


@job("tests.with_hook", on_dead="tests.monitoring.sample_jobs.remember_dead")
def with_hook(value: int):
    return value


@job("tests.with_broken_hook", on_dead=explode_on_dead)
def with_broken_hook(value: int):
    return value


@job("tests.plain", max_attempts=2, backoff_base=10)
def plain(value: int):
    return value


@job("tests.calls_service", max_attempts=3, backoff_base=1)
def calls_service():
    return breaker("test").call(lambda: "answer")


@job("tests.exactly_once")
def exactly_once(key: str):
    """Leaves one Event per execution, so a test can count how often each run ran (in any process)."""
    from monitoring.models import Event

    Event.objects.create(source="tests", kind="exactly-once", message=key)
    jobs.time.sleep(0.02)  # long enough for two workers to overlap
    return key
