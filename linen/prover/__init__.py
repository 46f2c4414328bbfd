"""Prover side: request/response files, the controller that runs proofs, and the proving backends."""
