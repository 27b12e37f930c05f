"""Vinted relist pages (thin: services do the work; access is the querysets' rule)."""
