"""Who may see or change pipeline objects: everyone with a role sees them;
operators change their own; admins change everything (accounts.querysets)."""

from accounts.querysets import OwnedQuerySet, RestrictedQuerySet
from accounts.roles import Action


class RunQuerySet(OwnedQuerySet):
    owner_field = "created_by"


class StageQuerySet(OwnedQuerySet):
    owner_field = "run__created_by"


class VideoQuerySet(OwnedQuerySet):
    owner_field = "run__created_by"


class TrackQuerySet(OwnedQuerySet):
    owner_field = "uploaded_by"


class ScheduleQuerySet(OwnedQuerySet):
    owner_field = "created_by"


class ChannelQuerySet(RestrictedQuerySet):
    def restrict_non_admin(self, user, action):
        # Connecting the channel is an admin's job; everyone may see that it is connected.
        return self if action == Action.VIEW else self.none()
