"""Roles and what each may do. The single source for role decisions."""

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    OPERATOR = "operator", "Operator"
    VIEWER = "viewer", "Viewer"


class Action(models.TextChoices):
    VIEW = "view", "View"
    ADD = "add", "Add"
    CHANGE = "change", "Change"
    DELETE = "delete", "Delete"
    ADMIN = "admin", "Administer"


_ALLOWED = {
    Role.VIEWER: {Action.VIEW},
    Role.OPERATOR: {Action.VIEW, Action.ADD, Action.CHANGE, Action.DELETE},
    Role.ADMIN: set(Action),
}

# API scopes carried in the JWT; they follow the role.
SCOPES = {
    Role.VIEWER: ["read"],
    Role.OPERATOR: ["read", "write"],
    Role.ADMIN: ["read", "write"],
}


def role_of(user):
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return Role(user.role)


def allows(user, action) -> bool:
    role = role_of(user)
    return role is not None and Action(action) in _ALLOWED[role]


def is_admin(user) -> bool:
    return role_of(user) == Role.ADMIN


def scopes_for(user) -> list[str]:
    role = role_of(user)
    return list(SCOPES[role]) if role else []
