"""Scheduler hooks used by the tests."""

import os
import signal

CALLS: list[str] = []
STATE = {"explode": True}


def count():
    CALLS.append("count")
    return len(CALLS)


def explode():
    CALLS.append("explode")
    if STATE["explode"]:
        raise RuntimeError("hook is broken")
    return 0


def send_sigterm():
    CALLS.append("sigterm")
    os.kill(os.getpid(), signal.SIGTERM)
