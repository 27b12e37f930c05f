"""Who may see or change pipeline objects: everyone with a role sees them;
operators change their own; admins change everything (accounts.querysets)."""

from accounts.querysets import AdminManagedQuerySet, OwnedQuerySet


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


class ChannelQuerySet(AdminManagedQuerySet):
    """Connecting (add) and disconnecting (delete) the channel is an admin's job; everyone may
    see that it is connected."""
