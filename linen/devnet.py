"""`linen devnet`: the L1 (a warmed-up anvil, or a given URL), the L2 node, and the contracts on both.

The contracts are deployed once per data dir: the addresses go to `<data-dir>/contracts.json`
and a restart reuses them as long as the L1 still has the rollup's code (anvil keeps its state
in `<data-dir>/l1/`). The rollup starts from the L2 genesis's zk state root, because L1 finalizes
the state manager's sparse-Merkle roots, not Patricia roots.

The devnet's anvil mines a block every second instead of one per transaction. The coordinator
anchors an L1 message on L2 only once its block has 2 confirmations (see DEVNET_COORDINATOR in linen/node.py), and a
confirmation count on an automining L1 advances only when someone else sends a transaction: a lone
deposit on a quiet devnet would never be anchored. anvil's "finalized" tag (64 blocks back) would
keep a deposit waiting a minute; two 1-second blocks keep the devnet quick and still exercise the
wait for safety.

The L2 message service pays out the value of every deposit claimed on L2, so it must hold ETH, as
Linea's does from genesis: the operator deploys it with `BRIDGE_RESERVE_WEI` of its 10,000 ETH.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from eth_account import Account
from web3 import HTTPProvider, Web3
from web3.middleware import ExtraDataToPOAMiddleware

from linen.chain.genesis import GenesisAccount
from linen.config import NodeConfig
from linen.devaccounts import operator_dev_account, prover_dev_account
from linen.l1.anvil import ANVIL_FIRST_KEY, LaunchedL1, start_l1
from linen.l1.artifacts import compile_contracts
from linen.l1.deploy import Deployment, L1Settings, L2Settings, deploy_l1, deploy_l2, read_deployment, write_deployment
from linen.node import Node
from linen.state.hashers import get_hasher
from linen.state.trielog import decode_trielog, genesis_trielog
from linen.state.world import MemoryForest, ZkWorldState

if TYPE_CHECKING:
    from linen.node import DevnetPipeline

log = logging.getLogger(__name__)

DEVNET_STATE_HASHER = "poseidon2-bn254"
PROOF_SYSTEMS = ("exec", "zk")
ZK_PROOF_TYPE = 1
DEVNET_L1_BLOCK_TIME = 1.0  # seconds; see the module docstring
BRIDGE_RESERVE_WEI = 5_000 * 10**18  # what the L2 message service holds to pay claimed deposits


def genesis_zk_root(alloc: dict[bytes, GenesisAccount], hasher_name: str = DEVNET_STATE_HASHER) -> bytes:
    """The zk state root of a genesis alloc: the state manager's own block-0 import, in memory."""
    world = ZkWorldState(get_hasher(hasher_name), MemoryForest())
    world.apply_trielog(decode_trielog(genesis_trielog(b"\x00" * 32, alloc)))
    return world.root


class Devnet:
    """Everything `linen devnet` runs, started and stopped in order."""

    def __init__(self, config: NodeConfig, l1_url: str | None = None, proofs: str = "exec",
                 prover_workers: int = 0) -> None:
        if proofs not in PROOF_SYSTEMS:
            raise ValueError(f"proofs: {proofs!r} is not one of {', '.join(PROOF_SYSTEMS)}")
        self.config = config
        self.l1_url = l1_url
        self.proofs = proofs  # exec: attested re-execution (proof type 0); zk: validity proofs only (type 1)
        self.prover_workers = prover_workers  # zk: > 0 proves trees on a proof network of that many workers
        self.l1: LaunchedL1 | None = None
        self.node: Node | None = None
        self.deployment: Deployment | None = None
        self.pipeline: DevnetPipeline | None = None

    async def start(self, progress: Callable[[str], None] = lambda _: None) -> None:
        loop = asyncio.get_running_loop()
        data_dir = self.config.data_dir
        progress("starting the L1 (anvil, Prague; the first blob transaction warms up its KZG setup) ...")
        launch = functools.partial(start_l1, data_dir / "l1", self.l1_url, block_time=DEVNET_L1_BLOCK_TIME)
        self.l1 = await loop.run_in_executor(None, launch)
        progress("starting the L2 node ...")
        self.node = Node(self.config)
        await self.node.start()
        self.deployment = await loop.run_in_executor(None, self._ensure_contracts, progress)
        if self.deployment.l2_message_service is not None:
            self.node.use_l2_message_service(bytes.fromhex(self.deployment.l2_message_service[2:]))
        self.node.follow_l1(self.l1.url, bytes.fromhex(self.deployment.rollup[2:]))  # "safe"/"finalized" from L1
        progress("starting the coordinator and a prover controller ...")
        self.pipeline = await loop.run_in_executor(None, self._start_pipeline)

    def _start_pipeline(self) -> DevnetPipeline:
        from linen.node import DevnetPipeline

        assert self.node is not None and self.l1 is not None and self.deployment is not None
        return DevnetPipeline.start(self.config, self.node, self.l1.url, self.deployment, proofs=self.proofs,
                                    prover_workers=self.prover_workers)

    def _ensure_contracts(self, progress: Callable[[str], None]) -> Deployment:
        assert self.l1 is not None and self.node is not None
        data_dir = self.config.data_dir
        l1 = Web3(HTTPProvider(self.l1.url, request_kwargs={"timeout": 60}))
        l2 = Web3(HTTPProvider(self.node.rpc.url, request_kwargs={"timeout": 60}))
        l2.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        deployment = read_deployment(data_dir)
        if deployment is not None and (
            deployment.l1_chain_id != l1.eth.chain_id or not l1.eth.get_code(deployment.rollup)
        ):
            log.warning("the recorded L1 contracts are not on this L1: deploying again")
            deployment = None
        artifacts = None
        if deployment is None:
            progress("compiling and deploying the L1 contracts ...")
            artifacts = compile_contracts(data_dir / "artifacts")
            genesis_header = self.node.store.header_by_number(0)
            operator = Account.from_key(ANVIL_FIRST_KEY).address
            settings = L1Settings(
                initial_state_root=genesis_zk_root(self.node.genesis.alloc),
                genesis_timestamp=genesis_header.timestamp,
                operators=(operator,),
                prover_addresses=(prover_dev_account().address,),
            )
            deployment = deploy_l1(l1, ANVIL_FIRST_KEY, artifacts, settings)
        if self.proofs == "zk":
            if ZK_PROOF_TYPE not in deployment.verifiers or not l1.eth.get_code(deployment.verifiers[ZK_PROOF_TYPE]):
                from linen.l1.zk_setup import require_proof_types, setup_zk_verifier

                zk = setup_zk_verifier(l1, ANVIL_FIRST_KEY, deployment.rollup, data_dir / "zk", self.node.chain_id,
                                       data_dir / "artifacts", progress)
                require_proof_types(l1, ANVIL_FIRST_KEY, deployment.rollup, [ZK_PROOF_TYPE], data_dir / "artifacts")
                deployment.verifiers[ZK_PROOF_TYPE] = zk.verifier
            deployment.l2_chain_id = self.node.chain_id
            progress("zk-only chain: plain transfers only, no L2 message service (the circuits do not prove bridge "
                     "messages); L1 finalizes on validity proofs (proof type 1) alone")
        elif deployment.l2_message_service is None or not l2.eth.get_code(deployment.l2_message_service):
            progress("deploying the L2 message service ...")
            artifacts = artifacts or compile_contracts(data_dir / "artifacts")
            operator = operator_dev_account()
            l2_settings = L2Settings(operator.address, reserve_wei=BRIDGE_RESERVE_WEI)
            deployment.l2_message_service = deploy_l2(l2, operator.private_key, artifacts, l2_settings)
            deployment.l2_chain_id = self.node.chain_id
        write_deployment(data_dir, deployment)
        return deployment

    async def stop(self) -> None:
        if self.pipeline is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.pipeline.stop)
        if self.node is not None:
            await self.node.stop()
        if self.l1 is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.l1.stop)

