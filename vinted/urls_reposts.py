"""Vinted automation (part 3): reposts pages (mounted at /vinted/)."""

urlpatterns: list = []
