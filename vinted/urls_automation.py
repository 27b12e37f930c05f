"""Vinted automation (part 3): automation pages (mounted at /vinted/)."""

urlpatterns: list = []
