"""Benchmarks that run real processes and write their figures as JSON (see bench/README.md)."""
