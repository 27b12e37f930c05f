"""Vinted desk: the catalogue (Vinted's ids), listings with their inventory and sale, photos,
bulk draft batches and the phrases Vinted's rules forbid; Vinted accounts with their encrypted
sessions and risk ledger, publications (prepare -> confirm -> publish) and the inbox."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from lofisite.crypto import EncryptedTextField

from .choices import (
    AccountStatus,
    AutomationFeature,
    AutomationOutcome,
    BatchStatus,
    CallKind,
    CallOutcome,
    Condition,
    Currency,
    ListingStatus,
    MessageKind,
    MessageStatus,
    PackageSize,
    PhotoStatus,
    PriceChangeReason,
    PublicationStatus,
    ReplyIntent,
    ReplyTone,
    RepostStatus,
    SuggestionStatus,
)
from .querysets import (
    AutomationQuerySet,
    CatalogueQuerySet,
    ConversationQuerySet,
    DraftBatchQuerySet,
    ListingQuerySet,
    MessageQuerySet,
    PhotoQuerySet,
    PriceChangeQuerySet,
    PublicationQuerySet,
    ReplySuggestionQuerySet,
    VintedAccountQuerySet,
    VintedCallQuerySet,
)


class CatalogueEntry(models.Model):
    """One row of a small table of Vinted's own ids, editable in the admin."""

    name = models.CharField(max_length=100)
    vinted_id = models.PositiveIntegerField("Vinted id", unique=True)
    is_active = models.BooleanField(default=True, help_text="Offered in forms and to the AI.")

    objects = CatalogueQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self):
        return self.name


class Category(CatalogueEntry):
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    size_group = models.CharField(
        max_length=32, blank=True,
        help_text="Which sizes fit items of this category (a Size's group); empty = no size needed.")

    class Meta(CatalogueEntry.Meta):
        verbose_name_plural = "categories"

    def __str__(self):
        return self.path

    @property
    def path(self) -> str:
        names, node, seen = [], self, set()
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            names.append(node.name)
            node = node.parent
        return " › ".join(reversed(names))

    @property
    def needs_size(self) -> bool:
        return bool(self.size_group)


class Brand(CatalogueEntry):
    pass


class Size(CatalogueEntry):
    group = models.CharField(max_length=32, help_text="Sizes offered together, e.g. 'women-clothing', 'shoes-eu'.")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta(CatalogueEntry.Meta):
        ordering = ["group", "order", "name"]

    def __str__(self):
        return f"{self.name} ({self.group})"


class Colour(CatalogueEntry):
    hex = models.CharField(max_length=7, help_text="A typical shade (#rrggbb), for naming colours from pixels.")

    class Meta(CatalogueEntry.Meta):
        pass


class ForbiddenPhrase(models.Model):
    """A phrase or pattern Vinted's rules forbid in a title or description (editable list)."""

    class Kind(models.TextChoices):
        PHRASE = "phrase", "Phrase (case-insensitive words)"
        REGEX = "regex", "Regular expression"

    pattern = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PHRASE)
    reason = models.CharField(max_length=200, help_text="Shown to the seller next to the field.")
    is_active = models.BooleanField(default=True)

    objects = CatalogueQuerySet.as_manager()

    class Meta:
        ordering = ["pattern"]

    def __str__(self):
        return self.pattern


class DraftBatch(models.Model):
    """A bulk draft: many items drafted in one background job; failures are per item."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="vinted_batches")
    status = models.CharField(max_length=16, choices=BatchStatus.choices, default=BatchStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=dict, blank=True, help_text="Per listing id: 'ok' or the error.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = DraftBatchQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "draft batches"

    def __str__(self):
        return f"Batch #{self.pk}"


class Listing(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="vinted_listings")
    status = models.CharField(max_length=16, choices=ListingStatus.choices, default=ListingStatus.DRAFT,
                              db_index=True)
    # Content. Lengths here are the columns' room; the limits are settings (vinted.validation).
    title = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    no_brand = models.BooleanField("no brand", default=False, help_text="The item has no brand (Vinted's 'No brand').")
    size = models.ForeignKey(Size, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    condition = models.PositiveSmallIntegerField(choices=Condition.choices, null=True, blank=True,
                                                 help_text="Vinted's status_id.")
    colours = models.ManyToManyField(Colour, blank=True, related_name="+", help_text="One or two.")
    price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    # The lowest price the seller accepts: offers below it get a counter at it, price drops stop at it.
    min_price = models.DecimalField("minimum price", max_digits=10, decimal_places=2, null=True, blank=True,
                                    help_text="The lowest price you accept (offers, price drops).")
    measurements = models.CharField(max_length=300, blank=True,
                                    help_text="e.g. chest 52 cm, length 70 cm (quoted in replies about size).")
    currency = models.CharField(max_length=3, choices=Currency.choices, default=Currency.EUR)
    package_size = models.PositiveSmallIntegerField(choices=PackageSize.choices, null=True, blank=True,
                                                    help_text="Vinted's package_size_id.")
    hashtags = models.JSONField(default=list, blank=True)

    # The AI's suggestion (vinted.drafting).
    ai_price_min = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    ai_price_target = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    ai_price_max = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    ai_confidence = models.JSONField(default=dict, blank=True, help_text="Per field, 0 to 1.")
    ai_model = models.CharField(max_length=100, blank=True)
    ai_drafted_at = models.DateTimeField(null=True, blank=True)
    ai_cost_usd = models.DecimalField("AI cost of the last draft (USD)", max_digits=12, decimal_places=6,
                                      null=True, blank=True)
    ai_rejected = models.JSONField(default=dict, blank=True,
                                   help_text="Fields the last draft could not fill, with the reason.")
    edited_fields = models.JSONField(default=list, blank=True,
                                     help_text="Fields the seller set by hand; a re-draft keeps them unless asked.")
    batch = models.ForeignKey(DraftBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="listings")

    # Vinted (part 2 fills these).
    vinted_item_id = models.CharField("Vinted item id", max_length=32, blank=True)
    vinted_url = models.URLField("Vinted URL", blank=True)
    account = models.ForeignKey("VintedAccount", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="listings", help_text="The Vinted account it is published on.")
    relisted_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="relists", help_text="The listing this one duplicates.")

    # Inventory.
    purchase_cost = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    purchase_date = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=200, blank=True, help_text="Where it was bought.")
    sku = models.CharField("SKU", max_length=64, blank=True)
    storage_location = models.CharField(max_length=100, blank=True)
    # Sale (part 2, or by hand).
    sale_price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    sale_fees = models.DecimalField("fees and shipping paid by the seller", max_digits=10, decimal_places=2,
                                    null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    listed_at = models.DateTimeField(null=True, blank=True, help_text="First published on Vinted.")
    sold_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = ListingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "status"])]

    def __str__(self):
        return self.title or f"Listing #{self.pk}"

    def get_absolute_url(self):
        return reverse("vinted:listing-detail", args=[self.pk])

    @property
    def profit(self) -> Decimal | None:
        if self.sale_price is None:
            return None
        return self.sale_price - (self.sale_fees or Decimal("0")) - (self.purchase_cost or Decimal("0"))

    @property
    def days_to_sell(self) -> int | None:
        """From first listed (or created, if sold without a Vinted listing) to sold."""
        if self.sold_at is None:
            return None
        start = self.listed_at or self.created_at
        return max((self.sold_at - start).days, 0)


def photo_upload_to(instance, filename):
    # Names are generated by vinted.photos, never taken from the client.
    return f"vinted/photos/{filename}"


class Photo(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="vinted_photos")
    listing = models.ForeignKey(Listing, null=True, blank=True, on_delete=models.CASCADE, related_name="photos")
    batch = models.ForeignKey(DraftBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="photos",
                              help_text="Uploaded in bulk, not yet grouped into an item.")
    position = models.PositiveSmallIntegerField(default=0, help_text="0 is the cover photo.")
    status = models.CharField(max_length=16, choices=PhotoStatus.choices, default=PhotoStatus.PROCESSING)
    error = models.CharField(max_length=300, blank=True)
    original = models.FileField(upload_to=photo_upload_to, blank=True, help_text="Oriented, metadata stripped.")
    display = models.FileField(upload_to=photo_upload_to, blank=True)
    thumbnail = models.FileField(upload_to=photo_upload_to, blank=True)
    content_type = models.CharField(max_length=32, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    size_bytes = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PhotoQuerySet.as_manager()

    class Meta:
        ordering = ["listing_id", "position", "id"]

    def __str__(self):
        return f"Photo #{self.pk}"


def vinted_domain_choices():
    return [(domain, domain) for domain in settings.VINTED_DOMAINS]


class VintedAccount(models.Model):
    """A seller's account on one Vinted site, driven with the session the seller imported.

    `cookies` (a JSON object of cookie name -> value) and `user_agent` are encrypted at rest and
    never shown back, logged, exported in clear or put in the API or the admin.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="vinted_accounts")
    label = models.CharField(max_length=100)
    domain = models.CharField(max_length=32, choices=vinted_domain_choices, default="vinted.fr")
    cookies = EncryptedTextField(blank=True)
    user_agent = EncryptedTextField(blank=True)
    vinted_user_id = models.CharField("Vinted user id", max_length=32, blank=True)
    vinted_login = models.CharField("Vinted login", max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=AccountStatus.choices, default=AccountStatus.NEEDS_LOGIN,
                              db_index=True)
    status_message = models.CharField(max_length=300, blank=True, help_text="What the seller should do now.")
    cooling_until = models.DateTimeField(null=True, blank=True)
    # The earliest time of this account's next write: the randomised wait between writes (vinted.ledger).
    next_write_at = models.DateTimeField(null=True, blank=True, editable=False)
    dry_run = models.BooleanField(default=True, help_text="Stop after prepare; only an admin turns this off.")
    session_imported_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_inbox_sync_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VintedAccountQuerySet.as_manager()

    class Meta:
        ordering = ["label", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "label"], name="vinted_account_label_unique")]

    def __str__(self):
        return f"{self.label} ({self.domain})"

    def get_absolute_url(self):
        return reverse("vinted:account-detail", args=[self.pk])

    @property
    def has_session(self) -> bool:
        return bool(self.cookies)


class VintedCall(models.Model):
    """The risk ledger: one row per call to Vinted (HTTP request or browser step) of an account."""

    account = models.ForeignKey(VintedAccount, on_delete=models.CASCADE, related_name="calls")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=8, choices=CallKind.choices)
    action = models.CharField(max_length=32, help_text="session-check, inbox, publish, reply, ...")
    what = models.CharField(max_length=300, help_text="Method and path, or the browser step.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=CallOutcome.choices)
    duration_ms = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=300, blank=True)

    objects = VintedCallQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["account", "at"])]

    def __str__(self):
        return f"{self.kind} {self.what} -> {self.outcome}"


def screenshot_upload_to(instance, filename):
    return f"vinted/screenshots/{filename}"


class Publication(models.Model):
    """One prepare -> confirm -> publish of a listing on an account.

    `snapshot` is exactly what prepare filled in Vinted's form (the values read back and the
    photos' hashes, in order); `snapshot_hash` binds the confirm token to it.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="vinted_publications")
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="publications")
    account = models.ForeignKey(VintedAccount, on_delete=models.PROTECT, related_name="publications")
    status = models.CharField(max_length=16, choices=PublicationStatus.choices, default=PublicationStatus.PREPARING,
                              db_index=True)
    snapshot = models.JSONField(default=dict, blank=True)
    snapshot_hash = models.CharField(max_length=64, blank=True)
    listing_fingerprint = models.CharField(max_length=64, blank=True,
                                           help_text="Hash of the listing's content when prepared.")
    screenshot = models.FileField(upload_to=screenshot_upload_to, blank=True)
    prepare_job = models.ForeignKey("monitoring.JobRun", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    publish_job = models.ForeignKey("monitoring.JobRun", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    idempotency_key = models.CharField(max_length=64, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    prepared_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    vinted_item_id = models.CharField("Vinted item id", max_length=32, blank=True)
    vinted_url = models.URLField("Vinted URL", blank=True)
    error = models.TextField(blank=True)
    difference = models.JSONField(default=dict, blank=True,
                                  help_text="Field -> {expected, found} when the read-back check failed.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PublicationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A listing is published once: a second publish is refused by the database too.
            models.UniqueConstraint(fields=["listing"], condition=models.Q(status="published"),
                                    name="vinted_publication_published_once"),
            models.UniqueConstraint(fields=["idempotency_key"], condition=~models.Q(idempotency_key=""),
                                    name="vinted_publication_idempotency_key_unique"),
        ]

    def __str__(self):
        return f"Publication #{self.pk} of {self.listing}"


class BrowserLease(models.Model):
    """One of settings.VINTED_MAX_BROWSERS Chromium slots, shared by every worker process:
    claimed with a conditional UPDATE, lapsing at `expires_at` if its holder died."""

    slot = models.PositiveSmallIntegerField(unique=True)
    holder = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["slot"]

    def __str__(self):
        return f"Browser slot {self.slot}"


class Conversation(models.Model):
    """A conversation of the account's Vinted inbox (idempotent on Vinted's id)."""

    account = models.ForeignKey(VintedAccount, on_delete=models.CASCADE, related_name="conversations")
    vinted_id = models.CharField("Vinted id", max_length=32)
    subject = models.CharField(max_length=300, blank=True, help_text="Vinted's description (the item).")
    other_user = models.CharField(max_length=100, blank=True)
    other_user_id = models.CharField(max_length=32, blank=True)
    vinted_item_id = models.CharField("Vinted item id", max_length=32, blank=True)
    listing = models.ForeignKey(Listing, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="conversations")
    unread_count = models.PositiveIntegerField(default=0, help_text="Messages from the buyer not yet opened here.")
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ConversationQuerySet.as_manager()

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["account", "vinted_id"], name="vinted_conversation_unique")]

    def __str__(self):
        return self.subject or f"Conversation {self.vinted_id}"

    def get_absolute_url(self):
        return reverse("vinted:conversation-detail", args=[self.pk])


class Message(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    vinted_id = models.CharField("Vinted id", max_length=32)
    kind = models.CharField(max_length=32, choices=MessageKind.choices, default=MessageKind.MESSAGE)
    body = models.TextField(blank=True)
    sender = models.CharField(max_length=100, blank=True)
    is_mine = models.BooleanField(default=False, help_text="Sent by the account's seller.")
    sent_at = models.DateTimeField(db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Our replies: written here first (no Vinted id yet), then sent by a job (vinted.services.inbox).
    status = models.CharField(max_length=8, choices=MessageStatus.choices, default=MessageStatus.SENT)
    error = models.CharField(max_length=300, blank=True, help_text="Why the reply was not sent.")
    automatic = models.BooleanField("sent automatically", default=False)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [models.UniqueConstraint(fields=["conversation", "vinted_id"], condition=~models.Q(vinted_id=""),
                                               name="vinted_message_unique")]

    def __str__(self):
        return f"Message {self.vinted_id}"


# =============================================================================================
# Automation (part 3): per-account switches, reply suggestions, price drops, reposts, history.
# Everything the scheduler acts on is a row with a due time (nothing lives in a process's memory).
# =============================================================================================

def default_busy_windows() -> list:
    return [dict(window) for window in settings.VINTED_REPOST_BUSY_WINDOWS]


def default_time_zone() -> str:
    return settings.VINTED_AUTOMATION_TIME_ZONE


class AutomationSettings(models.Model):
    """One account's automation: a switch per feature (all off until the seller opts in), the reply
    tone and auto-send rules, the account's time zone (nights, busy windows) and pause-all."""

    account = models.OneToOneField(VintedAccount, on_delete=models.CASCADE, related_name="automation")
    paused = models.BooleanField(default=False, help_text="Pause every automation of this account.")
    paused_reason = models.CharField(max_length=300, blank=True,
                                     help_text="Why it was paused (empty: paused by hand).")
    paused_at = models.DateTimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, default=default_time_zone,
                                 help_text="The account's time zone: nights and busy windows are in it.")
    # Replies: suggestions are always made; auto-send only for the chosen intents.
    reply_tone = models.CharField(max_length=16, choices=ReplyTone.choices, default=ReplyTone.FRIENDLY)
    auto_reply_intents = models.JSONField(default=list, blank=True,
                                          help_text="Intents (ReplyIntent values) answered automatically.")
    auto_replies_per_conversation = models.PositiveSmallIntegerField(default=1)
    auto_reply_delay_min_seconds = models.PositiveIntegerField(default=60)
    auto_reply_delay_max_seconds = models.PositiveIntegerField(default=300)
    night_start = models.TimeField(default="22:00", help_text="No automatic reply from this time ...")
    night_end = models.TimeField(default="08:00", help_text="... until this time (the account's time zone).")
    # Price drops and reposts.
    price_drops_enabled = models.BooleanField(default=False)
    reposts_enabled = models.BooleanField(default=False)
    repost_after_days = models.PositiveIntegerField(default=30, help_text="Repost a listing live this long unsold.")
    busy_windows = models.JSONField(default=default_busy_windows, blank=True,
                                    help_text='When reposts run: [{"days": [0..6, Monday 0], "start": "18:00", '
                                              '"end": "21:30"}, ...] in the account\'s time zone.')
    updated_at = models.DateTimeField(auto_now=True)

    objects = AutomationQuerySet.as_manager()

    def __str__(self):
        return f"Automation of {self.account}"


class PriceDropRule(models.Model):
    """After `after_days` without a sale, lower the price by `percent` % or `amount` every `every_days`
    days, never below the floor. `listing` empty: the account's default for its published listings
    without a rule of their own."""

    account = models.ForeignKey(VintedAccount, on_delete=models.CASCADE, related_name="price_rules")
    listing = models.OneToOneField(Listing, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="price_rule")
    after_days = models.PositiveIntegerField(default=7)
    every_days = models.PositiveIntegerField(default=7)
    percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    floor = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True,
                                help_text="Never below this (else the listing's minimum price).")
    margin_percent = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True,
                                         help_text="Never below the purchase cost plus this margin.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AutomationQuerySet.as_manager()

    class Meta:
        ordering = ["account", "listing", "id"]
        constraints = [models.UniqueConstraint(fields=["account"], condition=models.Q(listing__isnull=True),
                                               name="vinted_price_rule_one_default")]

    def __str__(self):
        return f"Price drop rule #{self.pk}"


class PriceChange(models.Model):
    """A listing's price history: every automatic drop and every change by hand, old and new."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="price_changes")
    rule = models.ForeignKey(PriceDropRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=8, choices=PriceChangeReason.choices)
    old_price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    new_price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = PriceChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.old_price} -> {self.new_price}"


class ReplySuggestion(models.Model):
    """A reply drafted for one buyer message from the listing's own facts."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="suggestion")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="suggestions")
    intent = models.CharField(max_length=16, choices=ReplyIntent.choices)
    offer_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    classified_by = models.CharField(max_length=8, help_text='"ai" or "rules".')
    body = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=SuggestionStatus.choices, default=SuggestionStatus.PENDING,
                              db_index=True)
    send_at = models.DateTimeField(null=True, blank=True, db_index=True, help_text="Auto-send due time.")
    reply = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              help_text="The reply it became.")
    error = models.CharField(max_length=300, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = ReplySuggestionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Suggestion #{self.pk} ({self.intent})"


class Repost(models.Model):
    """One planned repost of a stale listing: the new listing is published first, then the old one deleted."""

    account = models.ForeignKey(VintedAccount, on_delete=models.CASCADE, related_name="reposts")
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="reposts")
    new_listing = models.ForeignKey(Listing, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=12, choices=RepostStatus.choices, default=RepostStatus.SCHEDULED,
                              db_index=True)
    scheduled_for = models.DateTimeField(db_index=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = AutomationQuerySet.as_manager()

    class Meta:
        ordering = ["scheduled_for", "id"]
        constraints = [models.UniqueConstraint(
            fields=["listing"], condition=models.Q(status__in=["scheduled", "relisting", "deleting"]),
            name="vinted_repost_one_open")]

    def __str__(self):
        return f"Repost of listing #{self.listing_id}"


class AutomationEvent(models.Model):
    """What automation did (or did not do, and why) for an account: the Automation page's history."""

    account = models.ForeignKey(VintedAccount, on_delete=models.CASCADE, related_name="automation_events")
    feature = models.CharField(max_length=16, choices=AutomationFeature.choices)
    outcome = models.CharField(max_length=8, choices=AutomationOutcome.choices)
    message = models.CharField(max_length=500)
    listing = models.ForeignKey(Listing, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    conversation = models.ForeignKey(Conversation, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    details = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AutomationQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.feature}: {self.outcome}"
