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
