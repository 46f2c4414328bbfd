"""Chain identity, account state, calls and transaction submission (eth_, net_, web3_).

State methods read the state of the block a tag names; "pending" means the latest sealed block
(the sequencer seals continuously, so no separate pending state is kept), except for
eth_getTransactionCount, where "pending" counts the sender's pooled transactions as wallets expect.
"""

from __future__ import annotations

from dataclasses import replace

from eth_hash.auto import keccak

from linen.errors import ExecutionReverted, InvalidParams
from linen.execution.types import CallResult
from linen.primitives.hexcodec import parse_address, parse_data, parse_quantity
from linen.rpc.backend import RpcBackend
from linen.rpc.errors import ServerError
from linen.rpc.format import d, q, word
from linen.rpc.params import expect, parse_call_request, parse_overrides, state_header


# -- identity --------------------------------------------------------------------------------------
def eth_chain_id(backend: RpcBackend, params: list) -> str:
    expect(params, 0)
    return q(backend.chain_id)


def net_version(backend: RpcBackend, params: list) -> str:
    expect(params, 0)
    return str(backend.chain_id)


def web3_client_version(backend: RpcBackend, params: list) -> str:
    expect(params, 0)
    return backend.client_version


def web3_sha3(backend: RpcBackend, params: list) -> str:
    (value,) = expect(params, 1)
    return d(keccak(parse_data(value, "data")))


def eth_block_number(backend: RpcBackend, params: list) -> str:
    expect(params, 0)
    return q(backend.store.head().block_number)


def _constant(value: object, name: str):
    """A method with no parameters and a fixed answer (a sequencer does not sync, mine or hold keys)."""

    def handler(backend: RpcBackend, params: list) -> object:
        expect(params, 0)
        return value

    handler.__name__ = handler.__qualname__ = name
    return handler


# -- state -----------------------------------------------------------------------------------------
def eth_get_balance(backend: RpcBackend, params: list) -> str:
    address, block = expect(params, 1, 1)
    address_bytes = parse_address(address, "address")
    return q(backend.engine.get_balance(address_bytes, state_header(backend, block)))


def eth_get_code(backend: RpcBackend, params: list) -> str:
    address, block = expect(params, 1, 1)
    address_bytes = parse_address(address, "address")
    return d(backend.engine.get_code(address_bytes, state_header(backend, block)))


def eth_get_storage_at(backend: RpcBackend, params: list) -> str:
    address, slot, block = expect(params, 2, 1)
    address_bytes = parse_address(address, "address")
    slot_number = parse_quantity(slot, "storage slot")
    if slot_number >= 2**256:
        raise InvalidParams("storage slot: larger than 32 bytes")
    return word(backend.engine.get_storage(address_bytes, slot_number, state_header(backend, block)))


def eth_get_transaction_count(backend: RpcBackend, params: list) -> str:
    address, block = expect(params, 1, 1)
    address_bytes = parse_address(address, "address")
    if block == "pending":
        return q(backend.pool.next_nonce(address_bytes))
    return q(backend.engine.get_nonce(address_bytes, state_header(backend, block)))


# -- calls -----------------------------------------------------------------------------------------
def _is_revert(result: CallResult) -> bool:
    """Whether a failed call hit REVERT. py-evm's `Revert` carries the output as its argument, so its
    text is the repr of bytes; other failures (out of gas, invalid opcode) read as words."""
    error = result.error or ""
    return error.startswith(("b'", 'b"')) or "revert" in error.lower()


def _raise_failure(result: CallResult) -> None:
    if _is_revert(result):
        raise ExecutionReverted("execution reverted", result.return_data)
    raise ServerError(result.error or "execution failed")


def eth_call(backend: RpcBackend, params: list) -> str:
    tx, block, overrides = expect(params, 1, 2)
    request = parse_call_request(tx, backend.chain_id)
    override_set = parse_overrides(overrides)
    # geth's RPC gas cap bounds the cost; the dispatcher's EVM timeout bounds the time
    result = backend.engine.call(request, state_header(backend, block), override_set, backend.limits.gas_cap)
    if not result.success:
        _raise_failure(result)
    return d(result.return_data)


def eth_estimate_gas(backend: RpcBackend, params: list) -> str:
    tx, block, overrides = expect(params, 1, 2)
    request = parse_call_request(tx, backend.chain_id)
    override_set = parse_overrides(overrides)
    header = state_header(backend, block)
    try:
        return q(backend.engine.estimate_gas(request, header, override_set, backend.limits.gas_cap))
    except InvalidParams:
        # The engine words every failure at the gas cap as "gas required exceeds allowance"; re-run
        # once at the cap to tell a REVERT (code 3 with its data, which wallets show) from the rest.
        cap = min(request.gas or header.gas_limit, header.gas_limit, backend.limits.gas_cap)
        result = backend.engine.call(replace(request, gas=cap), header, override_set, backend.limits.gas_cap)
        if not result.success and _is_revert(result):
            raise ExecutionReverted("execution reverted", result.return_data) from None
        raise


def eth_send_raw_transaction(backend: RpcBackend, params: list) -> str:
    (value,) = expect(params, 1)
    raw = parse_data(value, "raw transaction")
    return d(backend.submit_raw_transaction(raw))


METHODS = {
    "eth_chainId": eth_chain_id,
    "net_version": net_version,
    "net_listening": _constant(True, "net_listening"),
    "net_peerCount": _constant("0x0", "net_peerCount"),
    "web3_clientVersion": web3_client_version,
    "web3_sha3": web3_sha3,
    "eth_blockNumber": eth_block_number,
    "eth_syncing": _constant(False, "eth_syncing"),
    "eth_accounts": _constant([], "eth_accounts"),
    "eth_mining": _constant(True, "eth_mining"),
    "eth_hashrate": _constant("0x0", "eth_hashrate"),
    "eth_getBalance": eth_get_balance,
    "eth_getCode": eth_get_code,
    "eth_getStorageAt": eth_get_storage_at,
    "eth_getTransactionCount": eth_get_transaction_count,
    "eth_call": eth_call,
    "eth_estimateGas": eth_estimate_gas,
    "eth_sendRawTransaction": eth_send_raw_transaction,
}
