"""The fake Vinted's inbox: /api/v2/inbox, /api/v2/conversations/{id} and replies
(routes for tests/fakes/vinted_server.py)."""

ROUTES: list = []
