"""Who may see or change Vinted objects: operators see and change only their own listings;
viewers read all listings and change nothing; admins everything (accounts.querysets). A Vinted
account, its risk ledger, its publications and its conversations are private to their owner
(OwnerOnlyQuerySet): no one but the owner and admins sees them. The catalogue is read by every
role and edited by admins."""

from accounts.querysets import AdminManagedQuerySet, OwnerOnlyQuerySet, PrivateOwnedQuerySet


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


class VintedAccountQuerySet(OwnerOnlyQuerySet):
    # Turning an account's dry run off is Action.ADMIN on it: only admins hold that action.
    owner_field = "owner"

    def usable(self):
        """Accounts the scheduler may call Vinted for (inbox sync, session checks)."""
        from .choices import AccountStatus

        return self.filter(status=AccountStatus.ACTIVE)


class VintedCallQuerySet(OwnerOnlyQuerySet):
    owner_field = "account__owner"


class PublicationQuerySet(OwnerOnlyQuerySet):
    owner_field = "owner"


class ConversationQuerySet(OwnerOnlyQuerySet):
    owner_field = "account__owner"


class MessageQuerySet(OwnerOnlyQuerySet):
    owner_field = "conversation__account__owner"


class AutomationQuerySet(OwnerOnlyQuerySet):
    """Automation settings, rules, reposts and history: private to the account's owner (and admins)."""

    owner_field = "account__owner"


class ReplySuggestionQuerySet(OwnerOnlyQuerySet):
    owner_field = "conversation__account__owner"


class PriceChangeQuerySet(PrivateOwnedQuerySet):
    # Part of the listing: whoever sees the listing sees its price history.
    owner_field = "listing__owner"
