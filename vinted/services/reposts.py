"""Reposting stale items (part 3). TO BE BUILT: see the issue's "Reposting stale items"."""


def upcoming(account, *, now, until) -> list:
    """Reposts scheduled for the account before `until` (automation.Planned rows)."""
    return []


def run_due_reposts(now=None) -> int:
    """Scheduler hook: plan reposts of stale listings and start the due ones; returns how many were started."""
    return 0
