"""AI drafts of listings, one or a batch (built by the drafting work; signatures fixed for callers)."""


def draft_listing(user, listing, *, overwrite=False):
    """Draft `listing` from its photos (AI when configured, honest offline fallback otherwise).
    Fields the seller edited are kept unless `overwrite`. Returns a DraftResult."""
    raise NotImplementedError


def start_batch(user, listings):
    """Queue one background job that drafts every listing; returns the DraftBatch (live progress)."""
    raise NotImplementedError
