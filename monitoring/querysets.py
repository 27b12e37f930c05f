"""Who may see or change monitoring rows (the one rule for HTML, API and commands)."""

from accounts.querysets import PersonalQuerySet, RestrictedQuerySet
from accounts.roles import Action


class OperationsQuerySet(RestrictedQuerySet):
    """Operational state (events, jobs, breakers) is admin-only, even to look: the monitoring
    overview, its fragments, the Jobs, Breakers and Events pages and their API all ask this rule.
    Code that works for a person (a Vinted account's sync job, say) reads these rows unrestricted."""

    admin_only_actions = frozenset(Action)


class EventQuerySet(OperationsQuerySet):
    def payload_visible_to(self, user) -> bool:
        """Payloads hold operational detail (ids, upstream error texts): whoever sees the events."""
        return self.model_permits(user, Action.VIEW)


class JobRunQuerySet(OperationsQuerySet):
    pass


class JobStatQuerySet(OperationsQuerySet):
    pass


class CircuitBreakerQuerySet(OperationsQuerySet):
    pass


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
