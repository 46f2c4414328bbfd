"""The `exec` execution prover: a stateless re-execution of the batch, attested by the prover's key.

`prove_execution(request, settings)` trusts nothing in the request but the parent roots it starts
from, and those only as far as the public input binds them (the aggregation checks they chain):

1. every state-manager trace is replayed on its Merkle paths, the account-tree roots chaining from
   `zkParentStateRootHash` through every block (each block starts at the previous block's end
   root) and each storage tree from the storage root of its account (`stateless_traces`);
2. the conflated trace file (`.lt`) the request names must hold exactly the request's blocks
   (headers and transactions equal to each `rlp`), chained by parent hash to its parent header,
   whose Patricia root is `keccakParentStateRootHash`;
3. the blocks are re-executed with the node's own engine and block builder on a pre-state built
   from the traces' proven values (`stateless_exec`): every account and slot the traces mention
   must hold the traced value before the block and the traced value after it; execution may touch
   nothing the traces do not cover; gas used, transactions root, receipts root and bloom must equal
   the header's;
4. each block's L2 message service logs (MessageSent, L1L2MessageHashesAddedToInbox,
   RollingHashUpdated) from the re-execution must equal its `bridgeLogs`.

The response has the shape of spec §4. Its `publicInput` is Linen's own (there is no circuit whose
public input it could be):

    publicInput = keccak256(
        keccak256("linen.execution.v1")
     || u256(l2ChainId)
     || keccakParentStateRootHash || zkParentStateRootHash || zkFinalStateRootHash
     || u256(firstBlockNumber) || u256(lastBlockNumber) || u256(lastBlockTimestamp)
     || keccak256(blockHash_1 || ... || blockHash_n)
     || keccak256(rootHash_1 || ... || rootHash_n)              zk root after each block
     || keccak256(msgHash_1 || ... || msgHash_m)                allL2L1MessageHashes, in order
     || keccak256(u256(number_1) || rollingHash_1 || ...)       allRollingHashEvent, in order
     || pad32(l2MessageServiceAddress))

and `proof` is the 65-byte signature (r || s || v, v in {27, 28}) of that hash, unprefixed, by
`settings.key`; `verifyingKeyShaSum` is sha256 of the signer's 20-byte address, the "verifying key"
of a signature. What this cannot yet check: the headers' Patricia state roots (the request carries
no Patricia witness, so only the parent's is bound, via the public input), the Clique seals, the
ancestor hashes older than the parent (BLOCKHASH inputs), and the trace-count limits.
"""

from __future__ import annotations

import hashlib
from typing import Any

from eth_account import Account
from eth_hash.auto import keccak

from linen import __version__
from linen.primitives.hexcodec import to_data
from linen.prover.backends.stateless_exec import StatelessState
from linen.prover.backends.stateless_inputs import (
    MESSAGE_SENT_TOPIC,
    ROLLING_HASH_UPDATED_TOPIC,
    TracesFileMissing,
    bridge_logs,
    check_bridge_logs,
    field,
    load_traces,
    service_address,
)
from linen.state.trace_replay import InvalidExecutionRequest, choose_hasher, hex_bytes, verify_traces

PUBLIC_INPUT_DOMAIN = keccak(b"linen.execution.v1")

__all__ = ["InvalidExecutionRequest", "TracesFileMissing", "execution_public_input", "prove_execution"]



def _u256(value: int) -> bytes:
    return value.to_bytes(32, "big")


# -- the response --------------------------------------------------------------------------------


def execution_public_input(
    chain_id: int,
    keccak_parent_root: bytes,
    zk_parent_root: bytes,
    blocks: list[dict],
    first_block: int,
    message_hashes: list[bytes],
    rolling_hash_events: list[tuple[int, bytes]],
    service: bytes,
) -> bytes:
    """The hash the `proof` signs (layout in the module docstring); `blocks` are response blocksData."""
    block_hashes = b"".join(bytes.fromhex(b["blockHash"][2:]) for b in blocks)
    roots = [bytes.fromhex(b["rootHash"][2:]) for b in blocks]
    preimage = b"".join(
        (
            PUBLIC_INPUT_DOMAIN,
            _u256(chain_id),
            keccak_parent_root,
            zk_parent_root,
            roots[-1],
            _u256(first_block),
            _u256(first_block + len(blocks) - 1),
            _u256(blocks[-1]["timestamp"]),
            keccak(block_hashes),
            keccak(b"".join(roots)),
            keccak(b"".join(message_hashes)),
            keccak(b"".join(_u256(n) + h for n, h in rolling_hash_events)),
            service.rjust(32, b"\x00"),
        )
    )
    return keccak(preimage)


def _sign(public_input: bytes, key: str) -> tuple[bytes, bytes]:
    """(65-byte r||s||v signature, signer address)."""
    if not key:
        raise InvalidExecutionRequest("the prover has no signing key (settings.key)")
    signed = Account.unsafe_sign_hash(public_input, key)
    signature = signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])
    return signature, bytes.fromhex(Account.from_key(key).address[2:])


def prove_execution(request: dict, settings: Any) -> dict:
    """Check the request by re-executing it statelessly; the spec §4 response, or InvalidExecutionRequest."""
    if not isinstance(request, dict):
        raise InvalidExecutionRequest("an execution request is a JSON object")
    zk_parent = hex_bytes(request, "zkParentStateRootHash", (32,))
    keccak_parent = hex_bytes(request, "keccakParentStateRootHash", (32,))
    blocks_data = field(request, "blocksData", list)
    proofs = field(request, "zkStateMerkleProof", list)
    if not blocks_data or len(proofs) != len(blocks_data):
        raise InvalidExecutionRequest(
            f"zkStateMerkleProof has {len(proofs)} blocks of traces for {len(blocks_data)} blocks"
        )
    service = service_address(request, settings)
    traces = load_traces(request, settings, blocks_data)
    if bytes(traces.parent_header.state_root) != keccak_parent:
        raise InvalidExecutionRequest("keccakParentStateRootHash is not the state root of the parent header")

    hasher = choose_hasher(getattr(settings, "state_hasher", None), zk_parent, proofs)
    witnesses = verify_traces(hasher, zk_parent, proofs, traces.start)
    if "zkEndStateRootHash" in request and hex_bytes(request, "zkEndStateRootHash", (32,)) != witnesses[-1].root:
        raise InvalidExecutionRequest("zkEndStateRootHash is not the root the traces end at")

    first_ancestor = traces.start - len(traces.ancestor_hashes)
    block_hashes = {first_ancestor + i: h for i, h in enumerate(traces.ancestor_hashes)}
    block_hashes.update({b.header.block_number: bytes(b.header.hash) for b in traces.blocks})
    state = StatelessState(hasher, traces.chain_id, traces.codes, block_hashes)

    response_blocks = []
    all_messages: list[bytes] = []
    all_rolling: list[tuple[int, bytes]] = []
    for block, witness, data in zip(traces.blocks, witnesses, blocks_data, strict=True):
        state.seed(witness)
        state.check(witness, after=False)
        executed = state.execute(block, witness)
        state.check(witness, after=True)
        logs = bridge_logs(executed, service)
        check_bridge_logs(witness.number, data, logs)
        messages = [log.topics[3] for log in logs if log.topics[0] == MESSAGE_SENT_TOPIC and len(log.topics) == 4]
        rolling = [
            (int.from_bytes(log.topics[1], "big"), log.topics[2])
            for log in logs
            if log.topics[0] == ROLLING_HASH_UPDATED_TOPIC and len(log.topics) == 3
        ]
        all_messages.extend(messages)
        all_rolling.extend(rolling)
        last_number, last_hash = rolling[-1] if rolling else (0, bytes(32))
        response_blocks.append(
            {
                "blockHash": to_data(bytes(block.header.hash)),
                "timestamp": block.header.timestamp,
                "rootHash": to_data(witness.root),
                "l2ToL1MsgHashes": [to_data(h) for h in messages],
                "lastRollingHashUpdatedEvent": {"messageNumber": last_number, "rollingHash": to_data(last_hash)},
            }
        )

    public_input = execution_public_input(
        traces.chain_id, keccak_parent, zk_parent, response_blocks, traces.start, all_messages, all_rolling, service
    )
    signature, signer = _sign(public_input, getattr(settings, "key", ""))
    response = {
        "proof": to_data(signature),
        "proverMode": "exec",
        "proverVersion": f"linen-{__version__}",
        "verifyingKeyShaSum": to_data(hashlib.sha256(signer).digest()),
        "signerAddress": to_data(signer),
        "blocksData": response_blocks,
        "parentStateRootHash": to_data(zk_parent),
        "keccakParentStateRootHash": to_data(keccak_parent),
        "firstBlockNumber": traces.start,
        "allRollingHashEvent": [{"messageNumber": n, "rollingHash": to_data(h)} for n, h in all_rolling],
        "allL2L1MessageHashes": [to_data(h) for h in all_messages],
        "publicInput": to_data(public_input),
        "chainID": traces.chain_id,
        "l2BridgeAddress": to_data(service),
        "tracesEngineVersion": traces.version,
        "type2StateManagerVersion": request.get("type2StateManagerVersion"),
    }
    if getattr(settings, "execution_proofs", "exec") == "exec":
        return response
    from linen.prover.backends.zk import add_zk_proof

    return add_zk_proof(request, settings, response)
