"""The proving toolchain end to end on a tiny circuit, under an SRS Linen made itself.

circuits/toolchain_check (x * y == z, z public, x, y != 1) compiled by noir_wasm, executed by noir_js,
keyed and proven by the native bb of @aztec/bb.js 5.0.0 with `-c` pointing at a 2^12+1-point SRS from
`linen_native` (bb never downloads), and checked by bb's Solidity verifier on anvil with the SRS's
[tau]_2 patched in. Also pins down the traps: bb prove exits 0 on an unsatisfiable witness (only a
'Builder failure' line says so), bb verify rejects proofs under a non-Aztec SRS, and the unpatched
verifier (Aztec's G2) rejects a valid proof made under Linen's SRS.

One test, so that pytest-xdist does not compile and key the circuit twice.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CIRCUIT = ROOT / "circuits" / "toolchain_check"
SRS_POINTS = 2**12 + 1


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 1]) + data[index + 1:]


def test_prove_under_linen_srs_and_verify_on_anvil(tmp_path):
    from web3 import Web3

    from linen.l1.anvil import ANVIL_FIRST_KEY, launch_anvil
    from linen.l1.zk_verifier import call_verify, compile_verifier, deploy_verifier
    from linen.zk import srs
    from linen.zk.toolchain import (
        AZTEC_G2,
        ExecutionFailed,
        Toolchain,
        UnsatisfiedWitness,
        bb_version,
        tamper_witness_value,
    )

    assert bb_version().startswith("5.0.0"), bb_version()
    info = srs.generate(tmp_path / "srs", SRS_POINTS, seed=b"linen test only: anyone can forge")
    srs.verify(tmp_path / "srs", SRS_POINTS)
    assert info.g2 != AZTEC_G2[:]
    tc = Toolchain(tmp_path / "cache", tmp_path / "srs")

    circuit = tc.compile(CIRCUIT)
    assert tc.compile(CIRCUIT) == circuit  # cached by source hash
    gates = tc.gates(circuit)
    assert gates["acir_opcodes"] > 0 and gates["circuit_size"] > 0

    # A valid witness gives a proof whose only public input is z.
    good = tmp_path / "w" / "good.gz"
    assert tc.execute(circuit, {"x": "3", "y": "7", "z": "21"}, good) is None
    proof = tc.prove(circuit, good, tmp_path / "proof-good")
    assert proof.public_inputs == [(21).to_bytes(32, "big")]
    vk = tc.write_vk(circuit)
    assert tc.write_vk(circuit) == vk  # written once

    # noir_js refuses inputs that break an assertion...
    with pytest.raises(ExecutionFailed, match="Cannot satisfy constraint"):
        tc.execute(circuit, {"x": "1", "y": "21", "z": "21"}, tmp_path / "w" / "refused.gz")
    # ...but bb proves a tampered witness, exits 0 and writes a proof; only a log line tells.
    bad = tmp_path / "w" / "bad.gz"
    bad.write_bytes(tamper_witness_value(good.read_bytes(), 21, 22))
    raw = subprocess.run(
        [str(tc.bb), "prove", "-b", str(circuit.program_path), "-w", str(bad), "-k", str(vk),
         "-o", str(tmp_path / "proof-raw-bad"), "-t", "evm", "-c", str(tc.crs_dir)],
        capture_output=True, text=True, timeout=300,
    )
    assert raw.returncode == 0 and "Builder failure" in raw.stdout + raw.stderr
    assert (tmp_path / "proof-raw-bad" / "proof").exists()
    with pytest.raises(UnsatisfiedWitness, match="Builder failure"):
        tc.prove(circuit, bad, tmp_path / "proof-bad")

    # bb's own verifier pairs against Aztec's G2: it rejects the valid proof at the pairing check,
    # after its sumcheck and the reduction to a pairing both passed.
    assert tc.verify(vk, proof.directory) is False
    checks = tc.native_checks(vk, proof.directory)
    assert checks.get("sumcheck_verified") and checks.get("reduced to pairing check"), checks
    assert checks.get("pairing check") is False, checks

    # The Solidity verifier with the SRS's [tau]_2 accepts the proof on anvil, and nothing else.
    patched = compile_verifier(tc.solidity_verifier(circuit), tmp_path / "sol")
    aztec = compile_verifier(tc.solidity_verifier(circuit, g2=AZTEC_G2), tmp_path / "sol")
    assert patched.bytecode != aztec.bytecode
    anvil = launch_anvil(None)
    try:
        w3 = Web3(Web3.HTTPProvider(anvil.url))
        ours = deploy_verifier(w3, ANVIL_FIRST_KEY, patched)
        theirs = deploy_verifier(w3, ANVIL_FIRST_KEY, aztec)
        z = proof.public_inputs
        verdict = call_verify(w3, ours, patched, proof.proof, z)
        assert verdict.accepted, verdict
        assert verdict.gas and verdict.gas < 3_000_000
        print(f"\nverify gas {verdict.gas}, prove {proof.seconds:.2f} s, gates {gates}, "
              f"deployed {patched.deployed_size} bytes with {patched.linked_libraries()}")
        for label, bad_proof, inputs in (
            ("tampered proof", _flip(proof.proof, len(proof.proof) // 2), z),
            ("tampered first word", _flip(proof.proof, 31), z),
            ("wrong public input", proof.proof, [(22).to_bytes(32, "big")]),
            ("proof of the unsatisfiable witness", (tmp_path / "proof-raw-bad" / "proof").read_bytes(),
             [(22).to_bytes(32, "big")]),
            ("truncated proof", proof.proof[:-32], z),
        ):
            verdict = call_verify(w3, ours, patched, bad_proof, inputs)
            assert not verdict.accepted, f"{label} accepted"
            assert verdict.error, label
            print(f"{label}: {verdict.error}")
        verdict = call_verify(w3, theirs, aztec, proof.proof, z)
        assert not verdict.accepted, "the verifier with Aztec's G2 accepted a proof made under Linen's SRS"
        print(f"Aztec's G2: {verdict.error}")

        # A proof under another SRS (another tau) is rejected by this SRS's verifier.
        other = srs.generate(tmp_path / "srs-other", SRS_POINTS, seed=b"another tau")
        assert other.g2 != info.g2
        tc_other = Toolchain(tmp_path / "cache", tmp_path / "srs-other")
        started = time.monotonic()
        foreign = tc_other.prove(circuit, good, tmp_path / "proof-other")
        assert time.monotonic() - started < 120
        verdict = call_verify(w3, ours, patched, foreign.proof, foreign.public_inputs)
        assert not verdict.accepted, "a proof under another SRS was accepted"
        print(f"another SRS: {verdict.error}")
    finally:
        anvil.stop()
