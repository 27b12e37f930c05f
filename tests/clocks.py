"""Clocks the tests move by hand, instead of sleeping and asserting on elapsed time.

- The wall clock (time.time, datetime.now and so django.utils.timezone.now): time-machine, as
  the `wall_clock` fixture of tests/conftest.py, or `time_machine.travel(timedelta(...))` for
  "later" in one block.
- A monotonic clock (deadlines, time limits, back-off) that time-machine does not move: a
  ManualClock given to the code under test in place of its `time` module or clock function.
"""


class ManualClock:
    """Stands in for the `time` module of the code that reads it (time(), monotonic(), sleep()),
    or for a clock function (call it); sleep() moves the clock on instead of waiting."""

    def __init__(self, now: float = 1_000_000.0):
        self.now = now
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    monotonic = time
    __call__ = time

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)
