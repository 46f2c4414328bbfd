"""The state manager's JSON-RPC methods (Shomei's, plus `linen_getZkStateRoot`), and the node's trielog feed.

Handlers are `(manager, params) -> JSON-ready result`; `bind(manager)` turns them into the
`(backend, params)` handlers the node's dispatcher calls. Every refusal is an `InvalidInput`
subclass with a message saying what to fix, so a bad request never disturbs the service.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from linen.errors import InvalidParams, LimitExceeded, ResourceNotFound
from linen.primitives.hexcodec import parse_address, parse_data, parse_hash, parse_quantity, to_data
from linen.state.tree import empty_root
from linen.state_manager.service import StateManager, trielog_of_block

MAX_TRIELOG_RANGE = 256


class UnsupportedVersion(InvalidParams):
    rpc_data = "UNSUPPORTED_VERSION"


class BlockMissingInChain(ResourceNotFound):
    rpc_data = "BLOCK_MISSING_IN_CHAIN"



def _number(value: object, name: str) -> int:
    """A block number as Shomei takes it: decimal string, 0x string or JSON integer."""
    if isinstance(value, str) and value.isdigit():
        if len(value) > 20:
            raise InvalidParams(f"{name}: number too large")
        return int(value)
    number = parse_quantity(value, name)
    if number >= 2**63:
        raise InvalidParams(f"{name}: number too large")
    return number


def _object(params: list, name: str, length: int = 1) -> dict:
    if len(params) != length or not isinstance(params[0], dict):
        raise InvalidParams(f"{name} takes one object parameter")
    return params[0]


def _applied(manager: StateManager, number: int) -> None:
    head = manager.head
    if head is None or number > head:
        raise BlockMissingInChain(f"BLOCK_MISSING_IN_CHAIN - block {number} is missing (state manager head: {head})")


def get_zkevm_state_merkle_proof_v0(manager: StateManager, params: list) -> dict:
    request = _object(params, "rollup_getZkEVMStateMerkleProofV0")
    start = _number(request.get("startBlockNumber"), "startBlockNumber")
    end = _number(request.get("endBlockNumber"), "endBlockNumber")
    version = request.get("zkStateManagerVersion")
    if version not in (manager.version, "test"):
        raise UnsupportedVersion(
            f"UNSUPPORTED_VERSION - zkStateManagerVersion {str(version)[:40]!r} is not {manager.version!r}"
        )
    if end < start:
        raise InvalidParams(f"endBlockNumber {end} is below startBlockNumber {start}")
    if end - start + 1 > manager.max_proof_range:
        raise LimitExceeded(f"range of {end - start + 1} blocks exceeds the limit of {manager.max_proof_range}")
    _applied(manager, end)
    return {
        "zkParentStateRootHash": to_data(manager.zk_root(start - 1)),
        "zkEndStateRootHash": to_data(manager.zk_root(end)),
        "zkStateMerkleProof": [manager.traces_json(n) for n in range(start, end + 1)],
        "zkStateManagerVersion": manager.version,
    }


def get_zkevm_block_number(manager: StateManager, params: list) -> str:
    head = manager.head
    return "0x0" if head is None else hex(head)


def _slot(value: object) -> bytes:
    """A storage key: 0x-hex of at most 32 bytes (leading zeros optional), as a 32-byte slot."""
    if not isinstance(value, str) or not value.startswith("0x") or not 2 < len(value) <= 66:
        raise InvalidParams(f"storage key {str(value)[:80]!r} is not 0x-hex of at most 32 bytes")
    try:
        return int(value[2:], 16).to_bytes(32, "big")
    except ValueError:
        raise InvalidParams(f"storage key {value[:80]!r} is not valid hex") from None


def linea_get_proof(manager: StateManager, params: list) -> dict:
    if len(params) != 3:
        raise InvalidParams("linea_getProof takes [address, [storage keys], block]")
    address = parse_address(params[0], "address")
    if not isinstance(params[1], list):
        raise InvalidParams("storage keys must be an array")
    if len(params[1]) > 1024:
        raise LimitExceeded(f"{len(params[1])} storage keys exceed the limit of 1024")
    slots = [_slot(s) for s in params[1]]
    head = manager.head
    tag = params[2]
    if head is None:
        raise BlockMissingInChain("BLOCK_MISSING_IN_CHAIN - the state manager has not applied any block")
    number = (
        head
        if tag in ("latest", "pending", "safe")
        else (manager.finalized if tag == "finalized" else _number(tag, "block"))
    )
    if number != head:
        raise ResourceNotFound(
            f"linea_getProof is served at the state manager's head block {head} only, not at {number}"
        )
    with manager._lock:
        account = manager.world.account(address)
        result: dict[str, Any] = {"accountProof": manager.world.account_proof(address).to_json(), "storageProofs": []}
        if account is not None and account.storage_root != empty_root(manager.hasher.name):
            result["storageProofs"] = [manager.world.storage_proof(address, s).to_json() for s in slots]
    return result


def fork_choice_updated(manager: StateManager, params: list) -> bool:
    request = _object(params, "rollup_forkChoiceUpdated")
    number = _number(request.get("finalizedBlockNumber"), "finalizedBlockNumber")
    block_hash = parse_hash(request.get("finalizedBlockHash"), "finalizedBlockHash")
    manager.set_finalized(number, block_hash)
    return True


def send_raw_trielog(manager: StateManager, params: list) -> list[str]:
    if not params or len(params) > MAX_TRIELOG_RANGE:
        raise InvalidParams(f"state_sendRawTrieLog takes 1 to {MAX_TRIELOG_RANGE} trielog objects")
    outcomes = []
    for item in params:
        if not isinstance(item, dict):
            raise InvalidParams("each trielog is an object {blockNumber, blockHash, trieLog, syncing}")
        number = _number(item.get("blockNumber"), "blockNumber")
        block_hash = parse_hash(item.get("blockHash"), "blockHash")
        trielog = parse_data(item.get("trieLog"), "trieLog")
        outcomes.append(manager.accept_trielog(number, block_hash, trielog))
    return outcomes


def get_zk_state_root(manager: StateManager, params: list) -> dict:
    if len(params) != 1:
        raise InvalidParams("linen_getZkStateRoot takes [blockNumber]")
    number = manager.head if params[0] == "latest" else _number(params[0], "blockNumber")
    if number is None:
        raise BlockMissingInChain("BLOCK_MISSING_IN_CHAIN - the state manager has not applied any block")
    _applied(manager, number)
    block_hash = manager.block_hash(number)
    assert block_hash is not None
    return {"blockNumber": hex(number), "blockHash": to_data(block_hash), "zkStateRootHash": to_data(manager.zk_root(number))}


METHODS: dict[str, Callable[[StateManager, list], Any]] = {
    "rollup_getZkEVMStateMerkleProofV0": get_zkevm_state_merkle_proof_v0,
    "rollup_getZkEVMBlockNumber": get_zkevm_block_number,
    "linea_getProof": linea_get_proof,
    "rollup_forkChoiceUpdated": fork_choice_updated,
    "state_sendRawTrieLog": send_raw_trielog,
    "linen_getZkStateRoot": get_zk_state_root,
}


# These write the manager's state: served only on the authenticated local endpoint, never the public port.
WRITE_METHODS = frozenset({"rollup_forkChoiceUpdated", "state_sendRawTrieLog"})


def bind_split(manager: StateManager) -> tuple[dict[str, Callable[[Any, list], Any]], dict[str, Callable[[Any, list], Any]]]:
    """(public, write) handlers: the read methods for any port, the write methods for the local endpoint."""
    methods = bind(manager)
    return ({k: v for k, v in methods.items() if k not in WRITE_METHODS},
            {k: v for k, v in methods.items() if k in WRITE_METHODS})


def bind(manager: StateManager) -> dict[str, Callable[[Any, list], Any]]:
    """The methods as `(backend, params)` handlers for the node's registry (the backend is unused)."""
    return {name: (lambda _backend, params, h=handler: h(manager, params)) for name, handler in METHODS.items()}


# -- node side -----------------------------------------------------------------------------------


def shomei_get_trie_logs_by_range(store, alloc: Mapping[bytes, object], start: int, end: int) -> list[dict]:
    """What the node answers to `shomei_getTrieLogsByRange`: trielogs of sealed blocks in [start, end]."""
    if end < start:
        raise InvalidParams(f"toBlockNumber {end} is below fromBlockNumber {start}")
    if end - start + 1 > MAX_TRIELOG_RANGE:
        raise LimitExceeded(f"range of {end - start + 1} blocks exceeds the limit of {MAX_TRIELOG_RANGE}")
    out = []
    for number in range(start, end + 1):
        found = trielog_of_block(store, number, alloc)
        if found is None:
            break
        out.append({"blockNumber": hex(number), "blockHash": to_data(found[0]), "trieLog": to_data(found[1])})
    return out


def shomei_get_trie_logs_by_range_handler(store, alloc: Mapping[bytes, object]) -> Callable[[Any, list], list[dict]]:
    """A node registry handler; params `[from, to]` or `[{fromBlockNumber, toBlockNumber}]`."""

    def handler(_backend: Any, params: list) -> list[dict]:
        if len(params) == 1 and isinstance(params[0], dict):
            start, end = params[0].get("fromBlockNumber"), params[0].get("toBlockNumber")
        elif len(params) == 2:
            start, end = params
        else:
            raise InvalidParams("shomei_getTrieLogsByRange takes [fromBlockNumber, toBlockNumber]")
        return shomei_get_trie_logs_by_range(store, alloc, _number(start, "fromBlockNumber"), _number(end, "toBlockNumber"))

    return handler
