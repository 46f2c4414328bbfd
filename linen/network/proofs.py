"""What proves a job and what checks a proof, behind one interface (`ProofSystem`).

- `BbProofs`: the real circuits through bb (`TreeProver`): segments and merges with the
  `noir-recursive` target. Its `verify` runs `bb verify` and requires its sumcheck and its reduction
  to the pairing check to hold, and the statement and key to be the job's. What that does not check
  (until Linen's own verifier lands, issue 16): the final pairing, which bb does only with Aztec's
  SRS. So random bytes, a proof of another statement and a proof under another key are refused at
  once, but a proof crafted to pass the sumcheck with bad commitments would be caught only where
  the pairing is checked: the root's, on L1.
- `SimulatedProofs`: a stand-in with measured job times, for the scheduler's own overhead and for
  fault tests at scale. A "proof" is a keyed hash of the key, the statement and a random salt, so a proof of another
  job or under another key, or random bytes, fails `verify` exactly as with bb. It models faults,
  not cryptography: anyone who reads this file can forge one.

`make_system(spec)` builds either from a JSON-ready spec, so worker processes and remote workers
build the same system the scheduler checks with.
"""

from __future__ import annotations

import hashlib
import os
import random
import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from linen.errors import InvalidInput
from linen.network.jobs import MERGE, SEGMENT, Job, JobProof
from linen.zk.tool_process import attempt_sleep

WORD_HEX = 66  # "0x" + 64 hex digits
SIM_WORDS = 8
SIM_SECRET = "linen-simulated-proofs"


def bb_spec(zk_dir: Path | str, threads: int = 1, segment_project: Path | str | None = None) -> dict:
    """The spec of `BbProofs` (what a worker process needs to make the same proof system)."""
    return {"system": "bb", "zk_dir": str(zk_dir), "threads": int(threads),
            "segment_project": str(segment_project) if segment_project else None}


def sim_spec(segment_s: float, merge_s: float, sigma: float = 0.0, secret: str = SIM_SECRET) -> dict:
    """The spec of `SimulatedProofs`."""
    return {"system": "sim", "segment_s": segment_s, "merge_s": merge_s, "sigma": sigma, "secret": secret}


def worker_options(spec: dict) -> list[str]:
    """The `linen prover worker` options that make the proof system `spec` describes."""
    if spec["system"] == "sim":
        return ["--simulate", f"{spec['segment_s']}:{spec['merge_s']}"]
    return ["--zk-dir", spec["zk_dir"], "--threads", str(spec["threads"])]


class ProofSystem(Protocol):
    spec: dict

    def keys(self) -> dict[str, str]:
        """The key (vk hash) of each job kind's circuit."""

    def prove(self, job: Job, payload: dict, children: Sequence[tuple[Job, JobProof]], prover: str) -> JobProof:
        """A proof of `job`; `children` are its children with their (verified) proofs."""

    def verify(self, job: Job, proof: JobProof) -> str | None:
        """None if `proof` is a valid proof of `job`, else why not."""


def check_shape(job: Job, proof: JobProof, words: int | None = None) -> str | None:
    """The checks every system makes first: the job, the key, the words' form and count."""
    if proof.job != job.id:
        return f"the proof is of job {proof.job}, not {job.id}"
    if proof.key.lower() != job.key.lower():
        return f"the proof claims key {proof.key}, the job's circuit has {job.key}"
    if words is not None and len(proof.words) != words:
        return f"the proof has {len(proof.words)} words, a {job.kind} proof has {words}"
    for word in proof.words:
        if not (isinstance(word, str) and len(word) == WORD_HEX and word.startswith("0x")):
            return "a proof word is not 0x and 64 hex digits"
        try:
            if len(bytes.fromhex(word[2:])) != 32:  # fromhex skips spaces; int() takes underscores
                return "a proof word is not 32 bytes of hex"
        except ValueError:
            return "a proof word is not hex"
    return None


@dataclass
class SimulatedProofs:
    """Jobs that take their measured time (log-normal around the medians) and yield keyed hashes."""

    segment_s: float
    merge_s: float
    sigma: float = 0.0
    secret: str = SIM_SECRET

    @property
    def spec(self) -> dict:
        return sim_spec(self.segment_s, self.merge_s, self.sigma, self.secret)

    def keys(self) -> dict[str, str]:
        return {kind: "0x" + hashlib.sha256(f"{self.secret}/{kind}/key".encode()).hexdigest()
                for kind in ("segment", "merge", "root")}

    def seconds(self, job: Job) -> float:
        median = self.segment_s if job.kind == SEGMENT else self.merge_s
        if self.sigma <= 0:
            return median
        return median * random.Random(job.id).lognormvariate(0.0, self.sigma)

    def digest(self, key: str, statement: Sequence[int], salt: str) -> str:
        text = f"{self.secret}/{key.lower()}/{salt}/" + ",".join(hex(f) for f in statement)
        return "0x" + hashlib.sha256(text.encode()).hexdigest()

    def prove(self, job: Job, payload: dict, children: Sequence[tuple[Job, JobProof]], prover: str) -> JobProof:
        for child, proof in children:
            reason = self.verify(child, proof)
            if reason:
                raise InvalidInput(f"child {child.id}: {reason}")
        seconds = self.seconds(job)
        attempt_sleep(seconds)  # the prover's run time; a given-up attempt stops, as bb is killed
        salt = "0x" + secrets.token_hex(32)  # like a ZK proof, two proofs of one job differ
        words = (self.digest(job.key, job.statement, salt), salt) + ("0x" + "00" * 32,) * (SIM_WORDS - 2)
        return JobProof(job.id, words, job.key, prover, seconds)

    def verify(self, job: Job, proof: JobProof) -> str | None:
        reason = check_shape(job, proof, SIM_WORDS)
        if reason:
            return reason
        if proof.words[0] != self.digest(job.key, job.statement, proof.words[1]):
            return "the proof does not verify against the job's statement and key"
        return None


class BbProofs:
    """Segments and merges of circuits/ proven by bb, as `linen.prover.backends.zk` proves them."""

    def __init__(self, zk_dir: Path, threads: int = 1, segment_project: Path | None = None) -> None:
        from linen.zk.proof_tree import TreeProver
        from linen.zk.toolchain import Toolchain

        self.zk_dir = Path(zk_dir)
        self.threads = threads
        self.segment_project = segment_project
        # each process proves in its own folder: two copies of one job must not share files
        self.prover = TreeProver(Toolchain(self.zk_dir / "cache", self.zk_dir / "srs", threads=threads or None),
                                 self.zk_dir / "jobs" / str(os.getpid()), segment_project)
        self._keys = {SEGMENT: self.prover.segment_key, MERGE: self.prover.merge_key}
        self._vk_bytes: dict[str, bytes] = {}
        self._tau_g2 = (self.prover.tc.crs_dir / "bn254_g2.dat").read_bytes()
        from linen.zk.toolchain import ExecutionFailed, UnsatisfiedWitness

        # the circuit refuses the inputs: a property of the job, not of the worker
        self.refusals = (ExecutionFailed, UnsatisfiedWitness, InvalidInput)

    @property
    def spec(self) -> dict:
        return bb_spec(self.zk_dir, self.threads, self.segment_project)

    def keys(self) -> dict[str, str]:
        return {kind: key.hash for kind, key in self._keys.items()}

    def key(self, kind: str):  # type: ignore[no-untyped-def]
        """The `Key` (vk fields and hash) a parent circuit takes for proofs of this kind."""
        return self._keys[kind]

    def _tree_proof(self, job: Job, proof: JobProof):  # type: ignore[no-untyped-def]
        from linen.zk.proof_tree import TreeProof
        from linen.zk.segment_witness import Range

        return TreeProof(Range.from_fields(list(job.statement)), list(proof.words), self._keys[job.kind], proof.seconds)

    def prove(self, job: Job, payload: dict, children: Sequence[tuple[Job, JobProof]], prover: str) -> JobProof:
        from linen.zk.segment_witness import Range

        statement = Range.from_fields(list(job.statement))
        if job.kind == SEGMENT:
            made = self.prover.prove_segment(statement, payload)
        elif job.kind == MERGE:
            left, right = (self._tree_proof(child, proof) for child, proof in children)
            made = self.prover.prove_merge(left, right, statement)
        else:
            raise InvalidInput(f"BbProofs proves segments and merges, not {job.kind} jobs")
        return JobProof(job.id, tuple(made.proof), made.key.hash, prover, made.seconds)

    def verify(self, job: Job, proof: JobProof) -> str | None:
        """Linen's own UltraHonk verifier (linen/zk/honk.py) against the job's circuit key, its
        statement as the public inputs and this SRS's [tau]_2: the whole proof, pairing included,
        in milliseconds. Without the native module (no Rust at set-up), bb's sumcheck and
        reduction, which leave the final pairing unchecked."""
        from linen.zk import honk
        from linen.zk.proof_tree import PROOF_FIELDS

        if job.kind not in self._keys:
            return f"no {job.kind} circuit here"
        reason = check_shape(job, proof, PROOF_FIELDS)
        if reason:
            return reason
        proof_bytes = b"".join(bytes.fromhex(w[2:]) for w in proof.words)
        try:
            public = b"".join(f.to_bytes(32, "big") for f in job.statement)
        except (AttributeError, OverflowError):
            return "the job's statement is not a list of 32-byte field elements"
        if honk.available():
            return self.verify_native(job.kind, proof_bytes, public)
        return self.verify_with_bb(job.kind, proof_bytes, public)

    def verify_native(self, kind: str, proof: bytes, public: bytes) -> str | None:
        from linen.zk import honk
        from linen.zk.proof_tree import RECURSIVE

        if kind not in self._vk_bytes:
            circuit = self.prover.segment if kind == SEGMENT else self.prover.merge
            self._vk_bytes[kind] = self.prover.tc.write_vk(circuit, RECURSIVE).read_bytes()
        reason = honk.verify(RECURSIVE, self._vk_bytes[kind], proof, public, self._tau_g2)
        return f"Linen's verifier refuses the proof: {reason}" if reason else None

    def verify_with_bb(self, kind: str, proof: bytes, public: bytes) -> str | None:
        """bb verify's sumcheck and reduction verdicts (its pairing uses Aztec's [x]_2, not ours)."""
        from linen.zk.proof_tree import RECURSIVE

        circuit = self.prover.segment if kind == SEGMENT else self.prover.merge
        tc = self.prover.tc
        with tempfile.TemporaryDirectory(dir=self.zk_dir) as tmp:
            Path(tmp, "proof").write_bytes(proof)
            Path(tmp, "public_inputs").write_bytes(public)
            checks = tc.native_checks(tc.write_vk(circuit, RECURSIVE), Path(tmp), RECURSIVE)
        if not (checks.get("sumcheck_verified") and checks.get("reduced to pairing check")):
            return f"bb's verifier refuses the proof ({checks or 'no verdict'})"
        return None


@lru_cache(maxsize=4)
def _cached(spec_items: tuple) -> ProofSystem:
    spec = dict(spec_items)
    if spec.get("system") == "sim":
        return SimulatedProofs(float(spec["segment_s"]), float(spec["merge_s"]), float(spec.get("sigma", 0.0)),
                               str(spec.get("secret", SIM_SECRET)))
    if spec.get("system") == "bb":
        project = spec.get("segment_project")
        return BbProofs(Path(spec["zk_dir"]), int(spec.get("threads", 1)), Path(project) if project else None)
    raise InvalidInput(f"unknown proof system {spec.get('system')!r} (sim or bb)")


def make_system(spec: dict) -> ProofSystem:
    """The proof system a spec names (one per process and spec)."""
    return _cached(tuple(sorted(spec.items())))
