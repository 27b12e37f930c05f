"""Vinted automation (part 3): replies pages (mounted at /vinted/)."""

urlpatterns: list = []
