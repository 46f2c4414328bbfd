"""Linen: a ZK-rollup stack in Python (Linea's architecture on one machine)."""

__version__ = "0.1.0"
