"""The fake Vinted's pages for Chromium: the new-item form with photo upload, and the item page
a published listing lands on (routes for tests/fakes/vinted_server.py)."""

ROUTES: list = []
