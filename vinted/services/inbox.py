"""Vinted inbox (services: every change that touches more than one row, atomic)."""
