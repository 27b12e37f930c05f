"""Vinted metrics for /metrics (settings.METRICS_COLLECTORS) and Vinted health checks."""
