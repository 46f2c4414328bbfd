"""Linen's SRS tool (native/src/srs.rs through linen/zk/srs.py): the file layout bb reads, the pairing
checks of `verify`, contributions with proofs of knowledge, and the chain checks."""

from __future__ import annotations

import json
import shutil

import pytest

linen_native = pytest.importorskip("linen_native")
if not hasattr(linen_native, "srs_generate"):
    pytest.skip("linen_native predates the SRS tool: rebuild native/", allow_module_level=True)

from py_ecc.optimized_bn128 import G1, G2, multiply, normalize  # noqa: E402

from linen.zk import srs  # noqa: E402
from linen.zk.toolchain import AZTEC_G2, g2_evm_words, patch_verifier_g2  # noqa: E402

R = 21888242871839275222246405745257275088548364400416034343698204186575808495617


def _g1_bytes(point) -> bytes:  # type: ignore[no-untyped-def]
    x, y = normalize(point)
    return int(x).to_bytes(32, "big") + int(y).to_bytes(32, "big")


def _g2_bytes(point) -> bytes:  # type: ignore[no-untyped-def]
    x, y = normalize(point)
    return b"".join(int(c).to_bytes(32, "big") for c in (x.coeffs[0], x.coeffs[1], y.coeffs[0], y.coeffs[1]))


def test_layout_matches_py_ecc(tmp_path):
    from eth_hash.auto import keccak

    seed = b"layout"
    info = srs.generate(tmp_path, 17, seed=seed)
    # tau as the native code derives it: the first counter giving neither 0 nor 1.
    tau = int.from_bytes(keccak(b"linen-srs-tau" + seed + (0).to_bytes(4, "big")), "big") % R
    assert tau > 1
    g1 = (tmp_path / srs.G1_FILE).read_bytes()
    assert len(g1) == 17 * 64
    assert g1[:64] == srs.G1_GENERATOR
    for i in (1, 2, 16):
        assert g1[64 * i:64 * (i + 1)] == _g1_bytes(multiply(G1, pow(tau, i, R))), f"point {i}"
    assert info.g2 == (tmp_path / srs.G2_FILE).read_bytes() == _g2_bytes(multiply(G2, tau))
    assert _g2_bytes(G2) == srs.G2_GENERATOR


def test_verify_and_chain(tmp_path):
    a = tmp_path / "a"
    info = srs.generate(a, 1025, seed=b"chain")
    assert info.points == 1025 and info.security == srs.INSECURE
    assert srs.verify(a, 1025).points == 1025
    with pytest.raises(srs.SrsError, match="fewer than"):
        srs.verify(a, 2048)

    b = tmp_path / "b"
    after = srs.contribute(a, b, "alice", entropy=b"dice")
    assert after.contributions == 2 and after.g2 != info.g2
    checked = srs.verify(b)
    assert checked.contributions == 2 and "secure if any one" in checked.security
    c = tmp_path / "c"
    srs.contribute(b, c, "bob")
    assert srs.verify(c).contributions == 3

    # A contribution's record moved to another position of the chain, or renamed, fails its proof.
    manifest = json.loads((c / srs.MANIFEST).read_text())
    manifest["contributions"][2]["name"] = "mallory"
    (c / srs.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(srs.SrsError, match="proof of knowledge"):
        srs.verify(c)

    # Files that are not the chain's last contribution are refused.
    shutil.copy(a / srs.G1_FILE, b / srs.G1_FILE)
    shutil.copy(a / srs.G2_FILE, b / srs.G2_FILE)
    with pytest.raises(srs.SrsError, match="not the last contribution"):
        srs.verify(b)


def test_verify_catches_one_bad_point(tmp_path):
    srs.generate(tmp_path, 600, seed=b"bad point")
    g1 = bytearray((tmp_path / srs.G1_FILE).read_bytes())
    g1[64 * 333:64 * 334] = _g1_bytes(multiply(G1, 12345))  # on the curve, wrong power
    (tmp_path / srs.G1_FILE).write_bytes(bytes(g1))
    with pytest.raises(srs.SrsError, match="pairing check failed"):
        srs.verify(tmp_path)
    g1[64 * 333 + 63] ^= 1  # off the curve
    (tmp_path / srs.G1_FILE).write_bytes(bytes(g1))
    with pytest.raises(srs.SrsError, match="point 333"):
        srs.verify(tmp_path)


def test_verify_refuses_a_wrong_g2(tmp_path):
    srs.generate(tmp_path, 64, seed=b"g2")
    (tmp_path / srs.G2_FILE).write_bytes(AZTEC_G2)
    with pytest.raises(srs.SrsError):
        srs.verify(tmp_path)


def test_ensure_dev_srs_reuses(tmp_path):
    first = srs.ensure_dev_srs(tmp_path, 128)
    assert first.security == srs.INSECURE
    again = srs.ensure_dev_srs(tmp_path, 100)
    assert again.g2 == first.g2 and again.points == 128
    bigger = srs.ensure_dev_srs(tmp_path, 256)
    assert bigger.points == 256 and bigger.g2 != first.g2


def test_import_ptau(tmp_path):
    """A .ptau written here in snarkjs's layout (Montgomery form, little-endian) imports and verifies."""
    from py_ecc.optimized_bn128 import field_modulus as q

    power, tau = 4, 987654321
    n_g1, n_g2 = 2 * 2**power - 1, 2**power
    mont = lambda v: (int(v) * 2**256 % q).to_bytes(32, "little")  # noqa: E731

    def g1(i: int) -> bytes:
        x, y = normalize(multiply(G1, pow(tau, i, R)))
        return mont(x) + mont(y)

    def g2(i: int) -> bytes:
        x, y = normalize(multiply(G2, pow(tau, i, R)))
        return b"".join(mont(c) for c in (x.coeffs[0], x.coeffs[1], y.coeffs[0], y.coeffs[1]))

    header = (32).to_bytes(4, "little") + q.to_bytes(32, "little") + power.to_bytes(4, "little") + power.to_bytes(
        4, "little")
    sections = [(1, header), (2, b"".join(g1(i) for i in range(n_g1))), (3, b"".join(g2(i) for i in range(n_g2)))]
    body = b"ptau" + (1).to_bytes(4, "little") + len(sections).to_bytes(4, "little")
    for sid, data in sections:
        body += sid.to_bytes(4, "little") + len(data).to_bytes(8, "little") + data
    ptau = tmp_path / "test.ptau"
    ptau.write_bytes(body)

    info = srs.import_ptau(ptau, tmp_path / "srs", 20)
    assert info.points == 20
    assert (tmp_path / "srs" / srs.G1_FILE).read_bytes()[64 * 7:64 * 8] == _g1_bytes(multiply(G1, pow(tau, 7, R)))
    assert info.g2 == _g2_bytes(multiply(G2, tau))
    # and one can contribute on top of it
    srs.contribute(tmp_path / "srs", tmp_path / "srs2", "carol")
    assert srs.verify(tmp_path / "srs2").contributions == 2
    with pytest.raises(ValueError, match="fewer than"):
        srs.import_ptau(ptau, tmp_path / "srs3", n_g1 + 1)


def test_patch_verifier_g2():
    words = g2_evm_words(AZTEC_G2)
    source = "\n".join(f"uint256(0x{w:064x})," for w in words)
    new = srs.G2_GENERATOR
    patched = patch_verifier_g2(source, new)
    assert all(f"0x{w:064x}" in patched for w in g2_evm_words(new))
    assert not any(f"0x{w:064x}" in patched for w in words)
    with pytest.raises(ValueError, match="times, not once"):
        patch_verifier_g2(source + source, new)
