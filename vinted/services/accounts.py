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


# ============================================================================================
# Account management (the account pages and API): create, edit, dry run, delete, what to do now.
# ============================================================================================

def _check_label_free(owner, label: str, *, exclude_pk=None) -> None:
    taken = VintedAccount.objects.filter(owner=owner, label__iexact=label)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError({"label": "You already have a Vinted account with this label."})


def _check_domain(domain: str) -> None:
    from django.conf import settings

    if domain not in settings.VINTED_DOMAINS:
        raise ValidationError({"domain": f"Choose one of: {', '.join(settings.VINTED_DOMAINS)}."})


def create_account(user, *, label: str, domain: str) -> VintedAccount:
    """A new account of `user`, without a session (needs login) and in dry run."""
    if not VintedAccount.objects.can_add(user):
        raise PermissionDenied("You may not add Vinted accounts.")
    label = (label or "").strip()
    if not label:
        raise ValidationError({"label": "Give the account a label."})
    _check_domain(domain)
    with transaction.atomic():
        _check_label_free(user, label)
        account = VintedAccount.objects.create(
            owner=user, label=label, domain=domain, status=AccountStatus.NEEDS_LOGIN, dry_run=True,
            status_message="Import a session: paste the cookies of a signed-in Vinted tab.")
        record_event("vinted", "account.created", "info", f"Vinted account {account.label} added.",
                     {"account": account.pk, "domain": domain}, user=user, target=account)
    return account


def update_account(user, account: VintedAccount, *, label: str | None = None,
                   domain: str | None = None) -> VintedAccount:
    """Rename the account or move it to another Vinted site (its session belongs to one site:
    a new domain needs a new session)."""
    if not VintedAccount.objects.permits(user, account, Action.CHANGE):
        raise PermissionDenied("You may not change this Vinted account.")
    fields = []
    if label is not None:
        label = label.strip()
        if not label:
            raise ValidationError({"label": "Give the account a label."})
        _check_label_free(account.owner, label, exclude_pk=account.pk)
        account.label = label
        fields.append("label")
    if domain is not None and domain != account.domain:
        _check_domain(domain)
        account.domain = domain
        account.cookies, account.user_agent, account.session_imported_at = "", "", None
        account.status = AccountStatus.NEEDS_LOGIN
        account.status_message = f"Moved to {domain}: import a session from that site."
        fields += ["domain", "cookies", "user_agent", "session_imported_at", "status", "status_message"]
    if fields:
        account.save(update_fields=[*fields, "updated_at"])
    return account


def set_dry_run(account: VintedAccount, value: bool, by_user) -> VintedAccount:
    """Dry run on (prepare only) or off (really publish): an admin's decision per account."""
    if not VintedAccount.objects.permits(by_user, account, Action.ADMIN):
        raise PermissionDenied("Only an admin may turn an account's dry run on or off.")
    value = bool(value)
    if account.dry_run != value:
        account.dry_run = value
        account.save(update_fields=["dry_run", "updated_at"])
        record_event("vinted", "account.dry_run", "warning" if not value else "info",
                     f"Dry run {'on' if value else 'off'} for Vinted account {account.label}.",
                     {"account": account.pk, "dry_run": value}, user=by_user, target=account)
    return account


def delete_account(account: VintedAccount, by_user) -> None:
    """Delete the account, its ledger and its inbox; refused while publications refer to it."""
    if not VintedAccount.objects.permits(by_user, account, Action.DELETE):
        raise PermissionDenied("You may not delete this Vinted account.")
    count = account.publications.count()
    if count:
        raise ValidationError(
            f"{account.label} has {count} publication{'s' if count != 1 else ''}: it cannot be deleted "
            "while they refer to it.")
    label, pk = account.label, account.pk
    with transaction.atomic():
        account.delete()
        record_event("vinted", "account.deleted", "info", f"Vinted account {label} deleted.",
                     {"account": pk}, user=by_user)


def what_to_do(account: VintedAccount) -> str:
    """The plain next step for the seller, from the account's status (a block or a cool-down first:
    a new session does not lift them)."""
    if account.status == AccountStatus.BLOCKED:
        return "Vinted blocked this account's requests. Open Vinted in your browser to see why, and ask an " \
               "admin to unblock the account once it is solved."
    if account.status == AccountStatus.COOLING_DOWN:
        until = f" until {timezone.localtime(account.cooling_until):%Y-%m-%d %H:%M}" if account.cooling_until else ""
        return f"Vinted pushed back: nothing is sent for this account{until}. Wait; there is nothing to do."
    if not account.has_session:
        return "Import a session: sign in to Vinted in your browser, copy the Cookie header or export the cookies, " \
               "and paste them here."
    if account.status == AccountStatus.NEEDS_LOGIN:
        return "Vinted no longer accepts this session: sign in again in your browser and import the new cookies."
    if account.dry_run:
        return "Ready. Dry run is on: publishing stops after the prepare step, until an admin turns it off."
    return "Ready: publishing and inbox sync run for this account."
