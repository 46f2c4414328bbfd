"""Aggregation backend: check that proven batches and blobs form one unbroken chain, then attest it.

An aggregation is what L1 finalizes: a run of consecutive execution proofs (state transitions,
block by block) and compression proofs (the blobs that published those blocks). Each proof is only
meaningful as a link in the chain, so before anything is signed this backend checks every link —
block numbers, state roots, shnarfs, data hashes — and that the blobs publish exactly the blocks the
executions prove. From the chain it builds the aggregation response of spec §4 (the fields
finalizeBlocks takes), computes the finalization public input with the protocol function, and
proves it with an attestation: the prover key's signature that the AttestationVerifier checks on L1
(proof type 0). A broken link is an `InvalidAggregation` naming the two files that do not fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linen import __version__
from linen.errors import ConfigError
from linen.primitives.hexcodec import to_data
from linen.primitives.types import Hash32
from linen.protocol.attestation import sign_attestation
from linen.protocol.messaging import (
    L2_MESSAGE_TREE_DEPTH,
    build_l2_message_trees,
    encode_l2_messaging_blocks_offsets,
)
from linen.protocol.public_input import FinalizationPublicInputFields, compute_public_input
from linen.protocol.shnarf import compute_shnarf, compute_x
from linen.prover.files import ProofKind, kind_folders, parse_response_name, read_json
from linen.prover.prove import InvalidProofRequest, MissingTraces
from linen.prover.settings import ProverSettings

ATTESTATION_VERIFIER_INDEX = 0  # proof type of the AttestationVerifier on L1
ZERO_HASH = bytes(32)


class InvalidAggregation(InvalidProofRequest):
    """The proofs named by an aggregation request do not form one chain (exit 78)."""


class MissingProofResponse(MissingTraces):
    """A proof the aggregation names has no response file (yet) (exit 79)."""


# --- reading fields ---------------------------------------------------------------------------------------


def _field(data: dict, key: str, where: str) -> Any:
    if not isinstance(data, dict) or key not in data:
        raise InvalidAggregation(f"{where}: missing field {key}")
    return data[key]


def _hash(value: Any, where: str) -> bytes:
    if isinstance(value, str) and value[:2] in ("0x", "0X"):
        try:
            raw = bytes.fromhex(value[2:])
        except ValueError:
            raw = b""
        if len(raw) == 32:
            return raw
    raise InvalidAggregation(f"{where}: expected a 0x-prefixed 32-byte hex string, got {value!r}")


def _int(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        try:
            number = int(value, 0)
        except ValueError:
            number = -1
        if number >= 0:
            return number
    raise InvalidAggregation(f"{where}: expected a non-negative integer, got {value!r}")



@dataclass(frozen=True)
class Block:
    number: int
    timestamp: int
    root: bytes
    l2_to_l1_hashes: tuple[bytes, ...]
    rolling_hash_event: tuple[int, bytes] | None  # (message number, rolling hash) of its last anchoring


@dataclass(frozen=True)
class ExecutionProof:
    name: str
    parent_root: bytes
    blocks: tuple[Block, ...]

    @property
    def first(self) -> int:
        return self.blocks[0].number

    @property
    def last(self) -> int:
        return self.blocks[-1].number

    @property
    def final_root(self) -> bytes:
        return self.blocks[-1].root


@dataclass(frozen=True)
class CompressionProof:
    name: str
    start: int
    end: int
    prev_shnarf: bytes
    shnarf: bytes
    parent_root: bytes
    final_root: bytes
    parent_data_hash: bytes
    data_hash: bytes


def read_execution_proof(name: str, data: dict) -> ExecutionProof:
    """The fields of an execution response the aggregation depends on, checked for shape."""
    first = _int(_field(data, "firstBlockNumber", name), f"{name}: firstBlockNumber")
    parent_root = _hash(_field(data, "parentStateRootHash", name), f"{name}: parentStateRootHash")
    blocks_data = _field(data, "blocksData", name)
    if not isinstance(blocks_data, list) or not blocks_data:
        raise InvalidAggregation(f"{name}: blocksData must be a non-empty list")
    blocks = []
    for i, block in enumerate(blocks_data):
        where = f"{name}: blocksData[{i}]"
        hashes = _field(block, "l2ToL1MsgHashes", where) or []
        if not isinstance(hashes, list):
            raise InvalidAggregation(f"{where}: l2ToL1MsgHashes must be a list")
        event = block.get("lastRollingHashUpdatedEvent")
        rolling = None
        if event:
            number = _int(_field(event, "messageNumber", where), f"{where}: messageNumber")
            if number:
                rolling = (number, _hash(_field(event, "rollingHash", where), f"{where}: rollingHash"))
        blocks.append(
            Block(
                number=first + i,
                timestamp=_int(_field(block, "timestamp", where), f"{where}: timestamp"),
                root=_hash(_field(block, "rootHash", where), f"{where}: rootHash"),
                l2_to_l1_hashes=tuple(_hash(h, f"{where}: l2ToL1MsgHashes[{j}]") for j, h in enumerate(hashes)),
                rolling_hash_event=rolling,
            )
        )
    proof = ExecutionProof(name, parent_root, tuple(blocks))
    named = parse_response_name(name, ProofKind.EXECUTION)
    if named is not None and (named.start, named.end) != (proof.first, proof.last):
        raise InvalidAggregation(f"{name}: the file covers blocks {proof.first}-{proof.last}, not its name's range")
    if "allL2L1MessageHashes" in data:
        listed = data["allL2L1MessageHashes"] or []
        if not isinstance(listed, list):
            raise InvalidAggregation(f"{name}: allL2L1MessageHashes must be a list")
        listed = [_hash(h, f"{name}: allL2L1MessageHashes[{j}]") for j, h in enumerate(listed)]
        if listed != [h for block in blocks for h in block.l2_to_l1_hashes]:
            raise InvalidAggregation(f"{name}: allL2L1MessageHashes differ from its blocks' l2ToL1MsgHashes")
    return proof


def read_compression_proof(name: str, data: dict) -> CompressionProof:
    """The fields of a compression response the aggregation depends on; the blob's own shnarf is checked."""
    order = _field(data, "conflationOrder", name)
    boundaries = _field(order, "upperBoundaries", f"{name}: conflationOrder")
    if not isinstance(boundaries, list) or not boundaries:
        raise InvalidAggregation(f"{name}: conflationOrder.upperBoundaries must be a non-empty list")
    start = _int(_field(order, "startingBlockNumber", f"{name}: conflationOrder"), f"{name}: startingBlockNumber")
    end = _int(boundaries[-1], f"{name}: upperBoundaries[-1]")
    if end < start:
        raise InvalidAggregation(f"{name}: conflationOrder ends at {end} before it starts at {start}")

    def word(key: str) -> bytes:
        return _hash(_field(data, key, name), f"{name}: {key}")

    proof = CompressionProof(
        name=name,
        start=start,
        end=end,
        prev_shnarf=word("prevShnarf"),
        shnarf=word("expectedShnarf"),
        parent_root=word("parentStateRootHash"),
        final_root=word("finalStateRootHash"),
        parent_data_hash=word("parentDataHash"),
        data_hash=word("dataHash"),
    )
    snark_hash, x, y = word("snarkHash"), word("expectedX"), word("expectedY")
    if compute_x(snark_hash, proof.data_hash) != x:
        raise InvalidAggregation(f"{name}: expectedX is not keccak(snarkHash || dataHash)")
    if compute_shnarf(proof.prev_shnarf, snark_hash, proof.final_root, x, y) != proof.shnarf:
        raise InvalidAggregation(f"{name}: expectedShnarf does not match the blob's own fields")
    named = parse_response_name(name, ProofKind.COMPRESSION)
    if named is not None and (named.start, named.end) != (start, end):
        raise InvalidAggregation(f"{name}: the file covers blocks {start}-{end}, not its name's range")
    if named is not None and named.hash and named.hash.lower() != proof.shnarf.hex():
        raise InvalidAggregation(f"{name}: the name's shnarf is not the file's expectedShnarf")
    return proof


# --- the chain --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParentAggregation:
    """What the request says about the last finalized aggregation (L1's view before this one)."""

    last_block_timestamp: int
    l1_rolling_hash_message_number: int
    l1_rolling_hash: bytes


def read_parent(request: dict) -> ParentAggregation:
    where = "aggregation request"
    return ParentAggregation(
        last_block_timestamp=_int(_field(request, "parentAggregationLastBlockTimestamp", where), f"{where}: timestamp"),
        l1_rolling_hash_message_number=_int(
            _field(request, "parentAggregationLastL1RollingHashMessageNumber", where),
            f"{where}: parentAggregationLastL1RollingHashMessageNumber",
        ),
        l1_rolling_hash=_hash(
            _field(request, "parentAggregationLastL1RollingHash", where), f"{where}: parentAggregationLastL1RollingHash"
        ),
    )


def check_chain(executions: Sequence[ExecutionProof], blobs: Sequence[CompressionProof]) -> None:
    """Refuse unless the executions and the blobs are each contiguous and cover the same blocks and roots."""
    if not executions or not blobs:
        raise InvalidAggregation("an aggregation needs at least one execution proof and one compression proof")
    for previous, proof in zip(executions, executions[1:], strict=False):
        if proof.first != previous.last + 1:
            raise InvalidAggregation(
                f"execution proofs {previous.name} and {proof.name} are not contiguous: "
                f"the first ends at block {previous.last}, the second starts at {proof.first}"
            )
        if proof.parent_root != previous.final_root:
            raise InvalidAggregation(
                f"execution proofs {previous.name} and {proof.name} do not chain: final state root "
                f"{to_data(previous.final_root)} is not the next parentStateRootHash {to_data(proof.parent_root)}"
            )
    for previous, blob in zip(blobs, blobs[1:], strict=False):
        link = f"compression proofs {previous.name} and {blob.name}"
        if blob.start != previous.end + 1:
            raise InvalidAggregation(
                f"{link} are not contiguous: the first ends at block {previous.end}, the second starts at {blob.start}"
            )
        if blob.prev_shnarf != previous.shnarf:
            raise InvalidAggregation(f"{link} do not chain: prevShnarf is not the previous expectedShnarf")
        if blob.parent_root != previous.final_root:
            raise InvalidAggregation(f"{link} do not chain: parentStateRootHash is not the previous finalStateRootHash")
        if blob.parent_data_hash != previous.data_hash:
            raise InvalidAggregation(f"{link} do not chain: parentDataHash is not the previous dataHash")
    first, last = executions[0], executions[-1]
    if blobs[0].start != first.first or blobs[-1].end != last.last:
        raise InvalidAggregation(
            f"the blobs cover blocks {blobs[0].start}-{blobs[-1].end} but the executions prove {first.first}-{last.last}"
        )
    if blobs[0].parent_root != first.parent_root:
        raise InvalidAggregation(
            f"{blobs[0].name} starts from state root {to_data(blobs[0].parent_root)} but {first.name} "
            f"from {to_data(first.parent_root)}"
        )
    roots = {block.number: (proof, block.root) for proof in executions for block in proof.blocks}
    for blob in blobs:
        proof, root = roots[blob.end]
        if blob.final_root != root:
            raise InvalidAggregation(
                f"{blob.name} ends at block {blob.end} with state root {to_data(blob.final_root)} but {proof.name} "
                f"proves {to_data(root)} there"
            )


def _blocks(executions: Sequence[ExecutionProof]) -> list[tuple[ExecutionProof, Block]]:
    return [(proof, block) for proof in executions for block in proof.blocks]


def _check_timestamps(executions: Sequence[ExecutionProof], parent: ParentAggregation) -> None:
    previous = parent.last_block_timestamp
    for proof, block in _blocks(executions):
        if block.timestamp < previous:
            raise InvalidAggregation(
                f"{proof.name}: block {block.number} has timestamp {block.timestamp}, before the previous {previous}"
            )
        previous = block.timestamp


def _final_rolling_hash(executions: Sequence[ExecutionProof], parent: ParentAggregation) -> tuple[int, bytes]:
    """The last L1→L2 anchoring in the aggregation, else the parent's values."""
    number, rolling_hash = parent.l1_rolling_hash_message_number, parent.l1_rolling_hash
    for proof, block in _blocks(executions):
        if block.rolling_hash_event is None:
            continue
        event_number, event_hash = block.rolling_hash_event
        if event_number <= number:
            raise InvalidAggregation(
                f"{proof.name}: block {block.number} anchors L1 message {event_number}, not after {number}"
            )
        number, rolling_hash = event_number, event_hash
    return number, rolling_hash


def build_aggregation_fields(
    executions: Sequence[ExecutionProof], blobs: Sequence[CompressionProof], parent: ParentAggregation
) -> dict[str, Any]:
    """The aggregation response of spec §4, minus the proof and public input (see prove_aggregation)."""
    check_chain(executions, blobs)
    _check_timestamps(executions, parent)
    number, rolling_hash = _final_rolling_hash(executions, parent)
    blocks = _blocks(executions)
    first_block = executions[0].first
    message_hashes = [h for _, block in blocks for h in block.l2_to_l1_hashes]
    with_messages = [block.number for _, block in blocks if block.l2_to_l1_hashes]
    return {
        "finalShnarf": to_data(blobs[-1].shnarf),
        "parentAggregationFinalShnarf": to_data(blobs[0].prev_shnarf),
        "dataHashes": [to_data(blob.data_hash) for blob in blobs],
        "dataParentHash": to_data(blobs[0].parent_data_hash),
        "finalStateRootHash": to_data(blobs[-1].final_root),
        "parentStateRootHash": to_data(executions[0].parent_root),
        "parentAggregationLastBlockTimestamp": parent.last_block_timestamp,
        "lastFinalizedBlockNumber": first_block - 1,
        "finalTimestamp": blocks[-1][1].timestamp,
        "finalBlockNumber": executions[-1].last,
        "lastFinalizedL1RollingHash": to_data(parent.l1_rolling_hash),
        "l1RollingHash": to_data(rolling_hash),
        "lastFinalizedL1RollingHashMessageNumber": parent.l1_rolling_hash_message_number,
        "l1RollingHashMessageNumber": number,
        # the same parent values under the names 2025 prover files use
        "parentAggregationLastL1RollingHash": to_data(parent.l1_rolling_hash),
        "parentAggregationLastL1RollingHashMessageNumber": parent.l1_rolling_hash_message_number,
        "l2MerkleRoots": [to_data(root) for root in build_l2_message_trees(message_hashes, L2_MESSAGE_TREE_DEPTH)],
        "l2MerkleTreesDepth": L2_MESSAGE_TREE_DEPTH,
        "l2MessagingBlocksOffsets": to_data(encode_l2_messaging_blocks_offsets(first_block, with_messages)),
    }


def public_input_fields(response: dict) -> FinalizationPublicInputFields:
    """The finalization public input's fields as an aggregation response states them.

    Accepts both names of the parent rolling-hash values (`lastFinalizedL1RollingHash…` and the 2025
    `parentAggregationLastL1RollingHash…`).
    """
    where = "aggregation response"

    def pick(*keys: str) -> Any:
        for key in keys:
            if key in response:
                return response[key]
        raise InvalidAggregation(f"{where}: missing field {keys[0]}")

    def word(*keys: str) -> Hash32:
        return Hash32(_hash(pick(*keys), f"{where}: {keys[0]}"))

    def number(*keys: str) -> int:
        return _int(pick(*keys), f"{where}: {keys[0]}")

    roots = pick("l2MerkleRoots") or []
    return FinalizationPublicInputFields(
        last_finalized_shnarf=word("parentAggregationFinalShnarf"),
        final_shnarf=word("finalShnarf"),
        last_finalized_timestamp=number("parentAggregationLastBlockTimestamp"),
        final_timestamp=number("finalTimestamp"),
        last_finalized_block_number=number("lastFinalizedBlockNumber"),
        end_block_number=number("finalBlockNumber"),
        last_finalized_l1_rolling_hash=word("lastFinalizedL1RollingHash", "parentAggregationLastL1RollingHash"),
        l1_rolling_hash=word("l1RollingHash"),
        last_finalized_l1_rolling_hash_message_number=number(
            "lastFinalizedL1RollingHashMessageNumber", "parentAggregationLastL1RollingHashMessageNumber"
        ),
        l1_rolling_hash_message_number=number("l1RollingHashMessageNumber"),
        l2_merkle_trees_depth=number("l2MerkleTreesDepth"),
        l2_merkle_roots=tuple(Hash32(_hash(root, f"{where}: l2MerkleRoots[{i}]")) for i, root in enumerate(roots)),
    )


def response_public_input(response: dict) -> int:
    return compute_public_input(public_input_fields(response))


# --- the backend ------------------------------------------------------------------------------------------


def _names(request: dict, key: str, kind: ProofKind) -> list[str]:
    names = _field(request, key, "aggregation request")
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise InvalidAggregation(f"aggregation request: {key} must be a list of file names")
    for name in names:
        if parse_response_name(name, kind) is None:
            raise InvalidAggregation(f"aggregation request: {name!r} in {key} is not a {kind.value} response name")
    return names


def _load(folder: Path, name: str) -> dict:
    try:
        data = read_json(folder / name)
    except FileNotFoundError:
        raise MissingProofResponse(f"{name} is not in {folder}") from None
    except ValueError as exc:
        raise InvalidAggregation(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidAggregation(f"{name}: a response is a JSON object")
    return data


def _check_settings(settings: ProverSettings) -> str:
    if not settings.key:
        raise ConfigError("prover.key is not set: the aggregation backend signs its attestation with it")
    if settings.l1_chain_id <= 0:
        raise ConfigError("prover.l1-chain-id is not set: the attestation is bound to the L1 chain")
    verifier = settings.verifier_address.strip()
    try:
        ok = len(bytes.fromhex(verifier.removeprefix("0x"))) == 20
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(f"prover.verifier-address {verifier!r} is not a 20-byte hex address")
    return verifier


def prove_aggregation(request: dict, settings: ProverSettings) -> dict:
    """Check the chain the request names and answer with the attested aggregation response."""
    verifier = _check_settings(settings)
    invalidity = request.get("invalidityProofs") or []
    if invalidity:
        raise InvalidAggregation("aggregation request: invalidity proofs are not supported by Linen")
    execution_names = _names(request, "executionProofs", ProofKind.EXECUTION)
    compression_names = _names(request, "compressionProofs", ProofKind.COMPRESSION)
    execution_dir = kind_folders(settings.requests_root, ProofKind.EXECUTION).responses
    compression_dir = kind_folders(settings.requests_root, ProofKind.COMPRESSION).responses
    execution_data = [_load(execution_dir, name) for name in execution_names]
    blob_data = [_load(compression_dir, name) for name in compression_names]
    executions = [read_execution_proof(name, data) for name, data in zip(execution_names, execution_data, strict=True)]
    blobs = [read_compression_proof(name, data) for name, data in zip(compression_names, blob_data, strict=True)]
    fields = build_aggregation_fields(executions, blobs, read_parent(request))
    public_input = response_public_input(fields)
    proof = sign_attestation([settings.key], settings.l1_chain_id, verifier, public_input)
    proofs = [{"verifierIndex": ATTESTATION_VERIFIER_INDEX, "proof": to_data(proof)}]
    mode = getattr(settings, "execution_proofs", "exec")
    if mode != "exec":
        from linen.prover.backends import zk

        reason = zk.why_aggregation_not_provable(fields, execution_data, len(blob_data))
        if reason is None:
            root = zk.prove_root(settings, fields, public_input, execution_data, blob_data, compression_dir)
            proofs.append({"verifierIndex": zk.ZK_VERIFIER_INDEX, "proof": to_data(root)})
        elif mode == "zk":
            raise InvalidAggregation(f"no zk proof of this aggregation: {reason}")
    # the strongest proof made is the one finalizeBlocks gets when L1 requires no particular set
    return {
        **fields,
        "aggregatedProof": proofs[-1]["proof"],
        "aggregatedProverVersion": f"linen-{__version__}",
        "aggregatedVerifierIndex": proofs[-1]["verifierIndex"],
        "aggregatedProofPublicInput": f"0x{public_input:064x}",
        "proofs": proofs,
    }
