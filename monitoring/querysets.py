"""Who may see or change monitoring rows (the one rule for HTML, API and commands)."""

from accounts.querysets import AdminManagedQuerySet, PersonalQuerySet, RestrictedQuerySet
from accounts.roles import Action


class ViewOnlyQuerySet(AdminManagedQuerySet):
    """Operational state is team-wide: every role reads it, only admins change it."""


class EventQuerySet(ViewOnlyQuerySet):
    def payload_visible_to(self, user) -> bool:
        """Payloads hold operational detail (ids, upstream error texts): the roles that act on
        the product (operators and admins) see them, viewers don't."""
        return self.role_permits(user, Action.CHANGE)


class JobRunQuerySet(ViewOnlyQuerySet):
    pass


class JobStatQuerySet(ViewOnlyQuerySet):
    pass


class CircuitBreakerQuerySet(ViewOnlyQuerySet):
    """Resetting a breaker is a change: admins only."""


class AIUsageQuerySet(PersonalQuerySet):
    """Spend is per person: non-admins see their own calls, admins everyone's."""


class BackupQuerySet(RestrictedQuerySet):
    """Backups hold every row of every user (and restore replaces them all): admins only, even to look."""

    admin_only_actions = frozenset(Action)


class SystemSampleQuerySet(RestrictedQuerySet):
    """Host and database figures over 24 h: the System page is admin-only, even to look."""

    admin_only_actions = frozenset(Action)


class NotificationPreferenceQuerySet(RestrictedQuerySet):
    """Every signed-in user reads and changes their own preferences, whatever the role; admins everyone's."""

    def role_permits(self, user, action) -> bool:
        return super().role_permits(user, Action.VIEW) and Action(action) in (Action.VIEW, Action.ADD,
                                                                                Action.CHANGE)

    def restrict_non_admin(self, user, action):
        return self.filter(user=user)


class DeliveryQuerySet(RestrictedQuerySet):
    """The delivery log names every recipient and their endpoints: admins only, even to look."""

    admin_only_actions = frozenset(Action)
