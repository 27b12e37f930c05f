"""Vinted publishing (services: every change that touches more than one row, atomic)."""
