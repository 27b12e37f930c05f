"""What the reply-suggestion tests share: a published listing on an account of the fake Vinted,
and a buyer's message in a conversation about it, stored by the real inbox sync."""

from decimal import Decimal

from django.utils import timezone

from tests.fakes.vinted_inbox import add_conversation, add_message
from tests.vinted.inbox_helpers import account_on_fake
from vinted.choices import Condition, ListingStatus
from vinted.models import Conversation, Listing, Size
from vinted.services import automation, inbox

ITEM_ID = 5550001


def published_listing(owner, account, *, item_id=ITEM_ID, size="W32", condition=Condition.VERY_GOOD,
                      price="25.00", min_price=None, measurements="", status=ListingStatus.PUBLISHED):
    size_row = Size.objects.filter(name=size).first() if size else None
    if size and size_row is None:
        size_row = Size.objects.create(name=size, vinted_id=990000 + len(size), group="test")
    return Listing.objects.create(
        owner=owner, account=account, title="Levi's 501", status=status, size=size_row, condition=condition,
        price=Decimal(price) if price else None, min_price=Decimal(min_price) if min_price else None,
        measurements=measurements, vinted_item_id=str(item_id), listed_at=timezone.now(),
        sold_at=timezone.now() if status == ListingStatus.SOLD else None)


def live_account(fake, owner, **automation_fields):
    """An active account on the fake, out of dry run, with these automation settings."""
    account = account_on_fake(fake, owner)
    account.dry_run = False
    account.save(update_fields=["dry_run"])
    settings = automation.settings_for(account)
    for name, value in {"time_zone": "UTC", **automation_fields}.items():
        setattr(settings, name, value)
    settings.save()
    return account


def buyer_writes(fake, account, body="", *, kind="message", price=None, item_id=ITEM_ID, conv_id=None,
                 buyer="marie"):
    """The buyer writes on Vinted (a new conversation unless `conv_id`); our inbox sync stores it.
    Returns (fake conversation id, our Conversation)."""
    if conv_id is None:
        conv_id = add_conversation(fake, buyer=buyer, item_id=item_id, seller_id=int(account.vinted_user_id))
    add_message(fake, conv_id, body, kind=kind, price=price)
    inbox.sync_account(account)
    return conv_id, Conversation.objects.get(account=account, vinted_id=str(conv_id))
