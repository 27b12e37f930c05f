"""`restrict(user, action)`: the one place that decides what a user may see or change.

Every app's querysets subclass `RestrictedQuerySet`; HTML views, API views,
commands and tasks all go through `restrict()`.
"""

from django.db import models

from . import roles


class RestrictedQuerySet(models.QuerySet):
    def restrict(self, user, action=roles.Action.VIEW):
        if not roles.allows(user, action):
            return self.none()
        if roles.is_admin(user):
            return self
        return self.restrict_non_admin(user, roles.Action(action))

    def restrict_non_admin(self, user, action):
        """Narrow for operators and viewers who already hold the role permission."""
        return self

    def can_add(self, user) -> bool:
        """May this user add objects of this kind."""
        return roles.allows(user, roles.Action.ADD)


class OwnedQuerySet(RestrictedQuerySet):
    """Everyone with the role sees all rows; only the owner changes them."""

    owner_field = "created_by"

    def restrict_non_admin(self, user, action):
        if action == roles.Action.VIEW:
            return self
        return self.filter(**{self.owner_field: user})


class UserQuerySet(RestrictedQuerySet):
    def restrict_non_admin(self, user, action):
        # Non-admins see only themselves; user management is admin-only.
        if action == roles.Action.VIEW:
            return self.filter(pk=user.pk)
        return self.none()


class LoginEventQuerySet(RestrictedQuerySet):
    def restrict_non_admin(self, user, action):
        if action == roles.Action.VIEW:
            return self.filter(user=user)
        return self.none()
