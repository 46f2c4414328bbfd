"""Proving backends: one `prove_<kind>(request, settings) -> response` per proof kind."""
