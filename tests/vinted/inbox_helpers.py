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


def stored_conversation(owner, *, label="Stored shop", buyer="marie", body="Is it still available?"):
    """A conversation already synced (rows only: for tests that need no Vinted), one unread message."""
    from vinted.models import Conversation, Message

    account = VintedAccount.objects.create(owner=owner, label=label, cookies=json.dumps({"access_token_web": "t"}),
                                           vinted_user_id="4242", status=AccountStatus.ACTIVE)
    now = timezone.now()
    conversation = Conversation.objects.create(account=account, vinted_id="9100000001", subject="Levi's 501",
                                               other_user=buyer, other_user_id="777", unread_count=1,
                                               last_message_at=now, synced_at=now)
    Message.objects.create(conversation=conversation, vinted_id="9100000002", body=body, sender=buyer,
                           sent_at=now)
    return conversation
