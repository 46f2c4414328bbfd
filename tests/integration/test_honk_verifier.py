"""Linen's own UltraHonk verifier (native/src/honk.rs via linen/zk/honk.py) on real bb proofs.

circuits/toolchain_check is proven by bb 5.0.0 under a Linen SRS for both targets: `evm` (keccak
transcript) and `noir-recursive` (Poseidon2 transcript, 25 rounds). Then:

- both proofs verify, and bb's own `verify` (Aztec's [x]_2) refuses them, so the verdict is ours;
- every byte of the evm proof flipped, one byte of every word of the recursive proof flipped (and
  every byte of its first words), another public input, a public input at or above the field
  modulus, another SRS's [tau]_2, another vk, a truncated proof, the proof of an unsatisfiable
  witness: each refused;
- for evm proofs its verdicts equal bb's Solidity verifier's (with the SRS's [tau]_2) on anvil,
  over the valid proof and a spread of forgeries.

The proof tree's own proofs (segments, merges whose proofs carry pairing points, the root) are
checked by it in test_zk_tree.py and test_zk_scheduler.py.
"""

from __future__ import annotations

import random

import pytest

pytestmark = pytest.mark.slow

SRS_POINTS = 2**12 + 1
R = 21888242871839275222246405745257275088548364400416034343698204186575808495617


def _flip(data: bytes, index: int, bit: int = 1) -> bytes:
    return data[:index] + bytes([data[index] ^ bit]) + data[index + 1:]


@pytest.fixture(scope="module")
def proofs(tmp_path_factory):
    from linen.zk import honk, srs
    from linen.zk.toolchain import Toolchain

    if not honk.available():
        pytest.fail("linen_native has no honk_verify: run ./run setup (it builds native/ with cargo)")
    from tests.integration.test_zk_toolchain import CIRCUIT

    tmp = tmp_path_factory.mktemp("honk")
    srs.generate(tmp / "srs", SRS_POINTS, seed=b"linen test only: anyone can forge")
    srs.generate(tmp / "srs-other", SRS_POINTS, seed=b"another tau")
    tc = Toolchain(tmp / "cache", tmp / "srs")
    other = Toolchain(tmp / "cache", tmp / "srs-other")
    circuit = tc.compile(CIRCUIT)
    witness = tmp / "good.gz"
    tc.execute(circuit, {"x": "3", "y": "7", "z": "21"}, witness)
    out = {"tc": tc, "other": other, "circuit": circuit, "tmp": tmp, "g2": (tmp / "srs" / "bn254_g2.dat").read_bytes(),
           "other_g2": (tmp / "srs-other" / "bn254_g2.dat").read_bytes()}
    for target in ("evm", "noir-recursive"):
        proof = tc.prove(circuit, witness, tmp / f"proof-{target}", target)
        out[target] = (tc.write_vk(circuit, target).read_bytes(), proof.proof, b"".join(proof.public_inputs),
                       proof.directory)
        out[f"other-vk-{target}"] = other.write_vk(circuit, target).read_bytes()
    return out


@pytest.mark.parametrize("target", ["evm", "noir-recursive"])
def test_valid_proofs_verify_and_bb_cannot_say_so(proofs, target) -> None:
    from linen.zk import honk

    vk, proof, public, directory = proofs[target]
    assert honk.verify(target, vk, proof, public, proofs["g2"]) is None
    assert proofs["tc"].verify_native(proofs["tc"].write_vk(proofs["circuit"], target), directory, target) is None
    assert proofs["tc"].verify(proofs["tc"].write_vk(proofs["circuit"], target), directory, target) is False
    # the transcript starts from bb's own vk hash
    vk_hash_file = (proofs["tc"].write_vk(proofs["circuit"], target).parent / "vk_hash").read_bytes()
    assert honk.vk_hash(target, vk) == vk_hash_file


def test_every_byte_of_an_evm_proof_matters(proofs) -> None:
    from linen.zk import honk

    vk, proof, public, _ = proofs["evm"]
    accepted = [i for i in range(len(proof)) if honk.verify("evm", vk, _flip(proof, i), public, proofs["g2"]) is None]
    assert accepted == [], f"flipping bytes {accepted[:10]} left the proof valid"


def test_every_word_of_a_recursive_proof_matters(proofs) -> None:
    from linen.zk import honk

    vk, proof, public, _ = proofs["noir-recursive"]
    rng = random.Random(16)
    positions = [32 * w + rng.randrange(32) for w in range(len(proof) // 32)] + list(range(0, 96))
    accepted = [i for i in positions
                if honk.verify("noir-recursive", vk, _flip(proof, i, 1 << rng.randrange(8)), public, proofs["g2"]) is None]
    assert accepted == [], f"flipping bytes {accepted[:10]} left the proof valid"


@pytest.mark.parametrize("target", ["evm", "noir-recursive"])
def test_what_else_is_refused(proofs, target) -> None:
    from linen.zk import honk

    vk, proof, public, _ = proofs[target]
    g2 = proofs["g2"]
    cases = {
        "another public input": (vk, proof, (22).to_bytes(32, "big"), g2),
        "a public input at the modulus": (vk, proof, (21 + R).to_bytes(32, "big"), g2),
        "no public input": (vk, proof, b"", g2),
        "another SRS's [tau]_2": (vk, proof, public, proofs["other_g2"]),
        "another vk": (proofs[f"other-vk-{target}"], proof, public, g2),
        "a truncated proof": (vk, proof[:-32], public, g2),
        "a proof and a half word": (vk, proof + b"\0" * 16, public, g2),
        "a vk of the other target": (proofs["noir-recursive" if target == "evm" else "evm"][0], proof, public, g2),
        "an empty proof": (vk, b"", public, g2),
    }
    for label, args in cases.items():
        reason = honk.verify(target, *args)
        assert reason, f"{label}: accepted"
        print(f"{target}, {label}: {reason}")
    with pytest.raises(ValueError):
        honk.verify(target, vk, proof, public, b"\1" * 128)  # not a G2 point
    with pytest.raises(ValueError):
        honk.verify("plonk", vk, proof, public, g2)


def test_verdicts_equal_the_solidity_verifiers_on_anvil(proofs) -> None:
    from web3 import Web3

    from linen.l1.anvil import ANVIL_FIRST_KEY, launch_anvil
    from linen.l1.zk_verifier import call_verify, compile_verifier, deploy_verifier
    from linen.zk import honk

    vk, proof, public, _ = proofs["evm"]
    tc = proofs["tc"]
    build = compile_verifier(tc.solidity_verifier(proofs["circuit"]), proofs["tmp"] / "sol")
    rng = random.Random(4844)
    cases = [("valid", proof, public)]
    cases += [(f"byte {i} flipped", _flip(proof, i), public) for i in rng.sample(range(len(proof)), 40)]
    cases += [(f"pairing limb {i} set", proof[:32 * i] + (5).to_bytes(32, "big") + proof[32 * i + 32:], public)
              for i in (0, 3)]
    cases += [("another public input", proof, (22).to_bytes(32, "big")),
              ("a public input over r", proof, (21 + R).to_bytes(32, "big")),
              ("truncated", proof[:-64], public),
              ("a word of the proof at r", proof[:32 * 20] + R.to_bytes(32, "big") + proof[32 * 21:], public)]
    anvil = launch_anvil(None)
    try:
        w3 = Web3(Web3.HTTPProvider(anvil.url))
        address = deploy_verifier(w3, ANVIL_FIRST_KEY, build)
        mismatches = []
        for label, p, pub in cases:
            on_l1 = call_verify(w3, address, build, p, [pub[i:i + 32] for i in range(0, len(pub), 32)]).accepted
            ours = honk.verify("evm", vk, p, pub, proofs["g2"]) is None
            if on_l1 != ours:
                mismatches.append((label, on_l1, ours))
        assert not mismatches, mismatches
        assert sum(1 for label, *_ in cases if label == "valid") == 1
    finally:
        anvil.stop()
