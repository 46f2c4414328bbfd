"""Validity proofs for the execution and aggregation backends (`[prover] execution-proofs = zk | auto`).

Execution: after the `exec` checks (traces replayed, blocks re-executed, which the zk response keeps,
so an aggregation may still attest over it), the batch's account tree is rebuilt from its traces
(`TracedTree`), its transfers are cut into segments of K (circuits/segment), each segment is proven
and the segments are merged pairwise to one proof: the response's `zkProof` (a `TreeProof`).

Aggregation: when every execution response it names holds a `zkProof`, their tops are merged (a
batch's running hash starts from 0, which the merge allows at a block boundary) and the root circuit
proves the finalization public input for the EVM, over at most 4 blobs. The root proof is checked by
L1's ZkRootVerifier (an eth_call to `prover.l1-rpc`) before it goes into the response: bb's own
`verify` cannot check proofs made under Linen's SRS (docs/zk-toolchain.md).
"""

from __future__ import annotations

import os
import shutil
from functools import lru_cache
from pathlib import Path

from linen.errors import ConfigError, InvalidInput
from linen.execution.transactions import decode_transaction
from linen.protocol.provable import why_not_provable_fields, why_not_provable_recipient
from linen.prover.backends.stateless_inputs import field, load_traces
from linen.prover.prove import InvalidProofRequest
from linen.state.trace_replay import choose_hasher, hex_bytes, verify_traces
from linen.zk.proof_tree import CIRCUITS, TreeProof, TreeProver
from linen.zk.segment_witness import BlockContext, NotProvableTransfer, Range, SegmentBuilder, join
from linen.zk.toolchain import ExecutionFailed, Toolchain, ToolchainError, UnsatisfiedWitness
from linen.zk.traced_tree import TracedTree

ZK_VERIFIER_INDEX = 1  # proof type of the ZkRootVerifier on L1
MAX_BLOBS = 4  # circuits/root MAX_BLOBS
VERIFY_ABI = [{"type": "function", "name": "Verify", "stateMutability": "view",
               "inputs": [{"name": "proof", "type": "bytes"}, {"name": "publicInputs", "type": "uint256[]"}],
               "outputs": [{"name": "", "type": "bool"}]}]


class ZkWitnessRefused(InvalidProofRequest):
    """The batch is outside what the circuits prove, or its witness does not satisfy them (exit 78)."""


def segment_size() -> int:
    """K of circuits/segment (its `global K`)."""
    text = (CIRCUITS / "segment" / "src" / "main.nr").read_text()
    marker = "global K: u32 = "
    start = text.index(marker) + len(marker)
    return int(text[start:text.index(";", start)])


def zk_dirs(settings) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    """(SRS directory, cache directory) under `prover.zk-dir`."""
    if settings.zk_dir is None:
        raise ConfigError("prover.zk-dir is not set: it holds the SRS (srs/) and the circuits' keys (cache/)")
    return Path(settings.zk_dir) / "srs", Path(settings.zk_dir) / "cache"


@lru_cache(maxsize=2)
def _tree_prover(zk_dir: str, threads: int) -> TreeProver:
    srs, cache = Path(zk_dir) / "srs", Path(zk_dir) / "cache"
    return TreeProver(Toolchain(cache, srs, threads=threads or None), Path(zk_dir) / "jobs" / str(os.getpid()))


def tree_prover(settings) -> TreeProver:  # type: ignore[no-untyped-def]
    zk_dirs(settings)
    try:
        return _tree_prover(str(settings.zk_dir), settings.zk_threads)
    except ToolchainError as exc:
        raise ConfigError(f"the zk toolchain cannot run: {exc}") from None


# -- execution ----------------------------------------------------------------------------------------------


def why_batch_not_provable(request: dict, settings) -> str | None:  # type: ignore[no-untyped-def]
    """Why the circuits cannot prove this batch (None: every transaction is a plain transfer)."""
    traces = load_traces(request, settings, field(request, "blocksData", list))
    for block in traces.blocks:
        coinbase = bytes(block.header.coinbase)
        for raw in block.transactions:
            tx = decode_transaction(raw, traces.chain_id, allow_unprotected=True)
            # the recipient's code is not read here: the circuit proves the recipient's leaf shows none
            reason = why_not_provable_fields(tx, traces.chain_id) or why_not_provable_recipient(tx, coinbase, b"")
            if reason:
                return f"block {block.header.block_number}, transaction 0x{tx.hash.hex()}: {reason}"
    return None


def prove_batch_tree(request: dict, settings) -> TreeProof:  # type: ignore[no-untyped-def]
    """The batch's segments proven and merged to one proof through the proof scheduler (every
    proof checked before it is used, proven jobs kept under `zk-dir/store`); ZkWitnessRefused if the
    batch cannot be proven."""
    prover = tree_prover(settings)
    segments = batch_segments(request, settings, segment_size(), prover.vk_hashes)
    return schedule_tree(settings, segments, [])


def schedule_tree(settings, segments: list, given: list[TreeProof]) -> TreeProof:  # type: ignore[no-untyped-def]
    """One proof of `segments` (statement, circuit inputs) or of `given` proofs (already made,
    merged in order), run on the executor `[prover] executor` names."""
    from linen.network.jobs import MERGE, SEGMENT, JobProof, JobStore, payload_job, tree_dag
    from linen.network.proofs import bb_spec, make_system
    from linen.network.scheduler import JobFailed, ProofScheduler
    from linen.network.service import dag_to_json
    from linen.network.tree_service import prove_remotely

    spec = bb_spec(settings.zk_dir, settings.zk_threads)
    system = make_system(spec)
    keys = system.keys()
    store = JobStore(Path(settings.zk_dir) / "store")
    payloads: dict = {}
    leaves = [payload_job(SEGMENT, keys[SEGMENT], statement.fields(), inputs, payloads, memory=SEGMENT_MEMORY)
              for statement, inputs in segments]
    given_proofs = []
    for proof in given:  # a proof made before (an execution's top) enters the tree as a done job
        kind = SEGMENT if proof.key.hash.lower() == keys[SEGMENT].lower() else MERGE
        job = payload_job(kind, proof.key.hash, proof.statement.fields(), {"given": proof.proof[:4]}, payloads,
                          memory=MERGE_MEMORY)
        given_proofs.append(JobProof(job.id, tuple(proof.proof), proof.key.hash, "given", proof.seconds))
        leaves.append(job)
    dag = tree_dag(leaves, payloads, keys[MERGE], MERGE_MEMORY, _join_fields)
    if getattr(settings, "executor", "local") == "network":  # `linen prover network` and its workers
        tree = {**dag_to_json(dag), "given": [p.to_json() for p in given_proofs]}
        try:
            top = prove_remotely(settings.network_admin, tree)
        except InvalidInput as exc:
            raise ZkWitnessRefused(f"no zk proof: {exc}") from None
        reason = system.verify(dag.jobs[dag.top], top)  # never trust the network's word for it
        if reason is not None:
            raise ZkWitnessRefused(f"the proof network's top proof is refused: {reason}")
    else:
        for proof in given_proofs:
            store.put_proof(proof)
        executor = tree_executor(settings, spec)
        try:
            top = ProofScheduler(store, system, executor).prove(dag)
        except JobFailed as exc:
            raise ZkWitnessRefused(f"no zk proof: {exc}") from None
        finally:
            executor.close()
    job = dag.jobs[dag.top]
    key = system.key(job.kind)  # type: ignore[attr-defined]
    return TreeProof(Range.from_fields(list(job.statement)), list(top.words), key, top.seconds)


SEGMENT_MEMORY = 2_500_000_000  # bytes: a K=16 segment peaks at 2.33 GB (bench/results/zk.json)
MERGE_MEMORY = 2_100_000_000  # a merge at 1.99 GB


def _join_fields(left: tuple, right: tuple) -> tuple:
    return tuple(join(Range.from_fields(list(left)), Range.from_fields(list(right))).fields())


def tree_executor(settings, spec: dict):  # type: ignore[no-untyped-def]
    from linen.network.executors import DaskExecutor, LocalExecutor

    workers = getattr(settings, "executor_workers", 1)
    if getattr(settings, "executor", "local") == "dask":
        if getattr(settings, "dask_scheduler", ""):
            return DaskExecutor(spec, address=settings.dask_scheduler)
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return DaskExecutor(spec, workers, memory=total // workers)
    return LocalExecutor(spec, workers)


def batch_segments(request: dict, settings, k: int, vk_hashes: tuple[int, int]) -> list:  # type: ignore[no-untyped-def]
    """The batch's segment statements and circuit inputs, built on the tree its traces rebuild; each
    block must end at the state manager's root. ZkWitnessRefused if the batch cannot be proven."""
    blocks_data = field(request, "blocksData", list)
    proofs = field(request, "zkStateMerkleProof", list)
    zk_parent = hex_bytes(request, "zkParentStateRootHash", (32,))
    traces = load_traces(request, settings, blocks_data)
    hasher = choose_hasher(getattr(settings, "state_hasher", None), zk_parent, proofs)
    witnesses = verify_traces(hasher, zk_parent, proofs, traces.start)
    state = TracedTree(hasher)
    builder: SegmentBuilder | None = None
    running = 0  # a batch's running transaction hash starts from 0
    segments = []
    root = zk_parent
    try:
        for block, block_traces, witness in zip(traces.blocks, proofs, witnesses, strict=True):
            header = block.header
            txs = [decode_transaction(raw, traces.chain_id, allow_unprotected=True) for raw in block.transactions]
            if not txs:
                raise ZkWitnessRefused(f"block {header.block_number} is empty: a segment proves 1 to {k} transfers")
            positions = state.absorb(header.block_number, root, block_traces)
            if builder is None:
                assert state.tree is not None
                builder = SegmentBuilder(state.tree, traces.chain_id, k)
            builder.insert_positions = positions
            context = BlockContext(header.block_number, header.timestamp, header.base_fee_per_gas or 0,
                                   bytes(header.coinbase), len(txs))
            for first in range(0, len(txs), k):
                statement, inputs = builder.segment(context, txs[first:first + k], first, running, vk_hashes)
                running = statement.tx_hash_end
                segments.append((statement, inputs))
            if builder.tree.root != witness.root:
                raise ZkWitnessRefused(
                    f"block {header.block_number}: the transfers end at root 0x{builder.tree.root.hex()}, "
                    f"the state manager's is 0x{witness.root.hex()} (the block does more than its transfers)")
            root = witness.root
        return segments
    except NotProvableTransfer as exc:
        raise ZkWitnessRefused(f"no zk proof: {exc}") from None
    except InvalidInput as exc:
        if isinstance(exc, InvalidProofRequest):
            raise
        raise ZkWitnessRefused(f"no zk proof: {exc}") from None


def add_zk_proof(request: dict, settings, response: dict) -> dict:  # type: ignore[no-untyped-def]
    """`response` (the exec one) with the batch's tree proof, when `execution-proofs` asks for one."""
    mode = getattr(settings, "execution_proofs", "exec")
    if mode == "exec":
        return response
    reason = why_batch_not_provable(request, settings)
    if reason is not None:
        if mode == "auto":
            return response
        raise ZkWitnessRefused(f"the batch is not all plain transfers: {reason}")
    top = prove_batch_tree(request, settings)
    return {**response, "proverMode": "zk", "zkProof": top.to_json()}


# -- aggregation --------------------------------------------------------------------------------------------


def _word(data: dict, key: str) -> bytes:
    return hex_bytes(data, key, (32,))


def _blob_input(snark_hash: bytes, final_root: bytes, x: bytes, y: bytes) -> dict:
    return {"snark_hash": [str(b) for b in snark_hash], "final_state_root": "0x" + final_root.hex(),
            "x": [str(b) for b in x], "y": [str(b) for b in y]}


def _blob_fields(data: dict) -> tuple[bytes, bytes, bytes, bytes]:
    return _word(data, "snarkHash"), _word(data, "finalStateRootHash"), _word(data, "expectedX"), _word(data, "expectedY")


def parent_shnarf_preimage(parent_shnarf: bytes, parent_root: bytes, compression_dir: Path) -> tuple[bytes, tuple]:
    """(parent of the last finalized shnarf, its blob's (snarkHash, root, x, y)): the genesis shnarf's
    zeros, or the fields of the compression response whose expectedShnarf it is."""
    from linen.protocol.shnarf import compute_shnarf
    from linen.prover.files import ProofKind, parse_response_name, read_json

    zero = bytes(32)
    if compute_shnarf(zero, zero, parent_root, zero, zero) == parent_shnarf:
        return zero, (zero, parent_root, zero, zero)
    for path in sorted(compression_dir.glob("*.json")):
        named = parse_response_name(path.name, ProofKind.COMPRESSION)
        if named is None or (named.hash or "").lower() != parent_shnarf.hex():
            continue
        data = read_json(path)
        fields = _blob_fields(data)
        prev = _word(data, "prevShnarf")
        if compute_shnarf(prev, *fields) == parent_shnarf:
            return prev, fields
    raise ZkWitnessRefused(f"no compression response opens the last finalized shnarf 0x{parent_shnarf.hex()}")


def why_aggregation_not_provable(fields: dict, executions: list[dict], blob_count: int) -> str | None:
    if not all(isinstance(e.get("zkProof"), dict) for e in executions):
        return "an execution proof of the range has no zk proof"
    if blob_count > MAX_BLOBS:
        return f"{blob_count} blobs, the root circuit takes at most {MAX_BLOBS}"
    if fields["l2MerkleRoots"]:
        return "L2-to-L1 messages (the circuits do not prove bridge messages)"
    if (fields["l1RollingHash"], fields["l1RollingHashMessageNumber"]) != (
            fields["lastFinalizedL1RollingHash"], fields["lastFinalizedL1RollingHashMessageNumber"]):
        return "L1-to-L2 messages (the circuits do not prove bridge messages)"
    return None


def prove_root(settings, fields: dict, public_input: int, executions: list[dict], blobs: list[dict],  # type: ignore[no-untyped-def]
               compression_dir: Path) -> bytes:
    """The root proof of the aggregation, checked by L1's zk verifier; ZkWitnessRefused if it cannot be made."""
    prover = tree_prover(settings)
    top = schedule_tree(settings, [], [TreeProof.from_json(e["zkProof"]) for e in executions])
    try:
        parent_root = _word(fields, "parentStateRootHash")
        prev, parent_blob = parent_shnarf_preimage(_word(fields, "parentAggregationFinalShnarf"), parent_root,
                                                   compression_dir)
        padding = _blob_input(bytes(32), bytes(32), bytes(32), bytes(32))
        inputs = {
            "public_input": hex(public_input),
            "parent_shnarf_parent": [str(b) for b in prev],
            "parent_blob": _blob_input(*parent_blob),
            "blobs": [_blob_input(*_blob_fields(b)) for b in blobs] + [padding] * (MAX_BLOBS - len(blobs)),
            "blob_count": str(len(blobs)),
            "last_finalized_timestamp": hex(int(fields["parentAggregationLastBlockTimestamp"])),
            "last_finalized_block_number": hex(int(fields["lastFinalizedBlockNumber"])),
            "l1_rolling_hash": [str(b) for b in _word(fields, "l1RollingHash")],
            "l1_rolling_hash_message_number": hex(int(fields["l1RollingHashMessageNumber"])),
            "l2_merkle_trees_depth": hex(int(fields["l2MerkleTreesDepth"])),
        }
        proof, public, _ = prover.prove_root(top, inputs)
    except (ExecutionFailed, UnsatisfiedWitness, InvalidInput) as exc:
        if isinstance(exc, InvalidProofRequest):
            raise
        raise ZkWitnessRefused(f"no root proof: {exc}") from None
    finally:
        shutil.rmtree(prover.work_dir, ignore_errors=True)
    expected = [public_input, *prover.vk_hashes, top.statement.chain_id]
    if [int(x, 16) for x in public] != expected:
        raise ZkWitnessRefused("the root proof's public inputs are not the aggregation's")
    check_on_l1(settings, proof, public_input)
    return proof


def check_on_l1(settings, proof: bytes, public_input: int) -> None:  # type: ignore[no-untyped-def]
    """eth_call of L1's ZkRootVerifier: a proof it refuses is never sent (bb's verify cannot check it)."""
    from web3 import Web3
    from web3.exceptions import ContractLogicError

    if not settings.l1_rpc or not settings.zk_verifier_address:
        raise ConfigError("prover.l1-rpc and prover.zk-verifier-address are needed to check a root proof")
    w3 = Web3(Web3.HTTPProvider(settings.l1_rpc, request_kwargs={"timeout": 60}))
    contract = w3.eth.contract(address=Web3.to_checksum_address(settings.zk_verifier_address), abi=VERIFY_ABI)
    try:
        ok = contract.functions.Verify(proof, [public_input]).call()
    except ContractLogicError:  # a revert: bb's verifier's custom errors (SumcheckFailed, ...)
        ok = False
    if not ok:
        raise ZkWitnessRefused("L1's zk verifier refuses the root proof: it is not sent")
