"""What the price drop tests share: a live account on the fake Vinted with price drops switched on, and a
listing published on it (registered as an item of the fake, with its price)."""

import json
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from tests.factories import ListingFactory
from tests.fakes import vinted_items
from vinted.choices import AccountStatus, ListingStatus
from vinted.models import PriceDropRule, VintedAccount
from vinted.services import automation


def live_account(owner, fake=None, *, label="Main shop", dry_run=False, enabled=True) -> VintedAccount:
    """An active account of `owner` (a session of the fake when given), dry run off, price drops on."""
    cookies = fake.add_session() if fake is not None else {"access_token_web": "t"}
    account = VintedAccount.objects.create(owner=owner, label=label, cookies=json.dumps(cookies),
                                           user_agent="pytest-agent/1.0", vinted_user_id="4242",
                                           status=AccountStatus.ACTIVE, dry_run=dry_run,
                                           session_imported_at=timezone.now())
    settings = automation.settings_for(account)
    settings.price_drops_enabled = enabled
    settings.save()
    return account


def on_sale(account, fake=None, *, price="20.00", days_ago=10, **fields):
    """A listing of the account's owner published on it `days_ago` days ago (an item of the fake)."""
    item_id = vinted_items.add_item(fake, price=price) if fake is not None else str(9_000_000 + ListingFactory._meta
                                                                                    .model.objects.count())
    listing = ListingFactory(owner=account.owner, complete=True, status=ListingStatus.PUBLISHED, account=account,
                             price=Decimal(price), listed_at=timezone.now() - timedelta(days=days_ago),
                             vinted_item_id=item_id, vinted_url=f"https://www.vinted.fr/items/{item_id}", **fields)
    listing.refresh_from_db()
    return listing


def default_rule(account, **fields) -> PriceDropRule:
    values = {"after_days": 7, "every_days": 7, "percent": Decimal("10"), **fields}
    return PriceDropRule.objects.create(account=account, **values)
