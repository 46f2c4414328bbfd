"""Seeded faults for tests and benchmarks: a worker that crashes, hangs, runs slow or lies.

Each attempt at a job draws its fault from `FaultPlan.draw(job, attempt, worker)`: with probability
`q` one of `kinds` (uniformly), else none. The draw depends only on the seed and those three, so a
run is reproducible and a re-issued attempt draws afresh. `apply` carries a fault out around an
honest `prove` call:

- `crash`: the worker process dies mid-job (`os._exit`), after half the job's time;
- `hang`: it stops answering (sleeps far past any lease);
- `slow3`, `slow10`: the job takes 3x or 10x its time, then an honest proof;
- `garbage`: random words; `other-job`: a valid proof of another statement; `other-key`: a proof
  under another circuit's key.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from linen.network.jobs import Job, JobProof
from linen.zk.tool_process import attempt_sleep

KINDS = ("crash", "hang", "slow3", "slow10", "garbage", "other-job", "other-key")
LIES = frozenset({"garbage", "other-job", "other-key"})
HANG_S = 3600.0


@dataclass(frozen=True)
class FaultPlan:
    q: float = 0.0
    seed: int = 0
    kinds: tuple[str, ...] = KINDS

    def draw(self, job_id: str, attempt: int, worker: str) -> str | None:
        if self.q <= 0:
            return None
        digest = hashlib.sha256(f"{self.seed}/{job_id}/{attempt}/{worker}".encode()).digest()
        rng = random.Random(digest)
        return rng.choice(self.kinds) if rng.random() < self.q else None

    def to_text(self) -> str:
        """`Q:SEED`, or `Q:SEED:KIND,KIND` for fewer kinds (the worker's hidden `--faults` option)."""
        text = f"{self.q}:{self.seed}"
        return text if self.kinds == KINDS else f"{text}:{','.join(self.kinds)}"

    @classmethod
    def from_text(cls, text: str) -> FaultPlan:
        q, seed, *kinds = text.split(":")
        chosen = tuple(kinds[0].split(",")) if kinds else KINDS
        unknown = set(chosen) - set(KINDS)
        if unknown or len(kinds) > 1:
            raise ValueError(f"faults: Q:SEED or Q:SEED:KIND,KIND with kinds among {', '.join(KINDS)}; not {text!r}")
        return cls(float(q), int(seed), chosen)

    def to_json(self) -> dict:
        return {"q": self.q, "seed": self.seed, "kinds": list(self.kinds)}

    @classmethod
    def from_json(cls, data: dict | None) -> FaultPlan:
        if not data:
            return cls()
        return cls(float(data["q"]), int(data["seed"]), tuple(data.get("kinds", KINDS)))


def apply(fault: str | None, job: Job, honest: Callable[[], JobProof], expected_s: float,
          other_key: str, rng: random.Random, other_job: JobProof | None = None) -> JobProof:
    """Run `honest` under `fault` (None: as it is). `other_job`: a valid proof of another job, which
    the `other-job` lie passes off as this one's (without one, a proof with one word changed)."""
    if fault == "crash":
        time.sleep(expected_s / 2)
        os._exit(70)
    if fault == "hang":
        time.sleep(HANG_S)
    if fault in ("slow3", "slow10"):
        start = time.monotonic()
        proof = honest()
        elapsed = time.monotonic() - start
        attempt_sleep(elapsed * (3 if fault == "slow3" else 10) - elapsed)
        return proof
    proof = honest()
    if fault == "garbage":
        return replace(proof, words=tuple("0x" + rng.randbytes(32).hex() for _ in range(len(proof.words))))
    if fault == "other-job":
        if other_job is not None and other_job.words != proof.words:
            return replace(proof, words=other_job.words)
        return replace(proof, words=_other_statement_words(proof.words, rng))
    if fault == "other-key":
        return replace(proof, key=other_key)
    return proof


def _other_statement_words(words: Sequence[str], rng: random.Random) -> tuple[str, ...]:
    """A proof of a neighbouring statement: the proof words of the job with one word changed, which
    is what a proof made for other public inputs looks like to the verifier."""
    changed = list(words)
    i = rng.randrange(len(changed))
    changed[i] = "0x" + hashlib.sha256(changed[i].encode()).hexdigest()
    return tuple(changed)
