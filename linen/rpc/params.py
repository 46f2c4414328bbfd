"""Parameter parsing shared by the method modules: arity, block tags, call objects, state overrides.

Everything untrusted goes through the strict parsers of `linen.primitives.hexcodec`, so a malformed
value is always an `InvalidParams` (-32602) that names the parameter, never a crash.
"""

from __future__ import annotations

from linen.chain.types import BlockHeader
from linen.execution.engine import AccountOverride, CallRequest
from linen.primitives.hexcodec import parse_address, parse_data, parse_hash, parse_quantity
from linen.primitives.types import ZERO_ADDRESS
from linen.rpc.backend import RpcBackend
from linen.rpc.errors import InvalidParams, ResourceNotFound, header_not_found

BLOCK_TAGS = ("latest", "earliest", "pending", "safe", "finalized")
MAX_UINT64 = 2**64 - 1


def expect(params: list, required: int, optional: int = 0) -> list:
    """Check arity like geth ("missing value for required argument N") and pad optional ones with None."""
    if len(params) < required:
        raise InvalidParams(f"missing value for required argument {len(params)}")
    if len(params) > required + optional:
        raise InvalidParams(f"too many arguments, want at most {required + optional}")
    return list(params) + [None] * (required + optional - len(params))


def show(value: object, limit: int = 40) -> str:
    """A short, safe rendering of a user value for error messages."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidParams(f"{name}: expected true or false, got {show(value)}")
    return value


def parse_u64(value: object, name: str) -> int:
    number = parse_quantity(value, name)
    if number > MAX_UINT64:
        raise InvalidParams(f"{name}: {number} does not fit in 64 bits")
    return number


def resolve_block_number(backend: RpcBackend, value: object, name: str = "block") -> int:
    """A block tag or number as a number (possibly above the head; callers decide what that means)."""
    if value is None or value == "latest" or value == "pending":
        return backend.store.head().block_number
    if isinstance(value, str) and not value.startswith(("0x", "0X")):
        if value == "earliest":
            return 0
        if value == "safe":
            return backend.safe_block_number()
        if value == "finalized":
            return backend.finalized_block_number()
        raise InvalidParams(
            f"unknown block tag '{show(value)}': use latest, earliest, pending, safe, finalized or a block number"
        )
    return parse_quantity(value, name)


def header_for_block_getter(backend: RpcBackend, value: object) -> BlockHeader | None:
    """Header for eth_getBlockByNumber & co.: a number above the head is `None` (geth returns null)."""
    number = resolve_block_number(backend, value)
    return backend.store.header_by_number(number) if number <= MAX_UINT64 else None


def _header_by_hash(backend: RpcBackend, block_hash: bytes, require_canonical: bool = False) -> BlockHeader:
    header = backend.store.header_by_hash(block_hash)
    if header is None:
        raise ResourceNotFound("header for hash not found")
    if require_canonical and backend.store.hash_by_number(header.block_number) != block_hash:
        raise ResourceNotFound("hash is not currently canonical")
    return header


def state_header(backend: RpcBackend, value: object) -> BlockHeader:
    """Header whose state a state method reads: a tag, a number, a block hash or an EIP-1898 object.

    A block above the head is -32001 "header not found", as geth answers.
    """
    if isinstance(value, dict):
        unknown = set(value) - {"blockHash", "blockNumber", "requireCanonical"}
        if unknown:
            raise InvalidParams(f"block: unknown field(s) {sorted(unknown)} in block object")
        if ("blockHash" in value) == ("blockNumber" in value):
            raise InvalidParams("block: a block object needs exactly one of blockHash or blockNumber")
        if "blockHash" in value:
            canonical = value.get("requireCanonical", False)
            return _header_by_hash(
                backend, parse_hash(value["blockHash"], "blockHash"), parse_bool(canonical, "requireCanonical")
            )
        value = value["blockNumber"]
    elif isinstance(value, str) and len(value) == 66 and value.startswith(("0x", "0X")):
        return _header_by_hash(backend, parse_hash(value, "block hash"))
    number = resolve_block_number(backend, value)
    header = backend.store.header_by_number(number) if number <= MAX_UINT64 else None
    if header is None:
        raise header_not_found()
    return header


def block_hash_or_number_header(backend: RpcBackend, value: object) -> BlockHeader | None:
    """eth_getBlockReceipts' argument: like `state_header` but an unknown block is `None` (null)."""
    try:
        return state_header(backend, value)
    except ResourceNotFound:
        return None


# -- call objects ------------------------------------------------------------------------------------
_CALL_FIELDS = {
    "from", "to", "gas", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas", "value", "data", "input", "nonce",
    "accessList", "type", "chainId",
}  # fmt: skip
# Fields geth knows that calls here cannot honour: refused by name rather than silently ignored.
_UNSUPPORTED_CALL_FIELDS = {
    "authorizationList": "set-code authorizations are not simulated by eth_call/eth_estimateGas yet",
    "blobVersionedHashes": "blob transactions are not accepted on L2",
    "maxFeePerBlobGas": "blob transactions are not accepted on L2",
    "blobs": "blob transactions are not accepted on L2",
    "commitments": "blob transactions are not accepted on L2",
    "proofs": "blob transactions are not accepted on L2",
}


def _optional_quantity(obj: dict, key: str) -> int | None:
    value = obj.get(key)
    return None if value is None else parse_quantity(value, key)


def parse_access_list(value: object) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidParams("accessList: expected a list of {address, storageKeys}")
    out = []
    for index, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise InvalidParams(f"accessList[{index}]: expected an object with address and storageKeys")
        keys = entry.get("storageKeys") or []
        if not isinstance(keys, list):
            raise InvalidParams(f"accessList[{index}].storageKeys: expected a list of 32-byte hashes")
        address = parse_address(entry.get("address"), f"accessList[{index}].address")
        slots = tuple(int.from_bytes(parse_hash(k, f"accessList[{index}].storageKeys"), "big") for k in keys)
        out.append((address, slots))
    return tuple(out)


def parse_call_request(value: object, chain_id: int) -> CallRequest:
    """A geth `TransactionArgs` object for eth_call / eth_estimateGas."""
    if not isinstance(value, dict):
        raise InvalidParams(f"transaction: expected a call object, got {show(value)}")
    for key, reason in _UNSUPPORTED_CALL_FIELDS.items():
        if value.get(key):  # null or empty is harmless: clients send "authorizationList": [] by default
            raise InvalidParams(f"transaction: {key} is not supported: {reason}")
    unknown = set(value) - _CALL_FIELDS - _UNSUPPORTED_CALL_FIELDS.keys()
    if unknown:
        raise InvalidParams(f"transaction: unknown field(s) {sorted(unknown)}")
    data, input_ = value.get("data"), value.get("input")
    if data is not None and input_ is not None and parse_data(data, "data") != parse_data(input_, "input"):
        raise InvalidParams(
            'both "data" and "input" are set and not equal. Please use "input" to pass transaction call data'
        )
    payload = input_ if input_ is not None else data
    gas_price = _optional_quantity(value, "gasPrice")
    max_fee = _optional_quantity(value, "maxFeePerGas")
    max_tip = _optional_quantity(value, "maxPriorityFeePerGas")
    if gas_price is not None and (max_fee is not None or max_tip is not None):
        raise InvalidParams("both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified")
    if max_fee is not None and max_tip is not None and max_tip > max_fee:
        raise InvalidParams(f"maxFeePerGas ({max_fee}) < maxPriorityFeePerGas ({max_tip})")
    if value.get("chainId") is not None and parse_quantity(value["chainId"], "chainId") != chain_id:
        raise InvalidParams(f"chainId does not match node's (have={parse_quantity(value['chainId'])}, want={chain_id})")
    to = value.get("to")
    gas = _optional_quantity(value, "gas")
    nonce = _optional_quantity(value, "nonce")
    return CallRequest(
        sender=ZERO_ADDRESS if value.get("from") is None else parse_address(value["from"], "from"),
        to=None if to is None else parse_address(to, "to"),
        gas=None if gas is None else min(gas, MAX_UINT64),
        gas_price=gas_price,
        max_fee_per_gas=max_fee,
        max_priority_fee_per_gas=max_tip,
        value=_optional_quantity(value, "value") or 0,
        data=b"" if payload is None else parse_data(payload, "input"),
        nonce=None if nonce is None else parse_u64(nonce, "nonce"),
        access_list=parse_access_list(value.get("accessList")),
    )


def _word(value: object, name: str) -> int:
    """A storage slot or value in an override: hex of at most 32 bytes (geth wants exactly 32; we pad)."""
    raw = parse_data(value, name)
    if len(raw) > 32:
        raise InvalidParams(f"{name}: longer than 32 bytes")
    return int.from_bytes(raw, "big")


def _storage(value: object, name: str) -> dict[int, int]:
    if not isinstance(value, dict):
        raise InvalidParams(f"{name}: expected an object of slot -> value")
    return {_word(slot, f"{name} slot"): _word(word, f"{name}[{show(slot)}]") for slot, word in value.items()}


def parse_overrides(value: object) -> dict[bytes, AccountOverride]:
    """geth's state override set: {address: {balance, nonce, code, state | stateDiff}}."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidParams("state overrides: expected an object of address -> override")
    overrides = {}
    for key, entry in value.items():
        address = parse_address(key, "state override address")
        label = f"state override {show(key)}"
        if not isinstance(entry, dict):
            raise InvalidParams(f"{label}: expected an object with balance, nonce, code, state or stateDiff")
        unknown = set(entry) - {"balance", "nonce", "code", "state", "stateDiff"}
        if unknown:
            raise InvalidParams(f"{label}: unsupported field(s) {sorted(unknown)}")
        if entry.get("state") is not None and entry.get("stateDiff") is not None:
            raise InvalidParams(f"{label}: has both 'state' and 'stateDiff'")
        balance, nonce, code = entry.get("balance"), entry.get("nonce"), entry.get("code")
        overrides[address] = AccountOverride(
            balance=None if balance is None else parse_quantity(balance, f"{label} balance"),
            nonce=None if nonce is None else parse_u64(nonce, f"{label} nonce"),
            code=None if code is None else parse_data(code, f"{label} code"),
            state=None if entry.get("state") is None else _storage(entry["state"], f"{label} state"),
            state_diff={} if entry.get("stateDiff") is None else _storage(entry["stateDiff"], f"{label} stateDiff"),
        )
    return overrides
