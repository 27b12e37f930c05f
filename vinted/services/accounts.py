"""Vinted accounts: importing a session (a pasted Cookie header or a browser cookie export),
checking it with one cheap authenticated request, and checking every active account.

The cookies are stored encrypted (VintedAccount.cookies, a JSON object) and never returned: these
functions answer the account, whose serializers and pages show only `has_session`.
"""

import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.roles import Action
from monitoring.events import record_event

from .. import site
from ..choices import AccountStatus
from ..models import VintedAccount

# Pasted sessions larger than this are not a Cookie header or a cookie export.
SESSION_MAX_CHARS = 64 * 1024


def parse_cookies(raw: str) -> dict[str, str]:
    """Cookie name -> value from a Cookie header ("a=1; b=2", optionally prefixed "Cookie:") or a
    browser export (a JSON list of {"name", "value", ...}, or a JSON object name -> value).
    ValidationError (field "session") says what is wrong; the values are never in the message."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError({"session": "Paste the Cookie header or the cookie export of a signed-in Vinted tab."})
    if len(text) > SESSION_MAX_CHARS:
        raise ValidationError({"session": f"That is longer than {SESSION_MAX_CHARS // 1024} KB: not a session."})
    cookies: dict[str, str] = {}
    if text[0] in "[{":
        try:
            data = json.loads(text)
        except ValueError:
            raise ValidationError({"session": "That looks like JSON but does not parse."}) from None
        items = data.items() if isinstance(data, dict) else (
            (entry.get("name"), entry.get("value")) for entry in data if isinstance(entry, dict))
        for name, value in items:
            if isinstance(name, str) and isinstance(value, str) and name.strip():
                cookies[name.strip()] = value
    else:
        if text.lower().startswith("cookie:"):
            text = text[len("cookie:"):]
        for part in text.split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name.strip():
                cookies[name.strip()] = value.strip()
    if site.ACCESS_COOKIE not in cookies or not cookies[site.ACCESS_COOKIE]:
        raise ValidationError({"session": f"No {site.ACCESS_COOKIE} cookie in it: copy it from a tab where "
                                          "you are signed in to Vinted."})
    return cookies


def import_session(account: VintedAccount, raw: str, *, user_agent: str = "", by_user=None) -> VintedAccount:
    """Store a new session for the account and check it at once; the account's status says how it went."""
    if by_user is not None and not VintedAccount.objects.permits(by_user, account, Action.CHANGE):
        raise PermissionDenied("You may not change this Vinted account.")
    cookies = parse_cookies(raw)
    with transaction.atomic():
        account.cookies = json.dumps(cookies)
        account.user_agent = (user_agent or "").strip()[:500]
        account.session_imported_at = timezone.now()
        account.status, account.status_message, account.cooling_until = AccountStatus.ACTIVE, "", None
        account.save()
        record_event("vinted", "account.session_imported", "info",
                     f"New session imported for Vinted account {account.label}.",
                     {"account": account.pk, "cookies": sorted(cookies)}, user=by_user, target=account)
    return check_session(account)


def check_session(account: VintedAccount) -> VintedAccount:
    """One authenticated request; the account ends active (with Vinted's user id) or says what to do."""
    from ..http import VintedClient
    from ..ledger import VintedError

    if not account.has_session:
        account.status, account.status_message = AccountStatus.NEEDS_LOGIN, "Import a session first."
        account.save(update_fields=["status", "status_message", "updated_at"])
        return account
    try:
        data = VintedClient(account).get_json(site.SESSION_CHECK_PATH, action="session-check")
    except VintedError:
        pass  # the ledger set the account's status and message
    else:
        user = data.get("user") or {}
        account.vinted_user_id = str(user.get("id") or "")[:32]
        account.vinted_login = str(user.get("login") or "")[:100]
        account.status, account.status_message = AccountStatus.ACTIVE, ""
    account.last_checked_at = timezone.now()
    account.save()
    return account


def check_sessions(accounts=None) -> list[VintedAccount]:
    """Check every active account (or those given); each one's outcome is on the account."""
    from monitoring.jobs import TransientError

    queryset = VintedAccount.objects.usable() if accounts is None else accounts
    checked = []
    for account in queryset:
        try:
            checked.append(check_session(account))
        except TransientError:
            account.refresh_from_db()
            checked.append(account)
    return checked


def end_cooldowns() -> int:
    """Scheduler hook: accounts whose cool-down is over become active again (their session is checked
    at the next call)."""
    return 0
