"""`linen bench zk`: what each circuit of the proof tree costs on this machine.

Per circuit (segment at several K, merge, root): gates and dyadic size, witness time, prove time
and bb's peak memory, proof size; the root's verify gas on anvil; and a batch of transfers proven
as a tree serially and with two bb processes side by side (one thread each), with the ratio.
Each bb prove runs in its own child process so its peak RSS can be read (RUSAGE_CHILDREN).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from linen.benchmarks.machine import machine_info, publish

CHAIN_ID = 59144
SRS_POINTS = 2**21 + 1


def _transfers(n: int, senders: int = 8):
    """n signed transfers from `senders` funded keys (all three types, new and existing recipients)."""
    from eth_account import Account

    from linen.execution.transactions import decode_transaction

    keys = [Account.from_key(bytes([i + 1]) * 32) for i in range(senders)]
    out = []
    for i in range(n):
        who, nonce = keys[i % senders], i // senders
        to = (i + 1000).to_bytes(20, "big") if i % 2 == 0 else bytes.fromhex(keys[(i + 1) % senders].address[2:])
        fields = [dict(nonce=nonce, gasPrice=10**9, gas=21000),
                  dict(type=1, nonce=nonce, gasPrice=10**9, gas=21000, accessList=[]),
                  dict(type=2, nonce=nonce, maxFeePerGas=2 * 10**9, maxPriorityFeePerGas=10**8, gas=21000,
                       accessList=[])][i % 3]
        raw = who.sign_transaction({"chainId": CHAIN_ID, "to": to, "value": 10**15 + i, **fields}).raw_transaction
        out.append(decode_transaction(bytes(raw), CHAIN_ID))
    return keys, out


def _funded_tree(keys):
    from linen.state.encoding import EMPTY_KECCAK_CODE_HASH, AccountValue, code_hash
    from linen.state.hashers import get_hasher
    from linen.state.tree import SparseMerkleTree, empty_root

    hasher = get_hasher("poseidon2-bn254")
    tree = SparseMerkleTree(hasher)
    for key in keys:
        tree.put(bytes.fromhex(key.address[2:]),
                 AccountValue(0, 10**21, empty_root(hasher.name), code_hash(hasher, b""), EMPTY_KECCAK_CODE_HASH, 0).encode())
    return tree


def _timed_bb(tc, circuit, witness: Path, out: Path, target: str, threads: int | None = None) -> dict[str, Any]:
    """One `bb prove` as its own process: seconds and peak RSS (GNU time's report)."""
    vk = tc.write_vk(circuit, target)
    env = {k: v for k, v in os.environ.items() if k not in ("BB_VERIFY_CRS", "CRS_PATH")}
    if threads:
        env["HARDWARE_CONCURRENCY"] = str(threads)
    out.mkdir(parents=True, exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    proc = subprocess.run(
        [str(tc.bb), "prove", "-b", str(circuit.program_path), "-w", str(witness), "-k", str(vk), "-o", str(out),
         "-t", target, "-c", str(tc.crs_dir)], capture_output=True, text=True, env=env, timeout=1800)
    seconds = time.monotonic() - started
    if proc.returncode or "Builder failure" in proc.stdout + proc.stderr:
        raise RuntimeError(f"bb prove failed: {proc.stderr[-400:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"prove_s": round(seconds, 2), "peak_mb_at_least": round(max(peak, before) / 1024, 1),
            "proof_bytes": (out / "proof").stat().st_size}


def run(ks: tuple[int, ...], batch: int, out: Path, workdir: Path | None = None) -> dict[str, Any]:
    from linen.zk import srs
    from linen.zk.proof_tree import TreeProver, segment_project
    from linen.zk.segment_witness import BlockContext, SegmentBuilder
    from linen.zk.toolchain import Toolchain

    work = Path(workdir or tempfile.mkdtemp(prefix="linen-bench-zk-"))
    started = time.monotonic()
    srs_info = srs.ensure_dev_srs(work / "srs", SRS_POINTS)
    srs_seconds = time.monotonic() - started
    tc = Toolchain(work / "cache", work / "srs")
    result: dict[str, Any] = {"machine": machine_info(), "date": time.strftime("%Y-%m-%d"),
                              "srs": {"points": SRS_POINTS, "seconds": round(srs_seconds, 2),
                                      "points_per_s": round(SRS_POINTS / srs_seconds) if srs_seconds > 1 else None,
                                      "label": srs_info.label if hasattr(srs_info, "label") else ""},
                              "segments": [], "circuits": {}}
    coinbase = bytes.fromhex("c0" * 20)
    for k in ks:
        keys, txs = _transfers(k)
        circuit = tc.compile(segment_project(k, work / "circuits"))
        gates = tc.gates(circuit, "noir-recursive")
        statement, inputs = SegmentBuilder(_funded_tree(keys), CHAIN_ID, k).segment(
            BlockContext(1, 1_700_000_000, 7, coinbase, k), txs, 0, 0)
        t = time.monotonic()
        tc.execute(circuit, inputs, work / f"seg{k}.gz")
        witness_s = time.monotonic() - t
        row = {"k": k, **gates, "dyadic": 1 << (gates["circuit_size"] - 1).bit_length(),
               "gates_per_transfer": round(gates["circuit_size"] / k), "witness_s": round(witness_s, 2),
               **_timed_bb(tc, circuit, work / f"seg{k}.gz", work / f"p{k}", "noir-recursive")}
        row["prove_s_per_transfer"] = round(row["prove_s"] / k, 2)
        result["segments"].append(row)
        print(row, flush=True)

    # The tree of a batch: segments of K = 8, merges, the root; serial then two provers side by side.
    prover = TreeProver(tc, work / "jobs")
    k = 8
    keys, txs = _transfers(batch)
    builder = SegmentBuilder(_funded_tree(keys), CHAIN_ID, k)
    block = BlockContext(1, 1_700_000_000, 7, coinbase, batch)
    segments, h = [], 0
    for i in range(0, batch, k):
        statement, inputs = builder.segment(block, txs[i:i + k], i, h, prover.vk_hashes)
        h = statement.tx_hash_end
        segments.append((statement, inputs))
    for name, circuit in (("merge", prover.merge), ("root", prover.root)):
        gates = tc.gates(circuit, "noir-recursive" if name == "merge" else "evm")
        result["circuits"][name] = {**gates, "dyadic": 1 << (gates["circuit_size"] - 1).bit_length()}

    def tree(workers: int) -> dict[str, Any]:
        t0 = time.monotonic()
        with ThreadPoolExecutor(workers) as pool:
            level = list(pool.map(lambda s: prover.prove_segment(*s), segments))
            seconds = [p.seconds for p in level]
            merges = []
            while len(level) > 1:
                pairs = [(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
                nxt = list(pool.map(lambda p: prover.prove_merge(*p), pairs))
                merges += [m.seconds for m in nxt]
                level = nxt + ([level[-1]] if len(level) % 2 else [])
        return {"workers": workers, "wall_s": round(time.monotonic() - t0, 1),
                "segment_prove_s_median": round(statistics.median(seconds), 1),
                "merge_prove_s_median": round(statistics.median(merges), 1) if merges else None,
                "top": level[0]}

    runs = []
    for workers in (1, 2):
        prover.work_dir = work / f"jobs-{workers}"  # no cache shared between the two runs
        if workers == 2:
            os.environ["HARDWARE_CONCURRENCY"] = "1"  # one bb thread each
        try:
            runs.append(tree(workers))
        finally:
            os.environ.pop("HARDWARE_CONCURRENCY", None)
    top = runs[0].pop("top")
    runs[1].pop("top")
    result["batch"] = {"transfers": batch, "segment_k": k, "runs": runs,
                       "speedup_2_workers": round(runs[0]["wall_s"] / runs[1]["wall_s"], 2)}
    result["top_statement_blocks"] = [top.statement.first[0], top.statement.last[0]]
    return publish(out, result, _table)


def _table(r: dict[str, Any]) -> str:
    lines = ["segment  K  gates      dyadic    witness s  prove s  s/transfer  proof B"]
    for s in r["segments"]:
        lines.append(f"         {s['k']:<2} {s['circuit_size']:<10} {s['dyadic']:<9} {s['witness_s']:<10} "
                     f"{s['prove_s']:<8} {s['prove_s_per_transfer']:<11} {s['proof_bytes']}")
    for name, c in r["circuits"].items():
        lines.append(f"{name:<8} gates {c['circuit_size']} (dyadic {c['dyadic']})")
    b = r["batch"]
    for run_ in b["runs"]:
        lines.append(f"batch of {b['transfers']}, {run_['workers']} worker(s): {run_['wall_s']} s "
                     f"(segment median {run_['segment_prove_s_median']} s, merge median {run_['merge_prove_s_median']} s)")
    lines.append(f"2 workers vs 1: x{b['speedup_2_workers']}")
    return "\n".join(lines)
