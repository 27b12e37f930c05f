"""Vinted accounts: importing a session (a pasted Cookie header or a browser cookie export),
checking it with one cheap authenticated request, and checking every active account.

The cookies are stored encrypted (VintedAccount.cookies, a JSON object) and never returned: these
functions answer the account, whose serializers and pages show only `has_session`.
"""

import json
import re

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


# A cookie name is an RFC 6265 token; a value may not hold separators or control characters (it goes
# into a Cookie header as is: one with a newline or ";" would forge headers or other cookies).
_COOKIE_NAME_RE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}$")
_COOKIE_VALUE_RE = re.compile(r"^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]{0,8192}$")
_USER_AGENT_RE = re.compile(r"^[\x20-\x7e]{0,500}$")


def parse_cookies(raw: str) -> dict[str, str]:
    """Cookie name -> value from a Cookie header ("a=1; b=2", optionally prefixed "Cookie:") or a
    browser export (a JSON list of {"name", "value", ...}, or a JSON object name -> value).
    ValidationError (field "session") says what is wrong; the values are never in the message."""
    text = (raw or "").strip() if isinstance(raw, str) else ""
    if not text:
        raise ValidationError({"session": "Paste the Cookie header or the cookie export of a signed-in Vinted tab."})
    if len(text) > SESSION_MAX_CHARS:
        raise ValidationError({"session": f"That is longer than {SESSION_MAX_CHARS // 1024} KB: not a session."})
    pairs: list[tuple] = []
    if text[0] in "[{":
        try:
            data = json.loads(text)
        except ValueError:
            raise ValidationError({"session": "That looks like JSON but does not parse."}) from None
        if isinstance(data, dict) and isinstance(data.get("cookies"), list):
            data = data["cookies"]  # some extensions wrap the list
        pairs = list(data.items()) if isinstance(data, dict) else [
            (entry.get("name"), entry.get("value")) for entry in data if isinstance(entry, dict)]
    else:
        if text.lower().startswith("cookie:"):
            text = text[len("cookie:"):]
        for part in text.split(";"):
            name, sep, value = part.strip().partition("=")
            if sep:
                pairs.append((name, value))
    cookies: dict[str, str] = {}
    bad: list[str] = []
    for name, value in pairs:
        if not isinstance(name, str) or not name.strip():
            continue
        name = name.strip()
        value = str(value).strip() if isinstance(value, str | int) else None
        if value is not None and len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]  # a quoted cookie value
        if not _COOKIE_NAME_RE.match(name) or value is None or not _COOKIE_VALUE_RE.match(value):
            if name in site.SESSION_COOKIES:
                bad.append(name)
            continue  # another site's or a consent cookie we cannot send as is: left out
        cookies[name] = value
    if bad:
        # Names only: a value may be the secret itself.
        raise ValidationError({"session": "These cookies have characters a cookie cannot hold (is the paste cut "
                                          f"or wrapped?): {', '.join(sorted(set(bad))[:10])}."})
    if site.ACCESS_COOKIE not in cookies or not cookies[site.ACCESS_COOKIE]:
        raise ValidationError({"session": f"No {site.ACCESS_COOKIE} cookie in it: copy it from a tab where "
                                          "you are signed in to Vinted."})
    return cookies


def clean_user_agent(user_agent) -> str:
    """The browser's user agent as sent with every call; ValidationError (field "user_agent") if it
    could not be a header value."""
    text = (user_agent or "").strip() if isinstance(user_agent, str) else ""
    if not _USER_AGENT_RE.match(text):
        raise ValidationError({"user_agent": "A user agent is one line of at most 500 plain characters "
                                             "(copy navigator.userAgent from the browser's console)."})
    return text


def import_session(account: VintedAccount, raw: str, *, user_agent: str = "", by_user=None) -> VintedAccount:
    """Store a new session for the account and check it at once; the account's status says how it went.

    A new session does not lift a block: an account cooling down keeps its cool-down (the session is
    checked when it is over) and a blocked one stays blocked until an admin unblocks it
    (Vinted blocks the browser and the address, not only the session)."""
    if by_user is not None and not VintedAccount.objects.permits(by_user, account, Action.CHANGE):
        raise PermissionDenied("You may not change this Vinted account.")
    cookies = parse_cookies(raw)
    agent = clean_user_agent(user_agent)
    with transaction.atomic():
        locked = VintedAccount.objects.select_for_update().get(pk=account.pk)
        held = locked.status == AccountStatus.BLOCKED or (
            locked.status == AccountStatus.COOLING_DOWN and locked.cooling_until
            and locked.cooling_until > timezone.now())
        account.cookies = json.dumps(cookies)
        account.user_agent = agent
        account.session_imported_at = timezone.now()
        account.vinted_user_id, account.vinted_login = "", ""
        if held:
            account.status, account.cooling_until = locked.status, locked.cooling_until
            account.status_message = (locked.status_message + " A new session is stored; it is checked once "
                                      "the account may call Vinted again.")[:300]
        else:
            account.status, account.status_message, account.cooling_until = AccountStatus.ACTIVE, "", None
        account.save()
        record_event("vinted", "account.session_imported", "info",
                     f"New session imported for Vinted account {account.label}.",
                     {"account": account.pk, "cookies": sorted(cookies)}, user=by_user, target=account)
    if held:
        return account
    return check_session(account)


def check_session(account: VintedAccount) -> VintedAccount:
    """One authenticated request; the account ends active (with Vinted's user id) or says what to do.

    Refused without a request while the account may not call Vinted (its status says why). A
    TransientError (Vinted down, 429, the breaker open) propagates: the status is unchanged."""
    from ..http import VintedClient
    from ..ledger import VintedError

    if not account.has_session:
        account.status, account.status_message = AccountStatus.NEEDS_LOGIN, "Import a session first."
        account.save(update_fields=["status", "status_message", "updated_at"])
        return account
    try:
        data = VintedClient(account).get_json(site.SESSION_CHECK_PATH, action="session-check")
    except VintedError:
        account.refresh_from_db()  # the ledger set the account's status and message
        fields = []
    else:
        user = data.get("user") if isinstance(data, dict) else None
        user = user if isinstance(user, dict) else {}
        account.vinted_user_id = str(user.get("id") or "")[:32]
        account.vinted_login = str(user.get("login") or "")[:100]
        fields = ["vinted_user_id", "vinted_login"]
        if not account.vinted_user_id:
            account.status = AccountStatus.NEEDS_LOGIN
            account.status_message = "Vinted answered without a signed-in user: import a new session."
            fields += ["status", "status_message"]
        elif account.status == AccountStatus.ACTIVE:
            account.status_message = ""
            fields.append("status_message")
    account.last_checked_at = timezone.now()
    account.save(update_fields=[*fields, "last_checked_at", "updated_at"])
    return account


def check_sessions(accounts=None) -> list[VintedAccount]:
    """Check every active account (or those given); each one's outcome is on the account, and
    `check_error` says why a check could not be made (Vinted unavailable, rate limited...)."""
    from monitoring.jobs import TransientError

    queryset = VintedAccount.objects.usable() if accounts is None else accounts
    checked = []
    for account in queryset:
        account.check_error = ""
        try:
            checked.append(check_session(account))
        except TransientError as exc:
            account.refresh_from_db()
            account.check_error = str(exc)
            checked.append(account)
    return checked


def end_cooldowns() -> int:
    """Scheduler hook: accounts whose cool-down is over become active again (their session is checked
    at the next call); returns how many."""
    from ..ledger import end_cooldown

    now = timezone.now()
    due = VintedAccount.objects.filter(status=AccountStatus.COOLING_DOWN, cooling_until__lte=now)
    return sum(1 for account in due if end_cooldown(account, now))


def unblock(account: VintedAccount, by_user) -> VintedAccount:
    """An admin lifts a block or a cool-down by hand: the account is active again (or needs a login
    when it has no session). The `vinted` breaker is not reset here: it pauses the whole site and
    has its own reset on the monitoring page."""
    if not VintedAccount.objects.permits(by_user, account, Action.ADMIN):
        raise PermissionDenied("Only admins may unblock a Vinted account.")
    account.refresh_from_db()
    if account.status not in (AccountStatus.BLOCKED, AccountStatus.COOLING_DOWN):
        raise ValidationError({"status": f"The account is not blocked (it is {account.get_status_display().lower()})."})
    previous = account.status
    if account.has_session:
        account.status, account.status_message = AccountStatus.ACTIVE, ""
    else:
        account.status, account.status_message = AccountStatus.NEEDS_LOGIN, "Import a session first."
    account.cooling_until = None
    account.save(update_fields=["status", "status_message", "cooling_until", "updated_at"])
    record_event("vinted", "account.unblocked", "info",
                 f"Vinted account {account.label} unblocked by {by_user.get_username()} (was {previous}).",
                 {"account": account.pk, "status": account.status, "previous_status": previous},
                 user=by_user, target=account)
    return account


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
