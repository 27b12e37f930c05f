"""Helpers shared by the pipeline's management commands (not a command itself)."""

from accounts.commands import resolve_user  # noqa: F401  (the commands import it from here)
from lofisite.commands import table  # noqa: F401
from lofisite.validation import error_text  # noqa: F401
