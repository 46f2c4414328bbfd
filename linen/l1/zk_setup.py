"""Putting the validity-proof verifier on L1: SRS, circuit keys, bb's verifier, the ZkRootVerifier.

`setup_zk_verifier` is what a zk devnet runs once per deployment: a one-party SRS under
`<zk-dir>/srs` (made on first start, labelled insecure), the three circuits compiled and keyed
under `<zk-dir>/cache`, bb's Solidity verifier of the root circuit with the SRS's [tau]_2, and the
ZkRootVerifier that binds the segment and merge key hashes and the L2 chain id, registered with
the rollup as proof type 1. `require_zk` then makes proof type 1 the one every finalization needs,
so a signature alone can no longer finalize a zk-only chain.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from linen.l1.artifacts import compile_contracts
from linen.l1.transact import deploy, transact
from linen.l1.zk_verifier import compile_verifier, deploy_verifier
from linen.zk import srs
from linen.zk.proof_tree import TreeProver
from linen.zk.toolchain import Toolchain

log = logging.getLogger(__name__)

ZK_PROOF_TYPE = 1
SRS_POINTS = 2**21 + 1  # the segment and merge circuits are 2^21 gates (dyadic)


@dataclass(frozen=True)
class ZkVerifier:
    honk: str  # bb's HonkVerifier of the root circuit
    verifier: str  # the ZkRootVerifier wrapping it (IProofVerifier)
    segment_vk_hash: int
    merge_vk_hash: int


def tree_prover(zk_dir: Path, progress: Callable[[str], None] = lambda _: None) -> TreeProver:
    """The SRS (made if absent) and the circuits compiled and keyed under `zk_dir`."""
    zk_dir = Path(zk_dir)
    info = srs.ensure_dev_srs(zk_dir / "srs", SRS_POINTS)
    if info.security:
        log.warning("zk SRS %s: %s", zk_dir / "srs", info.security)
    progress("compiling and keying the zk circuits (once per circuit version and SRS) ...")
    return TreeProver(Toolchain(zk_dir / "cache", zk_dir / "srs"), zk_dir / "jobs" / "setup")


def setup_zk_verifier(w3: Web3, admin_key: str, rollup: str, zk_dir: Path, l2_chain_id: int,
                      artifacts_dir: Path, progress: Callable[[str], None] = lambda _: None) -> ZkVerifier:
    """Deploy bb's root verifier and the ZkRootVerifier, and register it as proof type 1."""
    prover = tree_prover(zk_dir, progress)
    progress("deploying the zk root verifier ...")
    build = compile_verifier(prover.tc.solidity_verifier(prover.root), Path(zk_dir) / "cache" / "sol")
    honk = deploy_verifier(w3, admin_key, build)
    artifacts = compile_contracts(artifacts_dir)
    segment_hash, merge_hash = prover.vk_hashes
    verifier = deploy(w3, admin_key, artifacts["ZkRootVerifier"], honk, segment_hash, merge_hash, l2_chain_id)
    contract = w3.eth.contract(address=Web3.to_checksum_address(rollup), abi=artifacts["LinenRollup"].abi)
    transact(w3, admin_key, contract.functions.setVerifierAddress(verifier, ZK_PROOF_TYPE))
    return ZkVerifier(honk, verifier, segment_hash, merge_hash)


def require_proof_types(w3: Web3, admin_key: str, rollup: str, types: list[int], artifacts_dir: Path) -> None:
    """Make `types` the proof types every finalization must carry."""
    artifacts = compile_contracts(artifacts_dir)
    contract = w3.eth.contract(address=Web3.to_checksum_address(rollup), abi=artifacts["LinenRollup"].abi)
    transact(w3, admin_key, contract.functions.setRequiredProofTypes(sorted(types)))
