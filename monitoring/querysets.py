"""Who may see or change monitoring rows (the one rule for HTML, API and commands)."""

from accounts.querysets import RestrictedQuerySet
from accounts.roles import Action


class ViewOnlyQuerySet(RestrictedQuerySet):
    """Operational state is team-wide: every role reads it, only admins change it."""

    def restrict_non_admin(self, user, action):
        if action == Action.VIEW:
            return self
        return self.none()


class EventQuerySet(ViewOnlyQuerySet):
    pass


class JobRunQuerySet(ViewOnlyQuerySet):
    pass


class JobStatQuerySet(ViewOnlyQuerySet):
    pass


class CircuitBreakerQuerySet(ViewOnlyQuerySet):
    pass


class AIUsageQuerySet(RestrictedQuerySet):
    """Spend is per person: non-admins see their own calls, admins everyone's."""

    def restrict_non_admin(self, user, action):
        if action == Action.VIEW:
            return self.filter(user=user)
        return self.none()
