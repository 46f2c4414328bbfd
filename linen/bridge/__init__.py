"""The bridge seen from users and the postman: building L2→L1 claims from events (the postman itself is linen.postman)."""

from linen.bridge.message_proof import (
    ClaimDataMismatch,
    L2ToL1Claim,
    MessageNotFinalized,
    UnknownMessage,
    build_l2_to_l1_claim,
    claim_to_json,
)

__all__ = [
    "ClaimDataMismatch",
    "L2ToL1Claim",
    "MessageNotFinalized",
    "UnknownMessage",
    "build_l2_to_l1_claim",
    "claim_to_json",
]
