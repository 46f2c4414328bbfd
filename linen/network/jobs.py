"""The jobs of a proof tree, named by what they prove, and the store that keeps their proofs.

A `Job` is one node of the tree: a segment (its circuit inputs are its `payload`), a merge of two
children, or the root. Its id is the hash of everything that decides its proof: the kind, the key
(vk hash) of the circuit that proves it, the statement (the public fields the proof is of), the
hash of its payload and its children's ids. Children are named by their ids, so a job's id covers
its whole subtree: two requests that share a subtree share its jobs, and a proof found in the store
under an id is a proof of exactly that job. Proving a job twice gives the same statement, so jobs
are idempotent and a restarted scheduler takes every stored proof as done.

`JobStore` is a directory: `inputs/<hash>.json` (payloads, fetched by hash), `proofs/<id>.json`
(the first valid proof of a job, written whole or not at all) and `later/<id>.<prover>.json`
(later valid proofs of a job already proven, kept so a market can pay them a consolation).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from linen.errors import InvalidInput
from linen.jsonfile import write_json_atomically

SEGMENT, MERGE, ROOT = "segment", "merge", "root"
KINDS = (SEGMENT, MERGE, ROOT)
JOB_FORMAT = "linen-job/1"


def canonical_hash(data: object) -> str:
    """sha256 of the canonical JSON of `data` (sorted keys, no spaces), as 0x-hex."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return "0x" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Job:
    """One proof to make. `memory` is the bytes a prover needs for it (a worker with less never gets it)."""

    kind: str
    key: str
    statement: tuple[int, ...]
    inputs_hash: str
    children: tuple[str, ...] = ()
    memory: int = 0
    id: str = field(init=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidInput(f"unknown job kind {self.kind!r}")
        object.__setattr__(self, "id", canonical_hash({
            "format": JOB_FORMAT, "kind": self.kind, "key": self.key.lower(),
            "statement": [hex(f) for f in self.statement], "inputs": self.inputs_hash, "children": list(self.children)}))

    def to_json(self) -> dict:
        return {"id": self.id, "kind": self.kind, "key": self.key, "statement": [hex(f) for f in self.statement],
                "inputsHash": self.inputs_hash, "children": list(self.children), "memory": self.memory}

    @classmethod
    def from_json(cls, data: dict) -> Job:
        job = cls(data["kind"], data["key"], tuple(int(f, 16) for f in data["statement"]), data["inputsHash"],
                  tuple(data["children"]), int(data.get("memory", 0)))
        if "id" in data and data["id"] != job.id:
            raise InvalidInput(f"job id {data['id']} is not the hash of its fields ({job.id})")
        return job


@dataclass(frozen=True)
class JobProof:
    """A proof of a job: its 32-byte words (0x-hex), the key it claims, who made it and how long it took."""

    job: str
    words: tuple[str, ...]
    key: str
    prover: str = "local"
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {"job": self.job, "proof": list(self.words), "key": self.key, "prover": self.prover,
                "seconds": self.seconds}

    @classmethod
    def from_json(cls, data: dict) -> JobProof:
        return cls(data["job"], tuple(data["proof"]), data["key"], data.get("prover", "local"),
                   float(data.get("seconds", 0.0)))


@dataclass
class ProofDag:
    """A proof tree's jobs in an order where every child comes before its parent; `top` is proven last."""

    jobs: dict[str, Job]
    top: str
    payloads: dict[str, dict] = field(default_factory=dict)  # inputs hash -> payload

    def ready(self, done: Iterable[str], busy: Iterable[str] = ()) -> list[Job]:
        """Jobs not done nor busy whose children are all done, in tree order."""
        finished, running = set(done), set(busy)
        return [job for job in self.jobs.values() if job.id not in finished and job.id not in running
                and all(child in finished for child in job.children)]

    def levels(self) -> int:
        depth: dict[str, int] = {}
        for job in self.jobs.values():
            depth[job.id] = 1 + max((depth[c] for c in job.children), default=0)
        return depth[self.top]


def payload_job(kind: str, key: str, statement: Sequence[int], payload: dict, dag_payloads: dict[str, dict],
                children: Sequence[str] = (), memory: int = 0) -> Job:
    """A job for `payload`, registering the payload in `dag_payloads` under its hash."""
    inputs_hash = canonical_hash(payload)
    dag_payloads[inputs_hash] = payload
    return Job(kind, key, tuple(statement), inputs_hash, tuple(children), memory)


def tree_dag(leaves: Sequence[Job], payloads: dict[str, dict], merge_key: str, merge_memory: int,
             join: Callable[[tuple[int, ...], tuple[int, ...]], tuple[int, ...]]) -> ProofDag:
    """Leaves merged pairwise level by level, an odd one out going up as it is (as `TreeProver.prove_tree`)."""
    if not leaves:
        raise InvalidInput("no leaves to build a proof tree from")
    jobs: dict[str, Job] = {job.id: job for job in leaves}
    empty = payload_job(MERGE, merge_key, (), {}, payloads)  # merges carry no payload of their own
    level = list(leaves)
    while len(level) > 1:
        nxt = []
        for left, right in zip(level[0::2], level[1::2], strict=False):
            merge = Job(MERGE, merge_key, join(left.statement, right.statement), empty.inputs_hash,
                        (left.id, right.id), merge_memory)
            jobs[merge.id] = merge
            nxt.append(merge)
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return ProofDag(jobs, level[0].id, payloads)


class JobStore:
    """Payloads and proofs on disk; safe against a kill at any point (every file is renamed into place)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        for sub in ("inputs", "proofs", "later"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _name(value: str) -> str:
        if not (isinstance(value, str) and value.startswith("0x") and len(value) == 66
                and all(c in "0123456789abcdef" for c in value[2:])):
            raise InvalidInput(f"{value!r} is not a 32-byte lower-case 0x hash")
        return value

    def put_inputs(self, payload: dict) -> str:
        inputs_hash = canonical_hash(payload)
        path = self.root / "inputs" / f"{inputs_hash}.json"
        if not path.exists():
            write_json_atomically(path, payload)
        return inputs_hash

    def inputs(self, inputs_hash: str) -> dict | None:
        path = self.root / "inputs" / f"{self._name(inputs_hash)}.json"
        if not path.exists():
            return None
        payload = json.loads(path.read_text())
        if canonical_hash(payload) != inputs_hash:  # a corrupt file is not an input: drop it, it is re-derived
            path.unlink(missing_ok=True)
            return None
        return payload

    def proof(self, job_id: str) -> JobProof | None:
        path = self.root / "proofs" / f"{self._name(job_id)}.json"
        try:
            proof = JobProof.from_json(json.loads(path.read_text()))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):  # a torn or corrupt file: the job is proven again
            path.unlink(missing_ok=True)
            return None
        return proof if proof.job == job_id else None

    def put_later(self, proof: JobProof) -> None:
        """Keep a valid proof of a job someone else proved first."""
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in proof.prover)[:64]
        write_json_atomically(self.root / "later" / f"{self._name(proof.job)}.{safe}.json", proof.to_json())

    def put_proof(self, proof: JobProof) -> bool:
        """Keep the first proof of a job (True); a later one goes to `later/` (False)."""
        path = self.root / "proofs" / f"{self._name(proof.job)}.json"
        if path.exists():
            self.put_later(proof)
            return False
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(proof.to_json()))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return True

    def later(self, job_id: str) -> list[JobProof]:
        return [JobProof.from_json(json.loads(p.read_text()))
                for p in sorted((self.root / "later").glob(f"{self._name(job_id)}.*.json"))]
