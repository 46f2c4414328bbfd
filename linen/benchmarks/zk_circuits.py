"""`linen bench zk`: what each circuit of the proof tree costs on this machine.

Per circuit (segment at several K, merge, root): gates and dyadic size, witness time, prove time
and bb's peak memory, proof size; the root's verify gas on anvil; and a batch of transfers proven
as a tree serially and with two bb processes side by side (one thread each), with the ratio.
Each bb prove runs in its own child process so its peak RSS can be read (RUSAGE_CHILDREN).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
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


# Runs one command and prints its peak RSS (KiB): bb's own, not the benchmark's or other children's.
_PEAK = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:]); "
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(p.returncode)")


def _timed_bb(tc, circuit, witness: Path, out: Path, target: str, threads: int | None = None) -> dict[str, Any]:
    """One `bb prove` as its own process: seconds, its peak RSS, proof size."""
    vk = tc.write_vk(circuit, target)
    env = {k: v for k, v in os.environ.items() if k not in ("BB_VERIFY_CRS", "CRS_PATH")}
    if threads:
        env["HARDWARE_CONCURRENCY"] = str(threads)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", _PEAK, str(tc.bb), "prove", "-b", str(circuit.program_path), "-w", str(witness),
         "-k", str(vk), "-o", str(out), "-t", target, "-c", str(tc.crs_dir)],
        capture_output=True, text=True, env=env, timeout=1800)
    seconds = time.monotonic() - started
    if proc.returncode or "Builder failure" in proc.stdout + proc.stderr:
        raise RuntimeError(f"bb prove failed: {proc.stderr[-400:]}")
    peak_kib = int(proc.stderr.strip().splitlines()[-1])
    return {"prove_s": round(seconds, 2), "peak_mb": round(peak_kib / 1024, 1),
            "proof_bytes": (out / "proof").stat().st_size}


def _execute(tc, circuit, inputs: dict, witness: Path) -> float:
    t = time.monotonic()
    tc.execute(circuit, inputs, witness)
    return round(time.monotonic() - t, 2)


def _root_inputs(top) -> tuple[dict, int]:  # type: ignore[no-untyped-def]
    """Finalization witnesses for `top`: the genesis as last finalized shnarf, one blob ending at its root."""
    from linen.protocol.public_input import FinalizationPublicInputFields, compute_public_input
    from linen.protocol.shnarf import compute_shnarf

    zero = bytes(32)
    parent, final = (x.to_bytes(32, "big") for x in (top.statement.parent_root, top.statement.final_root))
    last = compute_shnarf(zero, zero, parent, zero, zero)
    snark, x, y = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32
    fields = FinalizationPublicInputFields(
        last_finalized_shnarf=last, final_shnarf=compute_shnarf(last, snark, final, x, y),
        last_finalized_timestamp=top.statement.first[1] - 1, final_timestamp=top.statement.last[1],
        last_finalized_block_number=top.statement.first[0] - 1, end_block_number=top.statement.last[0],
        last_finalized_l1_rolling_hash=zero, l1_rolling_hash=zero, last_finalized_l1_rolling_hash_message_number=0,
        l1_rolling_hash_message_number=0, l2_merkle_trees_depth=5, l2_merkle_roots=())
    public_input = compute_public_input(fields)

    def blob(s: bytes, root: bytes, bx: bytes, by: bytes) -> dict:
        return {"snark_hash": [str(b) for b in s], "final_state_root": "0x" + root.hex(),
                "x": [str(b) for b in bx], "y": [str(b) for b in by]}

    pad = blob(zero, zero, zero, zero)
    return {"public_input": hex(public_input), "parent_shnarf_parent": [str(b) for b in zero],
            "parent_blob": blob(zero, parent, zero, zero), "blobs": [blob(snark, final, x, y), pad, pad, pad],
            "blob_count": "1", "last_finalized_timestamp": hex(fields.last_finalized_timestamp),
            "last_finalized_block_number": hex(fields.last_finalized_block_number),
            "l1_rolling_hash": [str(b) for b in zero], "l1_rolling_hash_message_number": "0x0",
            "l2_merkle_trees_depth": "0x5"}, public_input


def _verify_gas(tc, prover, proof: bytes, public: list[str], work: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The root proof checked by bb's Solidity verifier (the SRS's G2) on a fresh anvil: its gas."""
    from web3 import Web3

    from linen.l1.anvil import ANVIL_FIRST_KEY, launch_anvil
    from linen.l1.zk_verifier import call_verify, compile_verifier, deploy_verifier

    build = compile_verifier(tc.solidity_verifier(prover.root), work / "sol")
    anvil = launch_anvil(None)
    try:
        w3 = Web3(Web3.HTTPProvider(anvil.url))
        address = deploy_verifier(w3, ANVIL_FIRST_KEY, build)
        verdict = call_verify(w3, address, build, proof, [int(x, 16).to_bytes(32, "big") for x in public])
        if not verdict.accepted:
            raise RuntimeError(f"the root proof does not verify on anvil: {verdict.error}")
        return {"verify_gas": verdict.gas, "verifier_bytes": build.deployed_size}
    finally:
        anvil.stop()


def run(ks: tuple[int, ...], batch: int, out: Path, workdir: Path | None = None) -> dict[str, Any]:
    from linen.prover.backends.zk import segment_size
    from linen.zk import srs
    from linen.zk.proof_tree import TreeProver, segment_project
    from linen.zk.segment_witness import BlockContext, SegmentBuilder, join
    from linen.zk.toolchain import Toolchain, read_proof

    work = Path(workdir or tempfile.mkdtemp(prefix="linen-bench-zk-"))
    shutil.rmtree(work / "srs", ignore_errors=True)  # timed from scratch
    started = time.monotonic()
    srs.ensure_dev_srs(work / "srs", SRS_POINTS)
    srs_seconds = time.monotonic() - started
    tc = Toolchain(work / "cache", work / "srs")
    result: dict[str, Any] = {"machine": machine_info(), "date": time.strftime("%Y-%m-%d"),
                              "srs": {"points": SRS_POINTS, "seconds": round(srs_seconds, 2),
                                      "points_per_s": round(SRS_POINTS / srs_seconds)},
                              "segments": [], "circuits": {}}
    coinbase = bytes.fromhex("c0" * 20)
    for k in ks:
        keys, txs = _transfers(k)
        circuit = tc.compile(segment_project(k, work / "circuits"))
        gates = tc.gates(circuit, "noir-recursive")
        statement, inputs = SegmentBuilder(_funded_tree(keys), CHAIN_ID, k).segment(
            BlockContext(1, 1_700_000_000, 7, coinbase, k), txs, 0, 0)
        witness_s = _execute(tc, circuit, inputs, work / f"seg{k}.gz")
        row = {"k": k, **gates, "dyadic": 1 << (gates["circuit_size"] - 1).bit_length(),
               "gates_per_transfer": round(gates["circuit_size"] / k), "witness_s": witness_s,
               **_timed_bb(tc, circuit, work / f"seg{k}.gz", work / f"p{k}", "noir-recursive")}
        row["prove_s_per_transfer"] = round(row["prove_s"] / k, 2)
        result["segments"].append(row)
        print(row, flush=True)

    # The tree of a batch with the production segment circuit; serial, then two provers side by side.
    prover = TreeProver(tc, work / "jobs")
    k = segment_size()
    keys, txs = _transfers(batch)
    builder = SegmentBuilder(_funded_tree(keys), CHAIN_ID, k)
    block = BlockContext(1, 1_700_000_000, 7, coinbase, batch)
    segments, h = [], 0
    for i in range(0, batch, k):
        statement, inputs = builder.segment(block, txs[i:i + k], i, h, prover.vk_hashes)
        h = statement.tx_hash_end
        segments.append((statement, inputs))

    def tree(workers: int) -> dict[str, Any]:
        t0 = time.monotonic()
        with ThreadPoolExecutor(workers) as pool:
            level = list(pool.map(lambda s: prover.prove_segment(*s), segments))
            leaves = level[:2]
            seconds = [p.seconds for p in level]
            merges = []
            while len(level) > 1:
                pairs = [(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
                nxt = list(pool.map(lambda p: prover.prove_merge(*p), pairs))
                merges += [m.seconds for m in nxt]
                level = nxt + ([level[-1]] if len(level) % 2 else [])
        return {"workers": workers, "wall_s": round(time.monotonic() - t0, 1), "segments": len(segments),
                "merges": len(merges), "segment_prove_s_median": round(statistics.median(seconds), 1),
                "merge_prove_s_median": round(statistics.median(merges), 1) if merges else None,
                "top": level[0], "leaves": leaves}

    runs = []
    for workers in (1, 2):
        prover.work_dir = work / f"jobs-{workers}"  # no cache shared between the two runs
        if workers == 2:
            os.environ["HARDWARE_CONCURRENCY"] = "1"  # one bb thread each
        try:
            runs.append(tree(workers))
        finally:
            os.environ.pop("HARDWARE_CONCURRENCY", None)
    top, leaves = runs[0].pop("top"), runs[0].pop("leaves")
    runs[1].pop("top")
    runs[1].pop("leaves")

    # One merge and the root on their own: time, bb's peak memory, proof size; the root's gas on L1.
    if len(leaves) == 2:
        s0, s1 = leaves
        gates = tc.gates(prover.merge, "noir-recursive")
        inputs = prover.merge_inputs(s0, s1, join(s0.statement, s1.statement))
        witness_s = _execute(tc, prover.merge, inputs, work / "merge.gz")
        result["circuits"]["merge"] = {**gates, "dyadic": 1 << (gates["circuit_size"] - 1).bit_length(),
                                       "witness_s": witness_s,
                                       **_timed_bb(tc, prover.merge, work / "merge.gz", work / "pm", "noir-recursive")}
    root_inputs, _ = _root_inputs(top)
    gates = tc.gates(prover.root, "evm")
    witness_s = _execute(tc, prover.root, prover.root_circuit_inputs(top, root_inputs), work / "root.gz")
    timed = _timed_bb(tc, prover.root, work / "root.gz", work / "pr", "evm")
    root_proof = read_proof(work / "pr")
    result["circuits"]["root"] = {**gates, "dyadic": 1 << (gates["circuit_size"] - 1).bit_length(),
                                  "witness_s": witness_s, **timed,
                                  **_verify_gas(tc, prover, root_proof.proof, root_proof.public_inputs_hex, work)}
    serial = runs[0]["wall_s"] + result["circuits"]["root"]["prove_s"]
    result["batch"] = {"transfers": batch, "segment_k": k, "runs": runs,
                       "speedup_2_workers": round(runs[0]["wall_s"] / runs[1]["wall_s"], 2),
                       "serial_with_root_s": round(serial, 1),
                       "serial_peak_mb": max(r["peak_mb"] for r in [*result["segments"], *result["circuits"].values()]
                                             if r.get("k", k) == k)}
    result["top_statement_blocks"] = [top.statement.first[0], top.statement.last[0]]
    return publish(out, result, _table)


def _table(r: dict[str, Any]) -> str:
    lines = [f"zk proof tree, {r['date']}; SRS {r['srs']['points']} points in {r['srs']['seconds']} s "
             f"({r['srs']['points_per_s']} points/s)",
             "circuit   K  gates      dyadic    witness s  prove s  s/transfer  peak MB  proof B"]
    for s in r["segments"]:
        lines.append(f"segment   {s['k']:<2} {s['circuit_size']:<10} {s['dyadic']:<9} {s['witness_s']:<10} "
                     f"{s['prove_s']:<8} {s['prove_s_per_transfer']:<11} {s['peak_mb']:<8} {s['proof_bytes']}")
    for name, c in r["circuits"].items():
        lines.append(f"{name:<9} -  {c['circuit_size']:<10} {c['dyadic']:<9} {c['witness_s']:<10} "
                     f"{c['prove_s']:<8} {'':<11} {c['peak_mb']:<8} {c['proof_bytes']}")
    if "verify_gas" in r["circuits"].get("root", {}):
        lines.append(f"root verified on anvil: {r['circuits']['root']['verify_gas']} gas")
    b = r["batch"]
    for run_ in b["runs"]:
        lines.append(f"batch of {b['transfers']} (K={b['segment_k']}), {run_['workers']} worker(s): {run_['wall_s']} s "
                     f"for {run_['segments']} segments and {run_['merges']} merges (segment median "
                     f"{run_['segment_prove_s_median']} s, merge median {run_['merge_prove_s_median']} s)")
    lines.append(f"2 workers vs 1: x{b['speedup_2_workers']}; serial with the root {b['serial_with_root_s']} s, "
                 f"peak {b['serial_peak_mb']} MB")
    return "\n".join(lines)
