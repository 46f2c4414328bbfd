"""The slice of the message services' ABI that the postman and `linen bridge` use, written out by hand.

Both run where solc is not installed, so they cannot compile `contracts/`. The slice covers sending a
message, reading the minimum fee and a message's status, claiming it, the events a message is followed
through, and the errors a send or a claim can end with (so a refusal is named, not shown as a selector).
tests/l1/test_message_proof.py compares every entry with the compiled artefacts, so a contract change
that breaks one fails there rather than on a user's claim.
"""

from __future__ import annotations

from eth_hash.auto import keccak


def _params(*types: tuple[str, str]) -> list[dict]:
    return [{"name": name, "type": kind} for name, kind in types]


def _function(name: str, inputs: list[dict], outputs: list[dict] | None = None, mutability: str = "nonpayable") -> dict:
    return {"type": "function", "name": name, "inputs": inputs, "outputs": outputs or [],
            "stateMutability": mutability}


def _view(name: str, inputs: list[dict], outputs: list[dict]) -> dict:
    return _function(name, inputs, outputs, "view")


def _error(name: str, *types: tuple[str, str]) -> dict:
    return {"type": "error", "name": name, "inputs": _params(*types)}


def _event(name: str, *fields: tuple[str, str, bool]) -> dict:
    """An event from (type, name, indexed) fields."""
    inputs = [{"name": name, "type": kind, "indexed": indexed} for kind, name, indexed in fields]
    return {"type": "event", "name": name, "inputs": inputs, "anonymous": False}


CLAIM_PARAMS_TUPLE = {
    "name": "_params",
    "type": "tuple",
    "components": _params(
        ("proof", "bytes32[]"), ("messageNumber", "uint256"), ("leafIndex", "uint32"), ("from", "address"),
        ("to", "address"), ("fee", "uint256"), ("value", "uint256"), ("feeRecipient", "address"),
        ("merkleRoot", "bytes32"), ("data", "bytes"),
    ),
}

# What both message services have: sending, the two events every message goes through, and the errors of
# sending and claiming that both raise.
_SHARED = [
    _function("sendMessage", _params(("_to", "address"), ("_fee", "uint256"), ("_calldata", "bytes")),
              mutability="payable"),
    _event("MessageSent", ("address", "_from", True), ("address", "_to", True), ("uint256", "_fee", False),
           ("uint256", "_value", False), ("uint256", "_nonce", False), ("bytes", "_calldata", False),
           ("bytes32", "_messageHash", True)),
    _event("MessageClaimed", ("bytes32", "_messageHash", True)),
    _error("RateLimitExceeded"),
    _error("IsPaused", ("pauseType", "uint8")),
    _error("ReentrantCall"),
    _error("MessageSendingFailed", ("destination", "address")),
    _error("FeePaymentFailed", ("recipient", "address")),
    _error("ZeroAddressNotAllowed"),
    _error("ValueSentTooLow"),
]

L1_MESSAGE_SERVICE_ABI = [
    *_SHARED,
    _function("claimMessageWithProof", [CLAIM_PARAMS_TUPLE]),
    _view("isMessageClaimed", _params(("messageNumber", "uint256")), _params(("", "bool"))),
    _view("l2MerkleRootsDepths", _params(("root", "bytes32")), _params(("depth", "uint256"))),
    _view("currentL2BlockNumber", [], _params(("", "uint256"))),
    _event("L2MessagingBlockAnchored", ("uint256", "l2Block", True)),
    _error("L2MerkleRootDoesNotExist"),
    _error("ProofLengthDifferentThanMerkleDepth", ("depth", "uint256"), ("proofLength", "uint256")),
    _error("MessageAlreadyClaimed", ("messageNumber", "uint256")),
    _error("LeafIndexOutOfBounds", ("leafIndex", "uint32"), ("maxAllowedIndex", "uint32")),
    _error("InvalidMerkleProof"),
]

L2_MESSAGE_SERVICE_ABI = [
    *_SHARED,
    _function(
        "claimMessage",
        _params(("_from", "address"), ("_to", "address"), ("_fee", "uint256"), ("_value", "uint256"),
                ("_feeRecipient", "address"), ("_calldata", "bytes"), ("_nonce", "uint256")),
    ),
    _view("inboxL1L2MessageStatus", _params(("messageHash", "bytes32")), _params(("status", "uint256"))),
    _view("minimumFeeInWei", [], _params(("", "uint256"))),
    _event("L1L2MessageHashesAddedToInbox", ("bytes32[]", "messageHashes", False)),
    _event("RollingHashUpdated", ("uint256", "messageNumber", True), ("bytes32", "rollingHash", True)),
    _error("FeeTooLow"),
    _error("MessageDoesNotExistOrHasAlreadyBeenClaimed", ("messageHash", "bytes32")),
]

MESSAGE_CLAIMED_SIGNATURE = "MessageClaimed(bytes32)"
DATA_FINALIZED_V3_SIGNATURE = "DataFinalizedV3(uint256,uint256,bytes32,bytes32,bytes32)"

MESSAGE_CLAIMED_TOPIC = keccak(MESSAGE_CLAIMED_SIGNATURE.encode())
DATA_FINALIZED_V3_TOPIC = keccak(DATA_FINALIZED_V3_SIGNATURE.encode())

# L2 inbox statuses (L2MessageService.inboxL1L2MessageStatus)
INBOX_UNKNOWN, INBOX_RECEIVED, INBOX_CLAIMED = 0, 1, 2
