"""Chromium for Vinted pages: a bounded pool shared by all workers, and the new-item form flows."""
