"""The fake Vinted's items endpoints (deleting an item on relist; routes for tests/fakes/vinted_server.py)."""

ROUTES: list = []
