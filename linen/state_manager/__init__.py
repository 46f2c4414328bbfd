"""The state manager service (Shomei's role): applies trielogs in block order and serves proofs (linen/state is its pure core)."""
