"""Helpers shared by the pipeline's management commands (not a command itself)."""

from django.core.management.base import CommandError

from accounts.models import User
from accounts.roles import Role
from lofisite.validation import error_text  # noqa: F401  (the commands import it from here)


def resolve_user(username: str | None) -> User:
    """The user a command acts as: --user USERNAME, else the first active admin."""
    if username:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"User {username!r} is deactivated.")
        return user
    user = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()
    if user is None:
        raise CommandError("No admin user exists to act as: create one with `manage.py bootstrap_admin`, "
                           "or pass --user USERNAME.")
    return user


def table(rows: list[tuple]) -> list[str]:
    """Left-aligned text columns; the first row is the header."""
    rows = [tuple(str(cell) for cell in row) for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
