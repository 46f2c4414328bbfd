"""What `linen bridge` calls besides claims: sending, the minimum fee, and the events it follows.

linen.bridge.abi holds the claim side (shared with the postman); a user also sends messages and
follows them through their events, so these fragments are added to it. Like abi.py they are written
out so that no compiler is needed, and the bridge CLI tests check them against the compiled contracts.
"""

from __future__ import annotations

from linen.bridge.abi import L1_MESSAGE_SERVICE_ABI, L2_MESSAGE_SERVICE_ABI


def _params(text: str, event: bool = False) -> list[dict]:
    """"address indexed _from, uint256 _fee" → ABI parameter entries (`indexed` only for an event's)."""
    entries = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        words = part.split()
        entry: dict = {"type": words[0], "name": words[-1] if len(words) > 1 else ""}
        if event:
            entry["indexed"] = "indexed" in words[1:]
        entries.append(entry)
    return entries


def _event(name: str, inputs: str) -> dict:
    return {"type": "event", "name": name, "inputs": _params(inputs, event=True), "anonymous": False}


def _error(signature: str) -> dict:
    name, types = signature[:-1].split("(")
    return {"type": "error", "name": name, "inputs": [{"type": t, "name": ""} for t in filter(None, types.split(","))]}


def _with(base: list[dict], extra: list[dict]) -> list[dict]:
    """`base` plus the entries of `extra` it does not already have (web3 refuses ambiguous duplicates)."""
    have = {(entry["type"], entry.get("name")) for entry in base}
    return [*base, *(entry for entry in extra if (entry["type"], entry.get("name")) not in have)]


_SENDING = [
    {"type": "function", "name": "sendMessage", "inputs": _params("address _to, uint256 _fee, bytes _calldata"),
     "outputs": [], "stateMutability": "payable"},
    _event(
        "MessageSent",
        "address indexed _from, address indexed _to, uint256 _fee, uint256 _value, uint256 _nonce, "
        "bytes _calldata, bytes32 indexed _messageHash",
    ),
    _event("MessageClaimed", "bytes32 indexed _messageHash"),
    _error("ZeroAddressNotAllowed()"),
    _error("ValueSentTooLow()"),
    _error("RateLimitExceeded()"),
    _error("IsPaused(uint8)"),
]

L1_BRIDGE_ABI: list[dict] = _with(
    L1_MESSAGE_SERVICE_ABI, [*_SENDING, _event("L2MessagingBlockAnchored", "uint256 indexed l2Block")]
)

L2_BRIDGE_ABI: list[dict] = _with(
    L2_MESSAGE_SERVICE_ABI,
    [
        *_SENDING,
        {"type": "function", "name": "minimumFeeInWei", "inputs": [], "outputs": _params("uint256"),
         "stateMutability": "view"},
        _error("FeeTooLow()"),
        _event("L1L2MessageHashesAddedToInbox", "bytes32[] messageHashes"),
        _event("RollingHashUpdated", "uint256 indexed messageNumber, bytes32 indexed rollingHash"),
    ],
)
