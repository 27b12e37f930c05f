"""The fake Vinted's inbox: /api/v2/inbox, /api/v2/conversations/{id} and replies
(routes for tests/fakes/vinted_server.py), in the shapes ../shared/VINTED.md describes.

    conv_id = add_conversation(fake, buyer="marie", item_id=123, description="Levi's 501")
    add_message(fake, conv_id, "Is it still available?")            # from the buyer
    ...                                                              # our sync reads it
    replies(fake, conv_id)  # -> the bodies our reply endpoint received, in order

State lives in `fake.state["inbox"]`: {"conversations": {id: conversation}, "replies": [...]}.
Conversations belong to a seller (the session's user id, 4242 for `fake.add_session()`); a
session sees only its own. Ids are numbers, timestamps ISO 8601 with an offset and strictly
increasing, the list is paginated (`page`, `per_page`) and newest first. Like Vinted, reading a
conversation clears its `unread` flag.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from .vinted_server import Response, unauthenticated

DEFAULT_SELLER_ID = 4242
MESSAGE_KINDS = ("message", "offer_request_message", "status_message", "action_message")


def _inbox(fake) -> dict:
    with fake.lock:
        return fake.state.setdefault("inbox", {"conversations": {}, "replies": [], "last_at": None})


def _next_time(fake) -> str:
    """Now, but always later than the last timestamp handed out (so "newer" is never ambiguous)."""
    inbox = _inbox(fake)
    now = datetime.now(UTC)
    last = inbox["last_at"]
    if last is not None and now <= last:
        now = last + timedelta(milliseconds=1)
    inbox["last_at"] = now
    return now.isoformat(timespec="milliseconds")


def add_conversation(fake, *, buyer: str = "buyer-anna", buyer_id: int = 777, item_id: int | None = None,
                     description: str = "Levi's 501 W32", seller_id: int = DEFAULT_SELLER_ID) -> int:
    """A new conversation of the seller's inbox (no messages yet); returns its id."""
    with fake.lock:
        conv_id = next(fake.ids)
        _inbox(fake)["conversations"][conv_id] = {
            "id": conv_id, "seller_id": seller_id, "description": description, "unread": False,
            "updated_at": _next_time(fake), "opposite_user": {"id": buyer_id, "login": buyer},
            "item_id": item_id, "messages": [],
        }
    return conv_id


def add_message(fake, conv_id: int, body: str = "", from_buyer: bool = True, *, kind: str = "message",
                price: str | None = None) -> int:
    """A message in the conversation (from the buyer unless said otherwise); returns its id.

    `kind` is Vinted's entity_type; an offer request carries `price` (a decimal string, EUR),
    status and action messages a title (`body`) and no sender."""
    if kind not in MESSAGE_KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    with fake.lock:
        conversation = _inbox(fake)["conversations"][conv_id]
        message_id = next(fake.ids)
        at = _next_time(fake)
        if kind in ("status_message", "action_message"):
            entity = {"title": body, "subtitle": ""}
        else:
            sender = conversation["opposite_user"]["id"] if from_buyer else conversation["seller_id"]
            entity = {"body": body, "user_id": sender}
            if kind == "offer_request_message":
                entity["price"] = {"amount": price or "10.0", "currency_code": "EUR"}
        conversation["messages"].append({"id": message_id, "entity_type": kind, "entity": entity,
                                         "created_at_ts": at})
        conversation["updated_at"] = at
        if from_buyer and kind in ("message", "offer_request_message"):
            conversation["unread"] = True
    return message_id


def replies(fake, conv_id: int | None = None) -> list[str]:
    """The bodies our reply endpoint received (of one conversation, or all), in order."""
    with fake.lock:
        return [reply["body"] for reply in _inbox(fake)["replies"]
                if conv_id is None or reply["conversation"] == conv_id]


def _summary(conversation: dict) -> dict:
    return {key: conversation[key] for key in ("id", "description", "unread", "updated_at", "opposite_user")} | {
        "item_count": 1 if conversation["item_id"] else 0}


def _detail(conversation: dict) -> dict:
    transaction = {"item_id": conversation["item_id"], "item_title": conversation["description"]} \
        if conversation["item_id"] else None
    return {"id": conversation["id"], "description": conversation["description"],
            "opposite_user": conversation["opposite_user"], "transaction": transaction,
            "updated_at": conversation["updated_at"], "messages": list(conversation["messages"])}


def _int_param(request, name: str, default: int) -> int:
    try:
        return max(1, int(request.query.get(name, [default])[0]))
    except ValueError:
        return default


def _list_inbox(fake, request, match: re.Match) -> Response:
    user = fake.user_for(request)
    if user is None:
        return unauthenticated()
    page, per_page = _int_param(request, "page", 1), min(_int_param(request, "per_page", 20), 100)
    with fake.lock:
        mine = sorted((c for c in _inbox(fake)["conversations"].values() if c["seller_id"] == user["id"]),
                      key=lambda c: c["updated_at"], reverse=True)
        rows = [_summary(c) for c in mine[(page - 1) * per_page:page * per_page]]
    total_pages = max(1, -(-len(mine) // per_page))
    return Response(200, {"conversations": rows, "pagination": {
        "current_page": page, "total_pages": total_pages, "total_entries": len(mine), "per_page": per_page}})


def _own_conversation(fake, request, match: re.Match) -> tuple[dict | None, Response | None]:
    user = fake.user_for(request)
    if user is None:
        return None, unauthenticated()
    conversation = _inbox(fake)["conversations"].get(int(match["id"]))
    # "gone": deleted on Vinted between the list and the read (a test sets it).
    if conversation is None or conversation["seller_id"] != user["id"] or conversation.get("gone"):
        return None, Response(404, {"code": 404, "message": "Conversation not found"})
    return conversation, None


def _get_conversation(fake, request, match: re.Match) -> Response:
    with fake.lock:
        conversation, refusal = _own_conversation(fake, request, match)
        if refusal is not None:
            return refusal
        conversation["unread"] = False
        return Response(200, {"conversation": _detail(conversation), "code": 0})


def _post_reply(fake, request, match: re.Match) -> Response:
    with fake.lock:
        conversation, refusal = _own_conversation(fake, request, match)
        if refusal is not None:
            return refusal
        try:
            body = (request.json() or {}).get("body")
        except (ValueError, AttributeError):
            body = None
        if not isinstance(body, str) or not body.strip():
            return Response(400, {"code": 99, "message": "Body can't be blank", "errors": [{"field": "body"}]})
        message_id = add_message(fake, conversation["id"], body, from_buyer=False)
        _inbox(fake)["replies"].append({"conversation": conversation["id"], "body": body, "id": message_id})
        message = conversation["messages"][-1]
        return Response(200, {"message": message, "code": 0})


ROUTES: list = [
    ("GET", r"^/api/v2/inbox$", _list_inbox),
    ("GET", r"^/api/v2/conversations/(?P<id>\d+)$", _get_conversation),
    ("POST", r"^/api/v2/conversations/(?P<id>\d+)/messages$", _post_reply),
]
