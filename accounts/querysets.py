"""The one place that decides what a user may see or change (NetBox's `RestrictedQuerySet`).

Every app's querysets subclass `RestrictedQuerySet` and state their rule there:

- `restrict(user, action)`: the rows this user may take `action` on (lists);
- `permits(user, obj, action)`: may this user take `action` on this one object;
- `can_add(user)`: may this user add objects of this kind;
- `model_permits(user, action)`: may this user take `action` on objects of this kind at
  all (NetBox's model-level `has_perm`; pages and endpoints without one object).

HTML base views (`accounts.mixins`), API base viewsets (`accounts.api.views`), services,
commands and templates (`{% load permissions %}`) ask these and nothing else. The role
table itself (`accounts.roles`) is read only here and inside `accounts`.

A subclass states its rule with two hooks:

- `admin_only_actions`: actions only admins may take on this kind, whatever the role
  table grants operators (for example the YouTube channel, users, breakers);
- `restrict_non_admin(user, action)`: how rows narrow for an operator or viewer whose
  role grants the action (for example "only the owner changes it").
"""

from django.db import models

from . import roles

Action = roles.Action

# Actions that are not a read; a subclass lists the ones only admins take.
WRITE_ACTIONS = frozenset({Action.ADD, Action.CHANGE, Action.DELETE})


class RestrictedQuerySet(models.QuerySet):
    admin_only_actions: frozenset = frozenset()

    def role_permits(self, user, action) -> bool:
        """What the user's role alone grants (active, signed in), before this kind's rule."""
        return roles.allows(user, action)

    def model_permits(self, user, action=Action.VIEW) -> bool:
        action = Action(action)
        if not self.role_permits(user, action):
            return False
        return action not in self.admin_only_actions or roles.is_admin(user)

    def can_add(self, user) -> bool:
        return self.model_permits(user, Action.ADD)

    def restrict(self, user, action=Action.VIEW):
        if not self.model_permits(user, action):
            return self.none()
        if roles.is_admin(user):
            return self
        return self.restrict_non_admin(user, Action(action))

    def permits(self, user, obj, action=Action.VIEW) -> bool:
        """The restrict() rule for one saved object (one query; none when the role already says no)."""
        if obj is None or obj.pk is None or not self.model_permits(user, action):
            return False
        if roles.is_admin(user):
            return True
        return self.restrict(user, action).filter(pk=obj.pk).exists()

    def restrict_non_admin(self, user, action):
        """Narrow for operators and viewers who already hold the permission for this kind."""
        return self


class OwnedQuerySet(RestrictedQuerySet):
    """Everyone with the role sees all rows; only the owner changes them."""

    owner_field = "created_by"

    def restrict_non_admin(self, user, action):
        if action == Action.VIEW:
            return self
        return self.filter(**{self.owner_field: user})


class PrivateOwnedQuerySet(RestrictedQuerySet):
    """A person's own business rows (Vinted listings): whoever may change rows of this kind
    (operators) sees and changes only their own; read-only roles (viewers) read all; admins all."""

    owner_field = "owner"

    def restrict_non_admin(self, user, action):
        if action == Action.VIEW and not self.role_permits(user, Action.CHANGE):
            return self
        return self.filter(**{self.owner_field: user})

    def shows_everyone(self, user) -> bool:
        """Whether restrict() shows this user everyone's rows, not only their own (a page's wording)."""
        return self.model_permits(user, Action.VIEW) and (
            roles.is_admin(user) or not self.role_permits(user, Action.CHANGE))


class AdminManagedQuerySet(RestrictedQuerySet):
    """Every role reads these rows; only admins add, change or delete them."""

    admin_only_actions = WRITE_ACTIONS


class PersonalQuerySet(RestrictedQuerySet):
    """Non-admins read only their own rows (`user_field`); only admins change them."""

    admin_only_actions = WRITE_ACTIONS
    user_field = "user"

    def restrict_non_admin(self, user, action):
        return self.filter(**{self.user_field: user})

    def shows_everyone(self, user) -> bool:
        """Whether restrict() shows this user everyone's rows, not only their own (a page's wording)."""
        return self.model_permits(user, Action.VIEW) and roles.is_admin(user)


class UserQuerySet(PersonalQuerySet):
    """Non-admins see only themselves; user management is admin-only (Action.ADMIN)."""

    def restrict_non_admin(self, user, action):
        return self.filter(pk=user.pk)


class LoginEventQuerySet(PersonalQuerySet):
    pass


class APITokenQuerySet(RestrictedQuerySet):
    """Personal API tokens: every signed-in user sees, creates and revokes their own, whatever
    the role (a viewer's token is read-only anyway); admins see and revoke everyone's."""

    def role_permits(self, user, action) -> bool:
        return roles.role_of(user) is not None and Action(action) in (Action.VIEW, Action.ADD, Action.DELETE)

    def restrict_non_admin(self, user, action):
        return self.filter(user=user)

    def usable(self, now):
        return self.filter(revoked_at__isnull=True).exclude(expires_at__lte=now)


class OwnerOnlyQuerySet(RestrictedQuerySet):
    """Rows that carry a person's secrets or private messages (Vinted accounts, their ledger,
    conversations): every non-admin sees and changes only their own, whatever the role lets
    them do elsewhere (a viewer reads no one else's); admins see all."""

    owner_field = "owner"

    def restrict_non_admin(self, user, action):
        return self.filter(**{self.owner_field: user})

    def shows_everyone(self, user) -> bool:
        """Whether restrict() shows this user everyone's rows, not only their own (a page's wording)."""
        return self.model_permits(user, Action.VIEW) and roles.is_admin(user)
