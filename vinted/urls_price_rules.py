"""Vinted automation (part 3): price_rules pages (mounted at /vinted/)."""

urlpatterns: list = []
