"""Linen's ZK side: the Noir + Barretenberg toolchain driver (toolchain.py) and the BN254 SRS tool
(srs.py, over the native code in native/src/srs.rs). Circuits live in circuits/."""
