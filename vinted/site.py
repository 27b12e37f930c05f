"""Everything this project knows of Vinted's web app, in one place: URLs, cookies, selectors,
the new-item form's field mapping, JSON paths, and how to tell a block, a captcha or an
expired session. Vinted changes its pages without notice; when it does, this module (and the
fake in tests/fakes/vinted_server.py, which serves the same shapes) is what changes.

Sources: ../shared/VINTED.md (public projects that automate Vinted). Every path is relative to
`base_url(account)`, which is settings.VINTED_BASE_URL when set (a proxy, or the tests' fake),
else https://www.<the account's domain>.
"""

import json
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

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

# Where Vinted sends a visitor without a (valid) session: landing on one means "needs login".
LOGIN_PATHS = ("/member/login", "/member/signup", "/session/new", "/auth/login")

# A page of the web app that carries the CSRF token.
HOME_PATH = "/"
# `"CSRF_TOKEN":"<uuid>"` in the web app's HTML; the API wants it back as X-Csrf-Token.
CSRF_TOKEN_RE = re.compile(r'"CSRF_TOKEN"\s*:\s*"([0-9a-fA-F-]{8,64})"')

# Accept-Language / Locale the web app sends on each site (others: English).
_LOCALES = {"vinted.fr": "fr-FR", "vinted.be": "fr-BE", "vinted.de": "de-DE", "vinted.at": "de-AT",
            "vinted.es": "es-ES", "vinted.it": "it-IT", "vinted.nl": "nl-NL", "vinted.pl": "pl-PL",
            "vinted.co.uk": "en-GB", "vinted.com": "en-US"}


def locale(domain: str) -> str:
    return _LOCALES.get(domain, "en-GB")


def api_headers(*, domain: str, cookies: dict, user_agent: str = "", csrf_token: str = "") -> dict:
    """The headers the web app sends with its JSON calls (VINTED.md); the cookies go separately."""
    origin = base_url(domain)
    headers = {"Accept": "application/json, text/plain, */*", "Accept-Language": locale(domain),
               "Locale": locale(domain), "Platform": "web", "Origin": origin, "Referer": origin + "/"}
    if user_agent:
        headers["User-Agent"] = user_agent
    if cookies.get("anon_id"):
        headers["X-Anon-Id"] = cookies["anon_id"]
    if csrf_token:
        headers["X-Csrf-Token"] = csrf_token
    return headers


def csrf_token(html: str) -> str:
    """The CSRF token in a page of the web app ("" when there is none)."""
    match = CSRF_TOKEN_RE.search(html or "")
    return match.group(1) if match else ""


# =============================================================================================
# The new-item form, in the browser (vinted.browser)
# =============================================================================================

NEW_ITEM_PATH = "/items/new"

# The photo input (several files at once, uploaded by the page in the order given), one element per
# uploaded photo in order with its sha256 in an attribute, and the element the page shows when an
# upload was refused (its `data-status` is the HTTP status, its text Vinted's answer).
PHOTO_INPUT = 'input[type="file"]'
PHOTO_ITEM = "[data-photo-sha256]"
PHOTO_HASH_ATTRIBUTE = "data-photo-sha256"
PHOTO_UPLOAD_ERROR = "[data-upload-error]"

# The form's fields: value key -> (how the field is filled and read, its selector). Kinds:
#   "text"      an input or textarea: filled, read with its value
#   "select"    a <select>: the option with that value is selected
#   "radio"     a group of radio inputs: the one whose value is the value is clicked
#   "checkboxes" a group of checkboxes: exactly the listed values are checked (a list of strings)
# Every key of a listing's values (vinted.services.publishing.listing_values) is here, in the order
# a seller fills them on Vinted (the category decides which sizes are offered).
FORM_FIELDS = {
    "title": ("text", 'input[name="title"]'),
    "description": ("text", 'textarea[name="description"]'),
    "catalog_id": ("text", 'input[name="catalog_id"]'),
    "brand_id": ("text", 'input[name="brand_id"]'),
    "size_id": ("text", 'input[name="size_id"]'),
    "status_id": ("select", 'select[name="status_id"]'),
    "color_ids": ("checkboxes", 'input[type="checkbox"][name="color_ids"]'),
    "price": ("text", 'input[name="price"]'),
    "package_size_id": ("radio", 'input[type="radio"][name="package_size_id"]'),
}
SUBMIT_BUTTON = 'button[type="submit"]'

# Where Vinted lands after a successful submit: the new item's page, /items/<id>-<slug>.
ITEM_URL_PATTERN = r"/items/(\d+)(?:-[^/?#]*)?/?(?:[?#].*)?$"


def item_id_from_url(url: str) -> str | None:
    """The id of the item whose page `url` is, or None when it is not an item page."""
    import re

    match = re.search(ITEM_URL_PATTERN, url or "")
    return match.group(1) if match else None


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

# Verdict.block values: what stopped us (for the message, the event and the tests).
DATADOME, CAPTCHA, CLOUDFLARE, CHALLENGE, FORBIDDEN = "datadome", "captcha", "cloudflare", "challenge", "forbidden"

# A challenge is an IFRAME from a captcha service (DataDome's captcha-delivery.com, reCAPTCHA,
# hCaptcha). A <script> from them is not: DataDome's tag (ct.captcha-delivery.com/c.js) is on
# Vinted's ordinary pages too.
# An invisible reCAPTCHA (`size=invisible`, a score in the background) shows the seller nothing: not one.
_CAPTCHA_IFRAME_RE = re.compile(
    r"<iframe\b[^>]*\bsrc\s*=\s*[\"']?([^\"'>]*(captcha-delivery\.com|recaptcha|hcaptcha|/captcha)[^\"'>]*)", re.I)
# A challenge page says so in its title or first heading ("Verify you are human", "Vérification").
_HEADINGS_RE = re.compile(r"<(title|h1)\b[^>]*>(.*?)</\1>", re.I | re.S)
# (Not "verify" alone: "Verify your email" is an ordinary page.)
_CHALLENGE_WORDS_RE = re.compile(r"verify (that )?you are (a )?human|verify you are not a robot|are you a robot|"
                                 r"\bvérification\b|verification required|security check|just a moment|"
                                 r"attention required", re.I)
_CLOUDFLARE_RE = re.compile(r"error\s*(code)?\s*:?\s*1020|access denied|cloudflare", re.I)
_DATADOME_RE = re.compile(r"datadome|captcha-delivery\.com", re.I)
# The text of DataDome's block page (a normal page carries DataDome's tag, never this).
_DATADOME_INTERSTITIAL = "please enable js and disable any ad blocker"
# Retry-After beyond this is capped: a job retries then and asks again.
RETRY_AFTER_MAX_SECONDS = 3600
RETRY_AFTER_DEFAULT_SECONDS = 60


class Verdict:
    """What an answer of Vinted's means: `outcome` is a CallOutcome value; `block` says what kind of
    block (DATADOME, CAPTCHA, ...) when the outcome is "blocked"."""

    def __init__(self, outcome: str, message: str = "", retry_after: float | None = None, block: str = ""):
        self.outcome, self.message, self.retry_after, self.block = outcome, message, retry_after, block

    def __repr__(self):
        return f"Verdict({self.outcome!r}, {self.message!r}, retry_after={self.retry_after!r}, block={self.block!r})"


def _header(headers, name: str) -> str:
    if not headers:
        return ""
    for key, value in headers.items():
        if key.lower() == name.lower():
            return str(value)
    return ""


def _is_login(url: str) -> bool:
    path = urlsplit(url or "").path.rstrip("/").lower()
    return any(path == login or path.startswith(login + "/") for login in LOGIN_PATHS)


def _json(text: str):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def _looks_like_html(headers, text: str) -> bool:
    content_type = _header(headers, "content-type").lower()
    return "html" in content_type or (not content_type and (text or "").lstrip()[:1] == "<")


def retry_after_seconds(value: str, *, now: datetime | None = None) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); a default when absent or bad."""
    value = (value or "").strip()
    if not value:
        return float(RETRY_AFTER_DEFAULT_SECONDS)
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return float(RETRY_AFTER_DEFAULT_SECONDS)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return float(RETRY_AFTER_DEFAULT_SECONDS)
    return float(min(max(seconds, 1.0), RETRY_AFTER_MAX_SECONDS))


def _challenge(text: str) -> str:
    """What kind of block an HTML page shown with status 200 is (a browser sees them so), else ""."""
    head = (text or "")[:200_000]
    if any("size=invisible" not in src.lower() for src, _service in _CAPTCHA_IFRAME_RE.findall(head)):
        return CAPTCHA
    if _DATADOME_INTERSTITIAL in head.lower():
        return DATADOME
    for _tag, inner in _HEADINGS_RE.findall(head):
        words = re.sub(r"<[^>]+>", " ", inner)
        if re.search(r"access denied", words, re.I) and re.search(r"cloudflare|1020", head, re.I):
            return CLOUDFLARE
        if _CHALLENGE_WORDS_RE.search(words):
            return CHALLENGE
    return ""


_BLOCK_TEXT = {
    DATADOME: "Vinted's bot protection (DataDome) blocked the request",
    CAPTCHA: "Vinted answered with a captcha instead of the page",
    CHALLENGE: "Vinted answered with a \"verify you are human\" check instead of the page",
    CLOUDFLARE: "Vinted's Cloudflare front refused access (Access denied, error 1020)",
    FORBIDDEN: "Vinted refused access (403 Forbidden)",
}


def _blocked(kind: str) -> Verdict:
    from .choices import CallOutcome

    return Verdict(CallOutcome.BLOCKED, _BLOCK_TEXT[kind] + ".", block=kind)


def classify(status_code: int, headers, text: str, url: str = "") -> Verdict:
    """The meaning of one HTTP answer (or of a page the browser landed on: see classify_page).

    `url` is where the answer came from (or, for a redirect, its Location). JSON bodies are never
    searched for words (a buyer's message may say "captcha"); HTML pages are, for challenges.
    """
    from .choices import CallOutcome

    text = text or ""
    status_code = int(status_code or 0)
    if 300 <= status_code < 400:
        location = _header(headers, "location") or url
        if _is_login(location):
            return Verdict(CallOutcome.NEEDS_LOGIN, "Vinted sent us to its login page: the session expired.")
        return Verdict(CallOutcome.ERROR, f"Vinted answered with an unexpected redirect ({status_code}).")
    data = None if _looks_like_html(headers, text) else _json(text)
    message_code = str(data.get("message_code") or "") if isinstance(data, dict) else ""
    if status_code == 401 or message_code == "invalid_authentication_token" or _is_login(url):
        return Verdict(CallOutcome.NEEDS_LOGIN, "Vinted says the session expired.")
    if status_code == 429:
        retry_after = retry_after_seconds(_header(headers, "retry-after"))
        return Verdict(CallOutcome.RATE_LIMITED,
                       f"Vinted asks us to slow down (429): retrying in {retry_after:.0f} s.", retry_after)
    if status_code == 403:
        if _header(headers, "x-datadome") or _DATADOME_RE.search(text[:200_000]):
            return _blocked(DATADOME)
        if (_header(headers, "cf-ray") or "cloudflare" in _header(headers, "server").lower()) \
                and _CLOUDFLARE_RE.search(text[:200_000]):
            return _blocked(CLOUDFLARE)
        if _CLOUDFLARE_RE.search(text[:200_000]) and "1020" in text[:200_000]:
            return _blocked(CLOUDFLARE)
        return _blocked(FORBIDDEN)
    if status_code >= 500:
        return Verdict(CallOutcome.ERROR, f"Vinted is not answering properly ({status_code}).")
    if status_code >= 400:
        return Verdict(CallOutcome.ERROR, f"Vinted refused the request ({status_code}).")
    if _looks_like_html(headers, text):
        challenge = _challenge(text)
        if challenge:
            return _blocked(challenge)
    return Verdict(CallOutcome.OK)


def classify_page(url: str, html: str, status_code: int = 200) -> Verdict:
    """The meaning of a page the browser landed on (after each navigation or action): a login page,
    a captcha, challenge or block page, or OK. Pass the navigation's status when there is one (a
    click that changes the page has none: 200)."""
    return classify(status_code or 200, {"content-type": "text/html"}, html, url)


# =============================================================================================
# Price drops (vinted.services.price_drops): change an item's price on Vinted
# =============================================================================================
# VINTED.md lists `PUT /item_upload/items/{id}` as the update call. ASSUMED, not seen in a capture: that
# it takes the same `{"item": {...}}` envelope as the create call and that a body with only the fields
# to change (`price`, `currency`) is enough; that a 2xx means the price was taken (its body is not read:
# its shape is not known yet); that someone else's or a deleted item is a 404. When Vinted proves otherwise, this
# block (and tests/fakes/vinted_items.py) is what changes.
UPDATE_ITEM_PATH = "/api/v2/item_upload/items/{id}"
# The ledger's action name for a price update (automatic drop or a change by hand).
UPDATE_PRICE_ACTION = "price-update"


def update_price_payload(price, currency: str) -> dict:
    """The body of PUT UPDATE_ITEM_PATH that changes only the price (a decimal string, e.g. "18.00")."""
    return {"item": {"price": f"{price:.2f}", "currency": currency}}


# Reply suggestions (part 3, vinted.services.replies): the amount of a buyer's offer message
# =============================================================================================

# _message_body() writes an offer request as "Offer: <amount> <currency>" on its first line.
_OFFER_LINE_RE = re.compile(r"^Offer:\s*(\d+(?:[.,]\d{1,2})?)")


def offer_amount(kind: str, body: str) -> str:
    """The amount (a decimal string) of an offer request as the inbox stored it; "" for other messages."""
    if kind != "offer_request_message":
        return ""
    found = _OFFER_LINE_RE.match(body or "")
    return found.group(1).replace(",", ".") if found else ""
