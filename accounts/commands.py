"""What every app's management commands share about users (not a command itself)."""

from django.core.management.base import CommandError

from .models import User
from .roles import Role


def resolve_user(username: str | None, using: str = "default") -> User:
    """The user a command acts as: --user USERNAME, else the first active admin (looked up in the
    database `using`: migrate_database asks its source)."""
    users = User.objects.db_manager(using)
    if username:
        user = users.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"User {username!r} is deactivated.")
        return user
    user = users.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()
    if user is None:
        raise CommandError("No admin user exists to act as: create one with `manage.py bootstrap_admin`, "
                           "or pass --user USERNAME.")
    return user
