"""The Vinted inbox: syncing conversations and messages of each active account (a scheduler hook),
and replies (a mutating action: rate-limited and recorded by the ledger)."""


def sync_due_inboxes() -> int:
    """Scheduler hook: sync every active account whose inbox was last synced VINTED_INBOX_SYNC_MINUTES ago."""
    return 0
