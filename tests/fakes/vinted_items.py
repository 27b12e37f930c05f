"""The fake Vinted's items endpoints (deleting an item on relist; routes for tests/fakes/vinted_server.py).

State, under `fake.state`:
- `items`: item id (a string) -> {"id", "user_id", "title"}: the items the fake knows. Tests (and the
  fake's new-item form, when it publishes one) register them with `add_item()`.
- `deleted_items`: the ids deleted through `POST /api/v2/items/{id}/delete`, in order.

`POST /api/v2/items/{id}/delete` (vinted.site.DELETE_ITEM_PATH) answers like Vinted: 401 without a
valid session; 404 for an item it does not know, one already deleted, or another user's item (Vinted
does not tell those apart for someone else's item); else 200 `{"code": 0}` and the item is gone.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .vinted_server import FakeVinted, Request


def add_item(fake: FakeVinted, *, user_id: int = 4242, title: str = "An item", item_id: int | None = None) -> str:
    """Register an item of `user_id` (the default session's user); returns its id (a string)."""
    item_id = str(item_id if item_id is not None else next(fake.ids))
    with fake.lock:
        fake.state.setdefault("items", {})[item_id] = {"id": int(item_id), "user_id": user_id, "title": title}
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


ROUTES: list = [
    ("POST", r"^/api/v2/items/(?P<id>\d+)/delete$", _delete_item),
]
