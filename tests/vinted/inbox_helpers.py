"""What the inbox tests share: a Vinted account with a live session on the fake Vinted site."""

import json

from django.utils import timezone

from vinted.choices import AccountStatus
from vinted.models import VintedAccount


def account_on_fake(fake, owner, *, label="Main shop", user_id=4242, login="fake-seller") -> VintedAccount:
    """An active account of `owner` whose cookies are a valid session of the fake (seller `user_id`)."""
    cookies = fake.add_session(user_id=user_id, login=login)
    return VintedAccount.objects.create(
        owner=owner, label=label, cookies=json.dumps(cookies), user_agent="pytest-agent/1.0",
        vinted_user_id=str(user_id), vinted_login=login, status=AccountStatus.ACTIVE,
        session_imported_at=timezone.now())
