"""Who may see or change Vinted objects: operators see and change only their own listings;
viewers read all and change nothing; admins everything (accounts.querysets). The catalogue is
read by every role and edited by admins."""

from accounts.querysets import AdminManagedQuerySet, PrivateOwnedQuerySet


class ListingQuerySet(PrivateOwnedQuerySet):
    owner_field = "owner"


class PhotoQuerySet(PrivateOwnedQuerySet):
    # A photo's owner is its listing's owner (vinted.services.photos sets it so), and a photo of a
    # bulk upload not yet grouped into a listing has no listing: the owner column serves both.
    owner_field = "owner"


class DraftBatchQuerySet(PrivateOwnedQuerySet):
    owner_field = "owner"


class CatalogueQuerySet(AdminManagedQuerySet):
    def active(self):
        return self.filter(is_active=True)
