"""The fake Vinted's items endpoints (deleting an item on relist, changing its price for the price drops;
routes for tests/fakes/vinted_server.py).

State, under `fake.state`:
- `items`: item id (a string) -> {"id", "user_id", "title", "price"}: the items the fake knows. Tests (and
  the fake's new-item form, when it publishes one) register them with `add_item()`.
- `deleted_items`: the ids deleted through `POST /api/v2/items/{id}/delete`, in order.
- `price_updates`: (item id, price) of each `PUT /api/v2/item_upload/items/{id}`, in order.

`POST /api/v2/items/{id}/delete` (vinted.site.DELETE_ITEM_PATH) answers like Vinted: 401 without a
valid session; 404 for an item it does not know, one already deleted, or another user's item (Vinted
does not tell those apart for someone else's item); else 200 `{"code": 0}` and the item is gone.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .vinted_server import FakeVinted, Request


def add_item(fake: FakeVinted, *, user_id: int = 4242, title: str = "An item", item_id: int | None = None,
             price: str | None = None) -> str:
    """Register an item of `user_id` (the default session's user); returns its id (a string)."""
    item_id = str(item_id if item_id is not None else next(fake.ids))
    with fake.lock:
        fake.state.setdefault("items", {})[item_id] = {"id": int(item_id), "user_id": user_id, "title": title,
                                                       "price": price}
    return item_id


def items(fake: FakeVinted) -> dict[str, dict]:
    with fake.lock:
        return dict(fake.state.get("items", {}))


def deleted_items(fake: FakeVinted) -> list[str]:
    with fake.lock:
        return list(fake.state.get("deleted_items", []))


def _delete_item(fake: FakeVinted, request: Request, match: re.Match):
    from .vinted_server import Response, unauthenticated

    user = fake.user_for(request)
    if user is None:
        return unauthenticated()
    item_id = match["id"]
    with fake.lock:
        known = fake.state.setdefault("items", {})
        item = known.get(item_id)
        if item is None or item["user_id"] != user["id"]:
            return Response(404, {"code": 404, "message": "Item not found"})
        del known[item_id]
        fake.state.setdefault("deleted_items", []).append(item_id)
    return Response(200, {"code": 0})


# --- price updates (vinted.site.UPDATE_ITEM_PATH; part 3's price drops) ---------------------------------
# `PUT /api/v2/item_upload/items/{id}` with {"item": {"price": "18.00", "currency": "EUR"}}: 401 without a
# session; 404 for an unknown, deleted or someone else's item; 400 for a price that is not a positive
# amount; else the item's price changes and 200 {"item": {"id", "title", "price", "currency"}}.
# `fake.state["price_updates"]` lists (item id, price) in order. fail_next(...) applies like everywhere.

def price_updates(fake: FakeVinted) -> list[tuple[str, str]]:
    with fake.lock:
        return list(fake.state.get("price_updates", []))


def item_price(fake: FakeVinted, item_id: str) -> str | None:
    with fake.lock:
        item = fake.state.get("items", {}).get(str(item_id))
        return None if item is None else item.get("price")


def _update_item(fake: FakeVinted, request: Request, match: re.Match):
    from decimal import Decimal, InvalidOperation

    from .vinted_server import Response, unauthenticated

    user = fake.user_for(request)
    if user is None:
        return unauthenticated()
    try:
        body = request.json()
        price = Decimal(str(body["item"]["price"]))
    except (ValueError, KeyError, TypeError, InvalidOperation):
        return Response(400, {"code": 99, "message": "Validation error", "errors": [{"field": "price"}]})
    if price <= 0:
        return Response(400, {"code": 99, "message": "Validation error", "errors": [{"field": "price"}]})
    item_id = match["id"]
    with fake.lock:
        item = fake.state.setdefault("items", {}).get(item_id)
        if item is None or item["user_id"] != user["id"]:
            return Response(404, {"code": 404, "message": "Item not found"})
        item["price"] = f"{price:.2f}"
        fake.state.setdefault("price_updates", []).append((item_id, item["price"]))
        answer = {"id": int(item_id), "title": item.get("title", ""), "price": item["price"],
                  "currency": body["item"].get("currency", "EUR")}
    return Response(200, {"item": answer, "code": 0})


ROUTES: list = [
    ("POST", r"^/api/v2/items/(?P<id>\d+)/delete$", _delete_item),
    ("PUT", r"^/api/v2/item_upload/items/(?P<id>\d+)$", _update_item),
]
