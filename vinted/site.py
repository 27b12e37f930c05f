"""Everything this project knows of Vinted's web app, in one place: URLs, cookies, selectors,
the new-item form's field mapping, JSON paths, and how to tell a block, a captcha or an
expired session. Vinted changes its pages without notice; when it does, this module (and the
fake in tests/fakes/vinted_server.py, which serves the same shapes) is what changes.

Sources: ../shared/VINTED.md (public projects that automate Vinted). Every path is relative to
`base_url(account)`, which is settings.VINTED_BASE_URL when set (a proxy, or the tests' fake),
else https://www.<the account's domain>.
"""

from django.conf import settings


def base_url(domain: str) -> str:
    """The site an account on `domain` talks to (no trailing slash)."""
    if settings.VINTED_BASE_URL:
        return settings.VINTED_BASE_URL.rstrip("/")
    return f"https://www.{domain}"


# =============================================================================================
# Sessions, headers and what Vinted's answers mean (vinted.ledger, vinted.http)
# =============================================================================================

# The cookies that carry the web session; the others a seller pastes are kept and sent too.
SESSION_COOKIES = ("access_token_web", "refresh_token_web", "anon_id")
ACCESS_COOKIE = "access_token_web"

# One cheap authenticated request that proves the session works.
SESSION_CHECK_PATH = "/api/v2/users/current"


# =============================================================================================
# The new-item form, in the browser (vinted.browser)
# =============================================================================================

NEW_ITEM_PATH = "/items/new"


# =============================================================================================
# Inbox (vinted.services.inbox)
# =============================================================================================

INBOX_PATH = "/api/v2/inbox"
CONVERSATION_PATH = "/api/v2/conversations/{id}"
REPLY_PATH = "/api/v2/conversations/{id}/messages"
INBOX_PER_PAGE = 20
# Pages of the inbox list read per sync at most (newest first: older pages rarely change).
INBOX_MAX_PAGES = 10

# Vinted's `entity_type` of a message -> our MessageKind value (unknown types read as "action").
MESSAGE_KINDS = {"message": "message", "offer_request_message": "offer_request_message",
                 "status_message": "status_message", "action_message": "action_message"}


def _text(value, limit: int) -> str:
    return str(value).strip()[:limit] if value is not None else ""


def _id(value) -> str:
    """Vinted's ids are numbers; ours are strings ("" when missing or not an id)."""
    if isinstance(value, bool) or value is None:
        return ""
    text = str(value).strip()
    return text[:32] if text.isdigit() else ""


def parse_time(value):
    """An ISO 8601 timestamp of Vinted's (aware datetime), or None when missing or unreadable."""
    from datetime import UTC, datetime

    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_inbox_page(data) -> tuple[list[dict], int]:
    """One page of GET INBOX_PATH -> (conversations, total pages). Each conversation:
    {vinted_id, subject, other_user, other_user_id, unread, updated_at}; entries without an id
    are skipped."""
    data = data if isinstance(data, dict) else {}
    rows = []
    for entry in data.get("conversations") or []:
        if not isinstance(entry, dict) or not _id(entry.get("id")):
            continue
        user = entry.get("opposite_user") if isinstance(entry.get("opposite_user"), dict) else {}
        rows.append({"vinted_id": _id(entry["id"]), "subject": _text(entry.get("description"), 300),
                     "other_user": _text(user.get("login"), 100), "other_user_id": _id(user.get("id")),
                     "unread": bool(entry.get("unread")), "updated_at": parse_time(entry.get("updated_at"))})
    pagination = data.get("pagination") if isinstance(data.get("pagination"), dict) else {}
    try:
        total_pages = max(1, int(pagination.get("total_pages") or 1))
    except (TypeError, ValueError):
        total_pages = 1
    return rows, total_pages


def _message_body(kind: str, entity: dict) -> str:
    if kind == "offer_request_message":
        price = entity.get("price") if isinstance(entity.get("price"), dict) else {}
        offer = f"Offer: {_text(price.get('amount'), 20)} {_text(price.get('currency_code'), 3)}".strip()
        body = _text(entity.get("body"), 5000)
        return f"{offer}\n{body}" if body else offer
    if kind in ("status_message", "action_message"):
        title, subtitle = _text(entity.get("title"), 2000), _text(entity.get("subtitle"), 2000)
        return f"{title}\n{subtitle}" if subtitle else title
    return _text(entity.get("body"), 5000)


def parse_message(entry) -> dict | None:
    """One message of a conversation -> {vinted_id, kind, body, user_id, sent_at}; None without an id."""
    if not isinstance(entry, dict) or not _id(entry.get("id")):
        return None
    kind = MESSAGE_KINDS.get(entry.get("entity_type"), "action_message")
    entity = entry.get("entity") if isinstance(entry.get("entity"), dict) else {}
    return {"vinted_id": _id(entry["id"]), "kind": kind, "body": _message_body(kind, entity),
            "user_id": _id(entity.get("user_id")), "sent_at": parse_time(entry.get("created_at_ts"))}


def parse_conversation(data) -> dict:
    """GET CONVERSATION_PATH -> {subject, other_user, other_user_id, item_id, messages}."""
    data = data if isinstance(data, dict) else {}
    conversation = data.get("conversation") if isinstance(data.get("conversation"), dict) else {}
    user = conversation.get("opposite_user") if isinstance(conversation.get("opposite_user"), dict) else {}
    transaction = conversation.get("transaction") if isinstance(conversation.get("transaction"), dict) else {}
    messages = [parsed for parsed in map(parse_message, conversation.get("messages") or []) if parsed]
    return {"subject": _text(conversation.get("description"), 300), "other_user": _text(user.get("login"), 100),
            "other_user_id": _id(user.get("id")), "item_id": _id(transaction.get("item_id")), "messages": messages}


def parse_reply(data) -> dict | None:
    """POST REPLY_PATH's answer -> the message as parse_message() reads it (None if absent)."""
    return parse_message((data if isinstance(data, dict) else {}).get("message"))


# =============================================================================================
# Items (relist: delete the old item on Vinted)
# =============================================================================================

DELETE_ITEM_PATH = "/api/v2/items/{id}/delete"


# =============================================================================================
# Reading Vinted's answers (shared by vinted.http and vinted.browser)
# =============================================================================================

class Verdict:
    """What an answer of Vinted's means: `outcome` is a CallOutcome value."""

    def __init__(self, outcome: str, message: str = "", retry_after: float | None = None):
        self.outcome, self.message, self.retry_after = outcome, message, retry_after

    def __repr__(self):
        return f"Verdict({self.outcome!r}, {self.message!r}, retry_after={self.retry_after!r})"


def classify(status_code: int, headers, text: str, url: str = "") -> Verdict:
    """The meaning of one HTTP answer (or a page the browser landed on, with status 200)."""
    from .choices import CallOutcome

    lowered = (text or "")[:20000].lower()
    if status_code == 401 or "invalid_authentication_token" in lowered or "/member/signup" in url \
            or "/session/new" in url:
        return Verdict(CallOutcome.NEEDS_LOGIN, "Vinted says the session expired: import a new one.")
    if status_code == 429:
        try:
            retry_after = float(headers.get("Retry-After", "60"))
        except (TypeError, ValueError):
            retry_after = 60.0
        return Verdict(CallOutcome.RATE_LIMITED, f"Vinted asks us to slow down ({retry_after:.0f} s).", retry_after)
    if status_code == 403 or "captcha" in lowered or "datadome" in lowered or "access denied" in lowered:
        return Verdict(CallOutcome.BLOCKED, "Vinted blocked the request.")
    if status_code >= 500:
        return Verdict(CallOutcome.ERROR, f"Vinted answered {status_code}.")
    if status_code >= 400:
        return Verdict(CallOutcome.ERROR, f"Vinted refused the request ({status_code}).")
    return Verdict(CallOutcome.OK)
