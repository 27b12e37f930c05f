"""Scheduled price drops (part 3). TO BE BUILT: see the issue's "Scheduled price drops"."""


def upcoming(account, *, now, until) -> list:
    """Price drops due for the account's listings before `until` (automation.Planned rows)."""
    return []


def run_due_drops(now=None) -> int:
    """Scheduler hook: queue the price drops that are due; returns how many were queued."""
    return 0
