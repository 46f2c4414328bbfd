"""The aggregation backend: a good chain of proofs is attested, every broken link is refused by name.

Synthetic execution and compression responses are built here with the protocol functions (shnarf,
x) so each one is self-consistent, and then chained correctly or with one link broken. The Linea
mainnet aggregation is rebuilt from its 21 real blobs to check the response-building path field by
field, public input included.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from eth_account import Account
from eth_hash.auto import keccak

from linen.devaccounts import prover_dev_account
from linen.l1.finalization import FinalizationData, ShnarfData
from linen.protocol.attestation import attestation_digest
from linen.protocol.messaging import build_l2_message_trees
from linen.protocol.public_input import FinalizationPublicInputFields, compute_public_input
from linen.protocol.shnarf import compute_shnarf, compute_x
from linen.prover.backends.aggregation import (
    InvalidAggregation,
    MissingProofResponse,
    prove_aggregation,
    response_public_input,
)
from linen.prover.controller import Controller
from linen.prover.files import (
    ProofKind,
    aggregation_name,
    compression_response_name,
    execution_response_name,
    kind_folders,
    write_request,
)
from linen.prover.prove import run
from linen.prover.settings import ControllerSettings, ProverSettings

BLOBS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "linea" / "blobs-mainnet"
AGGREGATION_FILE = BLOBS / "17865638-17865747-getZkAggregatedProof.json"
needs_vectors = pytest.mark.skipif(
    not BLOBS.is_dir(), reason=f"Linea vectors not found at {BLOBS} (a clone without the shared folder beside it)"
)

VERIFIER = "0x" + "ab" * 20
L1_CHAIN_ID = 31337


def h(label: object) -> bytes:
    return keccak(repr(label).encode())


def hx(value: bytes) -> str:
    return "0x" + value.hex()


@dataclass
class Chain:
    """A synthetic L2 history: per-block roots, timestamps, messages, anchorings; proofs cut from it."""

    root: Path
    last_finalized: int = 100
    blocks: int = 12
    parent_timestamp: int = 5_000
    parent_message_number: int = 40
    messages: dict[int, list[bytes]] = field(default_factory=dict)
    anchorings: dict[int, int] = field(default_factory=dict)  # block -> last L1 message number anchored

    def state_root(self, block: int) -> bytes:
        return h(("root", block))

    def timestamp(self, block: int) -> int:
        return self.parent_timestamp + 2 * (block - self.last_finalized)

    def rolling_hash(self, number: int) -> bytes:
        return h(("rolling", number))

    @property
    def first(self) -> int:
        return self.last_finalized + 1

    @property
    def last(self) -> int:
        return self.last_finalized + self.blocks

    def execution(self, start: int, end: int, **overrides) -> tuple[str, dict]:
        blocks = []
        for number in range(start, end + 1):
            event = {"messageNumber": 0, "rollingHash": hx(bytes(32))}
            if number in self.anchorings:
                n = self.anchorings[number]
                event = {"messageNumber": n, "rollingHash": hx(self.rolling_hash(n))}
            blocks.append(
                {
                    "blockHash": hx(h(("block", number))),
                    "timestamp": self.timestamp(number),
                    "rootHash": hx(self.state_root(number)),
                    "l2ToL1MsgHashes": [hx(m) for m in self.messages.get(number, [])],
                    "lastRollingHashUpdatedEvent": event,
                }
            )
        data = {
            "proof": "0x00",
            "parentStateRootHash": hx(self.state_root(start - 1)),
            "firstBlockNumber": start,
            "blocksData": blocks,
            "allL2L1MessageHashes": [m for b in blocks for m in b["l2ToL1MsgHashes"]],
            "publicInput": "0x00",
        }
        data.update(overrides)
        return execution_response_name(start, end), data

    def blob(self, start: int, end: int, prev_shnarf: bytes, parent_data_hash: bytes, **overrides) -> tuple[str, dict]:
        """A compression response whose shnarf is right for its fields (after `overrides`)."""
        snark_hash = h(("snark", start))
        data_hash = b"\x01" + h(("data", start))[1:]
        data = {
            "conflationOrder": {"startingBlockNumber": start, "upperBoundaries": [end]},
            "prevShnarf": hx(prev_shnarf),
            "parentStateRootHash": hx(self.state_root(start - 1)),
            "finalStateRootHash": hx(self.state_root(end)),
            "parentDataHash": hx(parent_data_hash),
            "dataHash": hx(data_hash),
            "snarkHash": hx(snark_hash),
            "expectedX": hx(compute_x(snark_hash, data_hash)),
            "expectedY": hx(h(("y", start))),
            "decompressionProof": "0x00",
        }
        data.update(overrides)
        word = {k: bytes.fromhex(data[k][2:]) for k in ("prevShnarf", "snarkHash", "finalStateRootHash")}
        shnarf = compute_shnarf(
            word["prevShnarf"],
            word["snarkHash"],
            word["finalStateRootHash"],
            bytes.fromhex(data["expectedX"][2:]),
            bytes.fromhex(data["expectedY"][2:]),
        )
        data.setdefault("expectedShnarf", hx(shnarf))
        return compression_response_name(start, end, data["expectedShnarf"]), data

    def blobs(self, ranges: list[tuple[int, int]]) -> list[tuple[str, dict]]:
        out, prev, parent_data = [], h("parent shnarf"), h("parent data hash")
        for start, end in ranges:
            name, data = self.blob(start, end, prev, parent_data)
            out.append((name, data))
            prev, parent_data = bytes.fromhex(data["expectedShnarf"][2:]), bytes.fromhex(data["dataHash"][2:])
        return out

    def write(self, executions: list[tuple[str, dict]], blobs: list[tuple[str, dict]]) -> dict:
        for kind, files in ((ProofKind.EXECUTION, executions), (ProofKind.COMPRESSION, blobs)):
            folder = kind_folders(self.root, kind).make().responses
            for name, data in files:
                (folder / name).write_text(json.dumps(data))
        return {
            "executionProofs": [name for name, _ in executions],
            "compressionProofs": [name for name, _ in blobs],
            "invalidityProofs": [],
            "parentAggregationLastBlockTimestamp": self.parent_timestamp,
            "parentAggregationLastL1RollingHashMessageNumber": self.parent_message_number,
            "parentAggregationLastL1RollingHash": hx(self.rolling_hash(self.parent_message_number)),
        }

    def good(self) -> tuple[list, list]:
        f = self.first  # executions 101-103, 104-108, 109-112; blobs 101-108, 109-112
        executions = [self.execution(f, f + 2), self.execution(f + 3, f + 7), self.execution(f + 8, self.last)]
        return executions, self.blobs([(f, f + 7), (f + 8, self.last)])


@pytest.fixture
def chain(tmp_path) -> Chain:
    chain = Chain(tmp_path / "shared")
    chain.messages = {102: [h(("msg", i)) for i in range(2)], 109: [h(("msg2", i)) for i in range(33)]}
    chain.anchorings = {103: 45, 110: 47}
    return chain


def settings_for(root: Path) -> ProverSettings:
    return ProverSettings(
        key=prover_dev_account().private_key, l1_chain_id=L1_CHAIN_ID, verifier_address=VERIFIER, requests_root=root
    )


def test_good_chain_is_attested(chain):
    executions, blobs = chain.good()
    request = chain.write(executions, blobs)
    response = prove_aggregation(request, settings_for(chain.root))

    last_blob = blobs[-1][1]
    all_messages = chain.messages[102] + chain.messages[109]
    roots = build_l2_message_trees(all_messages)
    assert len(roots) == 2
    expected_fields = FinalizationPublicInputFields(
        last_finalized_shnarf=h("parent shnarf"),
        final_shnarf=bytes.fromhex(last_blob["expectedShnarf"][2:]),
        last_finalized_timestamp=chain.parent_timestamp,
        final_timestamp=chain.timestamp(chain.last),
        last_finalized_block_number=chain.last_finalized,
        end_block_number=chain.last,
        last_finalized_l1_rolling_hash=chain.rolling_hash(40),
        l1_rolling_hash=chain.rolling_hash(47),
        last_finalized_l1_rolling_hash_message_number=40,
        l1_rolling_hash_message_number=47,
        l2_merkle_trees_depth=5,
        l2_merkle_roots=tuple(roots),
    )
    public_input = compute_public_input(expected_fields)
    assert response["aggregatedProofPublicInput"] == f"0x{public_input:064x}"
    assert response_public_input(response) == public_input
    assert response["finalShnarf"] == last_blob["expectedShnarf"]
    assert response["parentAggregationFinalShnarf"] == hx(h("parent shnarf"))
    assert response["dataHashes"] == [data["dataHash"] for _, data in blobs]
    assert response["dataParentHash"] == hx(h("parent data hash"))
    assert response["parentStateRootHash"] == hx(chain.state_root(chain.last_finalized))
    assert response["finalStateRootHash"] == hx(chain.state_root(chain.last))
    assert (response["lastFinalizedBlockNumber"], response["finalBlockNumber"]) == (100, 112)
    assert response["finalTimestamp"] == chain.timestamp(112)
    assert response["parentAggregationLastBlockTimestamp"] == chain.parent_timestamp
    assert response["l2MerkleRoots"] == [hx(r) for r in roots] and response["l2MerkleTreesDepth"] == 5
    assert response["l2MessagingBlocksOffsets"] == "0x00020009"  # blocks 102 and 109 after 100
    assert response["l1RollingHashMessageNumber"] == 47
    assert response["lastFinalizedL1RollingHashMessageNumber"] == 40
    assert response["aggregatedVerifierIndex"] == 0

    # the proof is the prover key's attestation of that public input for this chain and verifier
    proof = bytes.fromhex(response["aggregatedProof"][2:])
    assert len(proof) == 65
    digest = attestation_digest(L1_CHAIN_ID, VERIFIER, public_input)
    signer = Account._recover_hash(digest, vrs=(proof[64], proof[:32], proof[32:64]))
    assert signer == prover_dev_account().address

    # what the coordinator will send (FinalizationDataV3) implies the same public input
    data = FinalizationData(
        parent_state_root=chain.state_root(100),
        end_block_number=112,
        shnarf_data=ShnarfData(
            parent_shnarf=bytes.fromhex(last_blob["prevShnarf"][2:]),
            snark_hash=bytes.fromhex(last_blob["snarkHash"][2:]),
            final_state_root=bytes.fromhex(last_blob["finalStateRootHash"][2:]),
            x=bytes.fromhex(last_blob["expectedX"][2:]),
            y=bytes.fromhex(last_blob["expectedY"][2:]),
        ),
        last_finalized_timestamp=response["parentAggregationLastBlockTimestamp"],
        final_timestamp=response["finalTimestamp"],
        last_finalized_l1_rolling_hash=chain.rolling_hash(40),
        l1_rolling_hash=chain.rolling_hash(47),
        last_finalized_l1_rolling_hash_message_number=40,
        l1_rolling_hash_message_number=47,
        l2_merkle_roots=tuple(roots),
        l2_messaging_blocks_offsets=bytes.fromhex("00020009"),
    )
    assert data.public_input(h("parent shnarf"), 100) == public_input


def test_without_messages_or_anchoring_the_parent_values_carry_over(tmp_path):
    chain = Chain(tmp_path / "shared", blocks=3)
    request = chain.write([chain.execution(101, 103)], chain.blobs([(101, 103)]))
    response = prove_aggregation(request, settings_for(chain.root))
    assert response["l2MerkleRoots"] == [] and response["l2MessagingBlocksOffsets"] == "0x"
    assert response["l1RollingHashMessageNumber"] == 40
    assert response["l1RollingHash"] == hx(chain.rolling_hash(40))


def _broken(chain: Chain, case: str) -> tuple[list, list]:
    """The good chain with one link broken; every file is still self-consistent."""
    executions, blobs = chain.good()
    f = chain.first
    if case == "execution gap":
        executions = [executions[0], executions[2]]
    elif case == "execution root":
        executions[1] = chain.execution(f + 3, f + 7, parentStateRootHash=hx(h("other")))
    elif case == "blob shnarf link":
        blobs[1] = chain.blob(f + 8, chain.last, h("not the previous"), bytes.fromhex(blobs[0][1]["dataHash"][2:]))
    elif case == "blob root link":
        prev = bytes.fromhex(blobs[0][1]["expectedShnarf"][2:])
        data_hash = bytes.fromhex(blobs[0][1]["dataHash"][2:])
        blobs[1] = chain.blob(f + 8, chain.last, prev, data_hash, parentStateRootHash=hx(h("other")))
    elif case == "blob data hash link":
        blobs[1] = chain.blob(f + 8, chain.last, bytes.fromhex(blobs[0][1]["expectedShnarf"][2:]), h("other"))
    elif case == "blob gap":
        prev = bytes.fromhex(blobs[0][1]["expectedShnarf"][2:])
        blobs[1] = chain.blob(f + 9, chain.last, prev, bytes.fromhex(blobs[0][1]["dataHash"][2:]))
    elif case == "blobs short":
        blobs = blobs[:1]
    elif case == "blobs long":
        executions = executions[:2]
    elif case == "blob root differs from execution":
        blobs = chain.blobs([(f, f + 7), (f + 8, chain.last)])
        prev = bytes.fromhex(blobs[0][1]["prevShnarf"][2:])
        blobs[0] = chain.blob(f, f + 7, prev, h("parent data hash"), finalStateRootHash=hx(h("other")))
        blobs[1] = chain.blob(
            f + 8,
            chain.last,
            bytes.fromhex(blobs[0][1]["expectedShnarf"][2:]),
            bytes.fromhex(blobs[0][1]["dataHash"][2:]),
            parentStateRootHash=hx(h("other")),
        )
    elif case == "last blob root differs from last execution":
        prev = bytes.fromhex(blobs[0][1]["expectedShnarf"][2:])
        data_hash = bytes.fromhex(blobs[0][1]["dataHash"][2:])
        blobs[1] = chain.blob(f + 8, chain.last, prev, data_hash, finalStateRootHash=hx(h("other")))
    elif case == "first blob parent root":
        blobs[0] = chain.blob(f, f + 7, h("parent shnarf"), h("parent data hash"), parentStateRootHash=hx(h("x")))
    elif case == "blob own shnarf":
        blobs[1][1]["expectedShnarf"] = hx(h("forged"))
        blobs[1] = (compression_response_name(f + 8, chain.last, blobs[1][1]["expectedShnarf"]), blobs[1][1])
    elif case == "blob x":
        name, data = blobs[1]
        data["expectedX"] = hx(h("forged x"))
    elif case == "execution range vs name":
        name, data = executions[1]
        executions[1] = (execution_response_name(f + 3, f + 8), data)
    elif case == "rolling hash backwards":
        chain.anchorings = {103: 45, 110: 44}
        executions, _ = chain.good()
    elif case == "timestamps backwards":
        name, data = executions[2]
        data["blocksData"][1]["timestamp"] = 1
    elif case == "message list":
        name, data = executions[1]
        data["allL2L1MessageHashes"] = [hx(h("stray"))]
    return executions, blobs


BROKEN = {
    "execution gap": r"execution proofs .*103-getZkProof.json and .*109-112-getZkProof.json are not contiguous",
    "execution root": r"execution proofs 101-103-getZkProof.json and 104-108-getZkProof.json do not chain",
    "blob shnarf link": r"compression proofs .* do not chain: prevShnarf",
    "blob root link": r"do not chain: parentStateRootHash is not the previous finalStateRootHash",
    "blob data hash link": r"do not chain: parentDataHash",
    "blob gap": r"compression proofs .* are not contiguous: the first ends at block 108, the second starts at 110",
    "blobs short": r"the blobs cover blocks 101-108 but the executions prove 101-112",
    "blobs long": r"the blobs cover blocks 101-112 but the executions prove 101-108",
    "blob root differs from execution": r"101-108-.* ends at block 108 with state root .* but 104-108-getZkProof.json",
    "last blob root differs from last execution": r"109-112-.* ends at block 112 .* but 109-112-getZkProof.json",
    "first blob parent root": r"101-108-.* starts from state root .* but 101-103-getZkProof.json",
    "blob own shnarf": r"expectedShnarf does not match the blob's own fields",
    "blob x": r"expectedX is not keccak",
    "execution range vs name": r"covers blocks 104-108, not its name's range",
    "rolling hash backwards": r"block 110 anchors L1 message 44, not after 45",
    "timestamps backwards": r"block 110 has timestamp 1",
    "message list": r"allL2L1MessageHashes differ",
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_broken_link_is_refused(chain, case):
    executions, blobs = _broken(chain, case)
    request = chain.write(executions, blobs)
    with pytest.raises(InvalidAggregation, match=BROKEN[case]):
        prove_aggregation(request, settings_for(chain.root))


def test_request_shape_is_checked(chain):
    executions, blobs = chain.good()
    request = chain.write(executions, blobs)
    settings = settings_for(chain.root)
    for key, value, message in (
        ("executionProofs", [], "at least one execution proof"),
        ("compressionProofs", ["../../etc/passwd"], "is not a compression response name"),
        ("executionProofs", "101-103-getZkProof.json", "must be a list"),
        ("invalidityProofs", ["x"], "invalidity proofs are not supported"),
        ("parentAggregationLastL1RollingHash", "0x12", "32-byte hex"),
    ):
        with pytest.raises(InvalidAggregation, match=message):
            prove_aggregation({**request, key: value}, settings)
    missing = {k: v for k, v in request.items() if k != "parentAggregationLastBlockTimestamp"}
    with pytest.raises(InvalidAggregation, match="missing field parentAggregationLastBlockTimestamp"):
        prove_aggregation(missing, settings)
    (kind_folders(chain.root, "execution").responses / executions[1][0]).unlink()
    with pytest.raises(MissingProofResponse, match="104-108-getZkProof.json is not in"):
        prove_aggregation(request, settings)


# --- the Linea mainnet aggregation, rebuilt from its blobs --------------------------------------------------


@needs_vectors
def test_mainnet_aggregation_is_rebuilt_from_its_blobs(tmp_path):
    expected = json.loads(AGGREGATION_FILE.read_text())
    assert response_public_input(expected) == int(expected["aggregatedProofPublicInput"], 16)

    root = tmp_path / "shared"
    compression = kind_folders(root, "compression").make().responses
    execution = kind_folders(root, "execution").make().responses
    blob_files = sorted(BLOBS.glob("*-getZkBlobCompressionProof.json"), key=lambda p: int(p.name.split("-")[0]))
    blob_names, execution_names = [], []
    timestamp = expected["parentAggregationLastBlockTimestamp"]
    for path in blob_files:
        blob = json.loads(path.read_text())
        start, end = blob["conflationOrder"]["startingBlockNumber"], blob["conflationOrder"]["upperBoundaries"][-1]
        name = compression_response_name(start, end, blob["expectedShnarf"])
        shutil.copy(path, compression / name)
        blob_names.append(name)
        # one synthetic execution proof per blob: only the roots at blob ends and the timestamps matter
        blocks = []
        for number in range(start, end + 1):
            timestamp = expected["finalTimestamp"] if number == expected["finalBlockNumber"] else timestamp + 1
            root_hash = blob["finalStateRootHash"] if number == end else hx(h(("interior", number)))
            blocks.append({"timestamp": timestamp, "rootHash": root_hash, "l2ToL1MsgHashes": []})
        exec_name = execution_response_name(start, end)
        data = {"parentStateRootHash": blob["parentStateRootHash"], "firstBlockNumber": start, "blocksData": blocks}
        (execution / exec_name).write_text(json.dumps(data))
        execution_names.append(exec_name)
    request = {
        "executionProofs": execution_names,
        "compressionProofs": blob_names,
        "parentAggregationLastBlockTimestamp": expected["parentAggregationLastBlockTimestamp"],
        "parentAggregationLastL1RollingHashMessageNumber": expected["parentAggregationLastL1RollingHashMessageNumber"],
        "parentAggregationLastL1RollingHash": expected["parentAggregationLastL1RollingHash"],
    }
    response = prove_aggregation(request, settings_for(root))
    not_compared = {"aggregatedProof", "aggregatedProverVersion", "aggregatedVerifierIndex"}
    for key in sorted(set(expected) - not_compared):
        assert response[key] == expected[key], key
    assert response["aggregatedProofPublicInput"].endswith("fc65")
    assert response["finalStateRootHash"] == json.loads(blob_files[-1].read_text())["finalStateRootHash"]


# --- the prove entry point and the controller running it ------------------------------------------------


def _request_file(chain: Chain, request: dict) -> Path:
    name = aggregation_name(chain.first, chain.last, request["compressionProofs"], request["executionProofs"])
    return write_request(chain.root, ProofKind.AGGREGATION, name, request)


@pytest.fixture
def prover_env(monkeypatch):
    monkeypatch.setenv("LINEN_PROVER_KEY", prover_dev_account().private_key)
    monkeypatch.setenv("LINEN_PROVER_L1_CHAIN_ID", str(L1_CHAIN_ID))
    monkeypatch.setenv("LINEN_PROVER_VERIFIER_ADDRESS", VERIFIER)
    monkeypatch.setenv("LINEN_PROVER_REQUESTS_ROOT", "/nonexistent")  # the request's own location wins


def test_prove_entry_point_exit_codes(chain, prover_env, monkeypatch, tmp_path, capsys):
    executions, blobs = chain.good()
    path = _request_file(chain, chain.write(executions, blobs))
    out = tmp_path / "out.json"
    assert run(["--in", str(path), "--out", str(out)]) == 0
    response = json.loads(out.read_text())
    assert response == prove_aggregation(json.loads(path.read_text()), settings_for(chain.root))

    bad = _request_file(chain, chain.write([executions[0], executions[2]], blobs))
    assert run(["--in", str(bad), "--out", str(tmp_path / "bad.json")]) == 78
    assert not (tmp_path / "bad.json").exists()
    garbage = path.with_name(aggregation_name(1, 2, ["garbage"], []))
    garbage.write_text("{not json")
    capsys.readouterr()
    assert run(["--in", str(garbage), "--out", str(out)]) == 78 and "not valid JSON" in capsys.readouterr().err
    assert run(["--in", str(tmp_path / "request.json"), "--out", str(out)]) == 78  # not a request name
    (kind_folders(chain.root, "compression").responses / blobs[0][0]).unlink()
    assert run(["--in", str(path), "--out", str(out)]) == 79
    with pytest.raises(SystemExit) as exit_info:
        run(["--out", str(out)])
    assert exit_info.value.code == 15  # never 2, which a controller would take for "rerun large"
    monkeypatch.setenv("LINEN_PROVER_KEY", "")
    assert run(["--in", str(path), "--out", str(out)]) == 15


def test_controller_runs_the_real_prove(chain, prover_env):
    executions, blobs = chain.good()
    path = _request_file(chain, chain.write(executions, blobs))
    settings = ControllerSettings(
        requests_root=chain.root, local_id="prover-agg", kinds=(ProofKind.AGGREGATION,), retry_delays=(0.01,)
    )
    controller = Controller(settings)
    assert controller.command(path, path, large=False)[:3] == [sys.executable, "-m", "linen.prover.prove"]
    assert controller.run_once()
    folders = kind_folders(chain.root, "aggregation")
    assert [p.name for p in folders.done.iterdir()] == [path.name + ".success"]
    response = json.loads((folders.responses / path.name).read_text())
    assert response["finalBlockNumber"] == chain.last
    assert response_public_input(response) == int(response["aggregatedProofPublicInput"], 16)
