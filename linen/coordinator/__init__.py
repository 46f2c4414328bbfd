"""Coordinator: conflation, blobs, aggregation, proof requests, L1 submission and anchoring."""
