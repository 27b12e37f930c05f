"""Statuses and Vinted's own identifiers for the fixed lists (condition, package size)."""

from django.db import models


class ListingStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    READY = "ready", "Ready"
    # Part 2 (publishing by browser automation) moves a listing through these.
    PREPARING = "preparing", "Preparing"
    PREPARED = "prepared", "Prepared"
    PUBLISHING = "publishing", "Publishing"
    PUBLISHED = "published", "Published"
    FAILED = "failed", "Failed"
    SOLD = "sold", "Sold"
    ARCHIVED = "archived", "Archived"


# Statuses in which a listing's content may still be edited by its owner. Editing a prepared one
# supersedes its preparation (vinted.services.listings): the confirm token no longer matches it.
EDITABLE_STATUSES = frozenset({ListingStatus.DRAFT, ListingStatus.READY, ListingStatus.PREPARED,
                               ListingStatus.FAILED})
# Statuses that count as "in stock" for the inventory (bought, not yet sold or archived).
STOCK_STATUSES = frozenset(set(ListingStatus) - {ListingStatus.SOLD, ListingStatus.ARCHIVED})


class Condition(models.IntegerChoices):
    """The value is Vinted's `status_id`."""

    NEW_WITH_TAGS = 6, "New with tags"
    NEW_WITHOUT_TAGS = 1, "New without tags"
    VERY_GOOD = 2, "Very good"
    GOOD = 3, "Good"
    SATISFACTORY = 4, "Satisfactory"


class PackageSize(models.IntegerChoices):
    """The value is Vinted's `package_size_id`."""

    SMALL = 1, "Small"
    MEDIUM = 2, "Medium"
    LARGE = 3, "Large"
    EXTRA_LARGE = 5, "Extra large"


class Currency(models.TextChoices):
    EUR = "EUR", "EUR"
    GBP = "GBP", "GBP"
    PLN = "PLN", "PLN"
    CZK = "CZK", "CZK"
    SEK = "SEK", "SEK"
    USD = "USD", "USD"


class PhotoStatus(models.TextChoices):
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class BatchStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Partly failed"
    FAILED = "failed", "Failed"


class AccountStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    NEEDS_LOGIN = "needs_login", "Needs login"
    COOLING_DOWN = "cooling_down", "Cooling down"
    BLOCKED = "blocked", "Blocked"


class CallKind(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Mutating"


class CallOutcome(models.TextChoices):
    OK = "ok", "OK"
    NEEDS_LOGIN = "needs_login", "Session expired"
    BLOCKED = "blocked", "Blocked by Vinted"
    RATE_LIMITED = "rate_limited", "Rate limited (429)"
    ERROR = "error", "Error"
    REFUSED = "refused", "Refused before calling"


class PublicationStatus(models.TextChoices):
    PREPARING = "preparing", "Preparing"
    PREPARED = "prepared", "Prepared, waiting for confirmation"
    DRY_RUN = "dry_run", "Prepared (dry run: not published)"
    PUBLISHING = "publishing", "Publishing"
    PUBLISHED = "published", "Published"
    FAILED = "failed", "Failed"
    SUPERSEDED = "superseded", "Superseded"


class MessageKind(models.TextChoices):
    MESSAGE = "message", "Message"
    OFFER_REQUEST = "offer_request_message", "Offer request"
    STATUS = "status_message", "Status"
    ACTION = "action_message", "Action"


class MessageStatus(models.TextChoices):
    """A message's delivery: synced ones are "sent"; our replies go sending -> sent or failed."""

    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


# --- automation (part 3: vinted.services.automation, .replies, .price_drops, .reposts) ---------------

class AutomationFeature(models.TextChoices):
    REPLIES = "replies", "Auto-replies"
    PRICE_DROPS = "price_drops", "Price drops"
    REPOSTS = "reposts", "Reposts"


class AutomationOutcome(models.TextChoices):
    """What one automatic action came to (AutomationEvent.outcome)."""

    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"
    DRY_RUN = "dry_run", "Dry run (nothing sent)"
    PAUSED = "paused", "Paused"


class ReplyIntent(models.TextChoices):
    """What a buyer's message asks (vinted.services.replies classifies)."""

    AVAILABILITY = "availability", "Availability"
    PRICE = "price", "Price question"
    OFFER = "offer", "Offer"
    SHIPPING = "shipping", "Shipping"
    SIZE = "size", "Size"
    CONDITION = "condition", "Condition"
    BUNDLE = "bundle", "Bundle"
    GREETING = "greeting", "Thanks / greeting"
    OTHER = "other", "Other"


class ReplyTone(models.TextChoices):
    FRIENDLY = "friendly", "Friendly"
    PROFESSIONAL = "professional", "Professional"
    CONCISE = "concise", "Concise"


class SuggestionStatus(models.TextChoices):
    """A reply suggestion: pending (the seller decides) or scheduled (auto-send at `send_at`) ->
    sent, discarded or refused (it broke a rule when it was to be sent)."""

    PENDING = "pending", "Suggested"
    SCHEDULED = "scheduled", "Scheduled to send automatically"
    SENT = "sent", "Sent"
    DISCARDED = "discarded", "Discarded"
    REFUSED = "refused", "Refused"


class PriceChangeReason(models.TextChoices):
    DROP = "drop", "Scheduled price drop"
    MANUAL = "manual", "Edited by hand"


class RepostStatus(models.TextChoices):
    """A repost: scheduled -> relisting (new listing being published) -> deleting (the old one) ->
    done; or failed / cancelled. The old listing stays live until the new one is on Vinted."""

    SCHEDULED = "scheduled", "Scheduled"
    RELISTING = "relisting", "Publishing the new listing"
    DELETING = "deleting", "Deleting the old listing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
