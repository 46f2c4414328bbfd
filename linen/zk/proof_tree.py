"""The proof tree of a batch: segment proofs, binary merges, and the root proven for the EVM.

`TreeProver` drives bb through `Toolchain`: segments and merges with the `noir-recursive` target
(their proofs are verified inside the merge and root circuits), the root with `evm` (checked on L1
by bb's Solidity verifier with the SRS's [tau]_2). A child proof enters a parent circuit as field
elements: bb's binary `vk` and `proof` files are 32-byte words (115 and 458 of them for bb 5.0.0),
and `vk_hash` is the key hash the recursive verifier binds to the vk. bb's exit code is never
trusted: a witness the circuit rejects fails in noir_js (`ExecutionFailed`) or in bb
(`UnsatisfiedWitness`), and the root proof is checked on an EVM before it is used.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from linen.errors import InvalidInput
from linen.zk.segment_witness import Range, join
from linen.zk.toolchain import Circuit, Toolchain

CIRCUITS = Path(__file__).resolve().parents[2] / "circuits"
RECURSIVE = "noir-recursive"
VK_FIELDS = 115
PROOF_FIELDS = 458


def words(data: bytes) -> list[str]:
    if len(data) % 32:
        raise InvalidInput(f"{len(data)} bytes are not whole 32-byte field elements")
    return ["0x" + data[i:i + 32].hex() for i in range(0, len(data), 32)]


@dataclass(frozen=True)
class Key:
    """A recursive circuit's verification key as a parent circuit takes it."""

    fields: list[str]
    hash: str

    @property
    def hash_int(self) -> int:
        return int(self.hash, 16)


@dataclass(frozen=True)
class TreeProof:
    """A proof of the tree: its statement, its proof words and the key it verifies under."""

    statement: Range
    proof: list[str]
    key: Key
    seconds: float

    def to_json(self) -> dict:
        return {"statement": [hex(f) for f in self.statement.fields()], "proof": self.proof,
                "vk": self.key.fields, "vkHash": self.key.hash, "seconds": self.seconds}

    @classmethod
    def from_json(cls, data: dict) -> TreeProof:
        return cls(Range.from_fields([int(f, 16) for f in data["statement"]]), list(data["proof"]),
                   Key(list(data["vk"]), data["vkHash"]), float(data.get("seconds", 0.0)))


class TreeProver:
    """Compiles the three circuits once (cached by content), keys them, and proves nodes of the tree."""

    def __init__(self, toolchain: Toolchain, work_dir: Path, segment_project: Path | None = None) -> None:
        self.tc = toolchain
        self.work_dir = Path(work_dir)
        self.segment = toolchain.compile(segment_project or CIRCUITS / "segment")
        self.merge = toolchain.compile(CIRCUITS / "merge")
        self.root = toolchain.compile(CIRCUITS / "root")
        self.segment_key = self._key(self.segment)
        self.merge_key = self._key(self.merge)

    def _key(self, circuit: Circuit) -> Key:
        vk = self.tc.write_vk(circuit, RECURSIVE)
        fields = words(vk.read_bytes())
        if len(fields) != VK_FIELDS:
            raise InvalidInput(f"{circuit.name}'s vk is {len(fields)} fields, the circuits expect {VK_FIELDS}")
        return Key(fields, "0x" + (vk.parent / "vk_hash").read_bytes().hex())

    @property
    def vk_hashes(self) -> tuple[int, int]:
        return self.segment_key.hash_int, self.merge_key.hash_int

    def _run(self, circuit: Circuit, inputs: dict, target: str) -> tuple[list[str], list[str], float]:
        tag = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
        job = self.work_dir / f"{circuit.name}-{tag}"
        job.mkdir(parents=True, exist_ok=True)
        self.tc.execute(circuit, inputs, job / "witness.gz")
        proof = self.tc.prove(circuit, job / "witness.gz", job, target)
        return words(proof.proof), proof.public_inputs_hex, proof.seconds

    def prove_segment(self, statement: Range, inputs: dict) -> TreeProof:
        if [int(x, 16) for x in inputs["public"]] != statement.fields():
            raise InvalidInput("the segment inputs' public fields are not the statement")
        proof, public, seconds = self._run(self.segment, inputs, RECURSIVE)
        self._check_public(public, statement)
        return TreeProof(statement, proof, self.segment_key, seconds)

    @staticmethod
    def merge_inputs(left: TreeProof, right: TreeProof, statement: Range) -> dict:
        inputs = {"public": [hex(f) for f in statement.fields()]}
        for side, child in (("left", left), ("right", right)):
            inputs.update({f"{side}_vk": child.key.fields, f"{side}_proof": child.proof,
                           f"{side}_public": [hex(f) for f in child.statement.fields()],
                           f"{side}_key_hash": child.key.hash})
        return inputs

    def prove_merge(self, left: TreeProof, right: TreeProof, claimed: Range | None = None) -> TreeProof:
        """Merge two adjacent proofs. `claimed` skips the Python join rule and asks the circuit to
        prove that statement (tests use it to show the circuit itself refuses what the rule refuses)."""
        statement = claimed if claimed is not None else join(left.statement, right.statement)
        inputs = self.merge_inputs(left, right, statement)
        proof, public, seconds = self._run(self.merge, inputs, RECURSIVE)
        self._check_public(public, statement)
        return TreeProof(statement, proof, self.merge_key, seconds)

    def prove_tree(self, leaves: Sequence[TreeProof]) -> TreeProof:
        """Merge adjacent pairs level by level (an odd one out goes up as it is) to one proof."""
        level = list(leaves)
        if not level:
            raise InvalidInput("no segment proofs to merge")
        while len(level) > 1:
            nxt = [self.prove_merge(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt
        return level[0]

    def prove_root(self, top: TreeProof, root_inputs: dict) -> tuple[bytes, list[str], float]:
        """The root proof (EVM target) of `top` with the finalization witnesses in `root_inputs`."""
        inputs = self.root_circuit_inputs(top, root_inputs)
        tag = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
        job = self.work_dir / f"root-{tag}"
        job.mkdir(parents=True, exist_ok=True)
        self.tc.execute(self.root, inputs, job / "witness.gz")
        proof = self.tc.prove(self.root, job / "witness.gz", job, "evm")
        return proof.proof, proof.public_inputs_hex, proof.seconds

    def root_circuit_inputs(self, top: TreeProof, root_inputs: dict) -> dict:
        """circuits/root's inputs: `root_inputs` (the finalization witnesses) and the top proof."""
        seg, merge = self.vk_hashes
        inputs = dict(root_inputs)
        inputs.update({"segment_vk_hash": hex(seg), "merge_vk_hash": hex(merge),
                       "chain_id": hex(top.statement.chain_id), "vk": top.key.fields, "proof": top.proof,
                       "top": [hex(f) for f in top.statement.fields()], "key_hash": top.key.hash})
        return inputs

    @staticmethod
    def _check_public(public: list[str], statement: Range) -> None:
        if [int(x, 16) for x in public] != statement.fields():
            raise InvalidInput("bb's public inputs are not the statement the proof was made for")


def segment_project(k: int, out_root: Path) -> Path:
    """circuits/segment with K transfers (the repository's is the production size): a Noir project
    under `out_root` whose dependencies point back at circuits/, for benchmarks and small tests."""
    source = CIRCUITS / "segment"
    main = (source / "src" / "main.nr").read_text()
    marker = "global K: u32 = "
    start = main.index(marker)
    end = main.index(";", start)
    project = Path(out_root) / f"segment_k{k}"
    (project / "src").mkdir(parents=True, exist_ok=True)
    (project / "src" / "main.nr").write_text(main[:start] + f"{marker}{k}" + main[end:])
    nargo = (source / "Nargo.toml").read_text().replace('path = "../', f'path = "{CIRCUITS}/')
    (project / "Nargo.toml").write_text(nargo.replace('name = "segment"', f'name = "segment_k{k}"'))
    return project
