"""Reply suggestions and auto-replies (part 3). TO BE BUILT: see the issue's "Reply suggestions and auto-replies"."""


def upcoming(account, *, now, until) -> list:
    """Automatic replies scheduled for the account before `until` (automation.Planned rows)."""
    return []


def send_due_replies(now=None) -> int:
    """Scheduler hook: send the scheduled automatic replies that are due; returns how many were queued."""
    return 0
