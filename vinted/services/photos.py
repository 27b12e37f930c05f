"""Photos of listings: upload (typed from bytes, oriented, metadata stripped, resized), order,
cover, delete (built by the photos work; signatures fixed for callers)."""


def add_photos(user, files, *, listing=None, batch=None):
    """Add uploaded files to `listing` (or to a bulk `batch`, not yet grouped). One result per file:
    the Photo, or the clear reason it was refused; files already added are never lost."""
    raise NotImplementedError
