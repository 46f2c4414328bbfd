"""Contract sizes, gas of submitBlobs (1..6 blobs) and finalizeBlocks, and an L1 that survives a restart.

The gas figures are printed (run with -s) and copied by hand into docs/l1-contracts.md.
"""

from __future__ import annotations

from web3 import Web3

from linen.l1.anvil import launch_anvil, use_l1_url
from linen.l1.artifacts import MAX_DEPLOYED_CODE_SIZE
from linen.l1.deploy import L1Settings, deploy_l1, read_deployment, write_deployment
from linen.protocol.messaging import build_l2_message_trees
from tests.l1.support import ADMIN, OPERATOR, RollupEnv


def test_every_contract_fits_the_code_size_limit(artifacts):
    assert {"LinenRollup", "L2MessageService", "AttestationVerifier"} <= set(artifacts)
    for artifact in artifacts.values():
        assert 0 < artifact.deployed_size < MAX_DEPLOYED_CODE_SIZE, artifact.name


def test_gas_of_submit_blobs_and_finalize(l1_w3, artifacts, l1_snapshot):
    env = RollupEnv.deploy(l1_w3, artifacts)
    parent = env.genesis_shnarf
    figures = {}
    last = None
    for count in range(1, 7):
        prepared = env.prepare(count, parent=parent)
        receipt = env.submit_blobs(prepared)
        figures[f"submitBlobs x{count}"] = receipt["gasUsed"]
        parent, last = prepared[-1].shnarf, prepared[-1]
    data = env.finalization_for(last, 100)
    figures["finalizeBlocks (no L2 messages, 2 signatures)"] = env.send(env.finalize_call(data))["gasUsed"]
    follow = env.prepare(1, parent=parent)
    env.submit_blobs(follow)
    data = env.finalization_for(
        follow[0],
        200,
        last_finalized_timestamp=data.final_timestamp,
        final_timestamp=data.final_timestamp + 1,
        l2_merkle_roots=tuple(build_l2_message_trees([b"\x01" * 32] * 40)),
        l2_messaging_blocks_offsets=b"\x00\x05" * 4,
    )
    figures["finalizeBlocks (2 roots, 4 offsets, 2 signatures)"] = env.send(env.finalize_call(data))["gasUsed"]
    for name, gas in figures.items():
        per_blob = f"  ({gas // int(name[-1])} per blob)" if name.startswith("submitBlobs") else ""
        print(f"GAS {name}: {gas}{per_blob}")
    assert all(gas < 1_000_000 for gas in figures.values())
    # each extra blob costs roughly the same (one precompile call, one keccak chain step)
    steps = [figures[f"submitBlobs x{n + 1}"] - figures[f"submitBlobs x{n}"] for n in range(1, 6)]
    assert max(steps) - min(steps) < 5_000


def test_l1_state_survives_restart_and_addresses_are_recorded(tmp_path, artifacts):
    first = launch_anvil(tmp_path / "l1")
    try:
        w3 = Web3(Web3.HTTPProvider(first.url))
        settings = L1Settings(b"\x07" * 32, 1, (OPERATOR.address,), (ADMIN.address,))
        deployment = deploy_l1(w3, ADMIN.private_key, artifacts, settings)
        write_deployment(tmp_path, deployment)
    finally:
        first.stop()
    assert (tmp_path / "l1" / "state.json").exists()
    second = launch_anvil(tmp_path / "l1")
    try:
        external = use_l1_url(second.url)
        assert external.chain_id == 31337
        external.stop()  # no process of its own: a no-op
        recorded = read_deployment(tmp_path)
        assert recorded == deployment
        w3 = Web3(Web3.HTTPProvider(second.url))
        rollup = w3.eth.contract(address=recorded.rollup, abi=artifacts["LinenRollup"].abi)
        assert rollup.functions.verifiers(0).call() == recorded.verifiers[0]
        assert rollup.functions.hasRole(rollup.functions.OPERATOR_ROLE().call(), OPERATOR.address).call()
    finally:
        second.stop()
