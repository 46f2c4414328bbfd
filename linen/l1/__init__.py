"""The L1 side of Linen: the anvil launcher, contract compilation and deployment, blob submission."""
