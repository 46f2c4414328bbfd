"""The state manager's pure core: Shomei's sparse Merkle tree with linked sorted leaves.

Hashers, the account/storage encodings, the tree with its operation traces, and linea_getProof
proofs with their verifier. No I/O: storage goes through `linen.state.store.NodeStore`.
"""
