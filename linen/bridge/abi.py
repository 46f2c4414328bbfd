"""The slice of the message services' ABI that claiming needs, written out so no compiler is needed at run time.

The postman and `linen bridge` run where solc is not installed, so they cannot compile `contracts/`;
tests compare every fragment here with the compiled artefacts, so a contract change that breaks
one fails there rather than on a user's claim.
"""

from __future__ import annotations

from eth_hash.auto import keccak


def _params(*types: tuple[str, str]) -> list[dict]:
    return [{"name": name, "type": kind} for name, kind in types]


def _function(name: str, inputs: list[dict], outputs: list[dict] | None = None, view: bool = False) -> dict:
    return {"type": "function", "name": name, "inputs": inputs, "outputs": outputs or [],
            "stateMutability": "view" if view else "nonpayable"}


def _error(name: str, *types: tuple[str, str]) -> dict:
    return {"type": "error", "name": name, "inputs": _params(*types)}


CLAIM_PARAMS_TUPLE = {
    "name": "_params",
    "type": "tuple",
    "components": _params(
        ("proof", "bytes32[]"), ("messageNumber", "uint256"), ("leafIndex", "uint32"), ("from", "address"),
        ("to", "address"), ("fee", "uint256"), ("value", "uint256"), ("feeRecipient", "address"),
        ("merkleRoot", "bytes32"), ("data", "bytes"),
    ),
}

# Errors a claim can end with that the postman tells apart (the rest are reported by selector).
COMMON_ERRORS = [
    _error("RateLimitExceeded"),
    _error("IsPaused", ("pauseType", "uint8")),
    _error("ReentrantCall"),
    _error("MessageSendingFailed", ("destination", "address")),
    _error("FeePaymentFailed", ("recipient", "address")),
]

L1_MESSAGE_SERVICE_ABI = [
    _function("claimMessageWithProof", [CLAIM_PARAMS_TUPLE]),
    _function("isMessageClaimed", _params(("messageNumber", "uint256")), _params(("", "bool")), view=True),
    _function("l2MerkleRootsDepths", _params(("root", "bytes32")), _params(("depth", "uint256")), view=True),
    _function("currentL2BlockNumber", [], _params(("", "uint256")), view=True),
    *COMMON_ERRORS,
    _error("L2MerkleRootDoesNotExist"),
    _error("ProofLengthDifferentThanMerkleDepth", ("depth", "uint256"), ("proofLength", "uint256")),
    _error("MessageAlreadyClaimed", ("messageNumber", "uint256")),
    _error("LeafIndexOutOfBounds", ("leafIndex", "uint32"), ("maxAllowedIndex", "uint32")),
    _error("InvalidMerkleProof"),
]

L2_MESSAGE_SERVICE_ABI = [
    _function(
        "claimMessage",
        _params(("_from", "address"), ("_to", "address"), ("_fee", "uint256"), ("_value", "uint256"),
                ("_feeRecipient", "address"), ("_calldata", "bytes"), ("_nonce", "uint256")),
    ),
    _function("inboxL1L2MessageStatus", _params(("messageHash", "bytes32")), _params(("status", "uint256")),
              view=True),
    *COMMON_ERRORS,
    _error("MessageDoesNotExistOrHasAlreadyBeenClaimed", ("messageHash", "bytes32")),
]

MESSAGE_SENT_SIGNATURE = "MessageSent(address,address,uint256,uint256,uint256,bytes,bytes32)"
MESSAGE_CLAIMED_SIGNATURE = "MessageClaimed(bytes32)"
DATA_FINALIZED_V3_SIGNATURE = "DataFinalizedV3(uint256,uint256,bytes32,bytes32,bytes32)"

MESSAGE_SENT_TOPIC = keccak(MESSAGE_SENT_SIGNATURE.encode())
MESSAGE_CLAIMED_TOPIC = keccak(MESSAGE_CLAIMED_SIGNATURE.encode())
DATA_FINALIZED_V3_TOPIC = keccak(DATA_FINALIZED_V3_SIGNATURE.encode())

# L2 inbox statuses (L2MessageService.inboxL1L2MessageStatus)
INBOX_UNKNOWN, INBOX_RECEIVED, INBOX_CLAIMED = 0, 1, 2
