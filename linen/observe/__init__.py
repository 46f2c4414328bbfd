"""Operators see the pipeline: Prometheus metrics (and, next, the dashboard)."""
