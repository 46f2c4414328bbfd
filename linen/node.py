"""The one wiring module: the node (store, engine, pool, producer, state manager, RPC server) and the
services beside it (the devnet's coordinator, prover controller and postman; `linen coordinator`).

`Node` also is the `RpcBackend` the RPC layer sees. Every loop is an actor (linen/actors.py) whose
report `/health` shows; each service is started only when the configuration or the command asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lmdb
from eth.constants import BLANK_ROOT_HASH
from eth_keys import keys
from eth_utils import ValidationError

from linen import __version__
from linen.actors import Actor, ActorSet
from linen.chain.genesis import Genesis, default_devnet_genesis_document, load_genesis, parse_genesis
from linen.chain.kv import KeyValueStore
from linen.chain.store import ChainStore
from linen.chain.types import Block, BlockHeader
from linen.config import NodeConfig
from linen.devaccounts import sequencer_dev_account
from linen.errors import ConfigError, InvalidTransaction, TransactionRefused
from linen.execution.pyevm_engine import PyEvmEngine
from linen.execution.tracer.limits import load_trace_limits
from linen.execution.transactions import decode_transaction
from linen.observe.metrics import Metrics
from linen.observe.status import PipelineView, pipeline_status_handler
from linen.protocol.fees import next_base_fee
from linen.rpc.backend import RpcLimits
from linen.sequencer.exclusions import ExclusionStore
from linen.sequencer.producer import BlockProducer, ProducerConfig
from linen.sequencer.rules import check_provable, check_submission, refusal_reason
from linen.sequencer.txpool import TxPool, TxPoolConfig

if TYPE_CHECKING:  # the services are imported where they are started, so `linen node` loads none of them
    from linen.coordinator.service import Coordinator
    from linen.l1.deploy import Deployment
    from linen.postman.service import Postman
    from linen.prover.controller import Controller

log = logging.getLogger(__name__)

CHAIN_ID_KEY = b"chain-id"
AUTH_URL_FILE = "auth-rpc.url"  # the authenticated endpoint's URL, written at each start
STATE_PULL_PERIOD = 0.5  # seconds between the state manager's looks for new blocks


def usable_data_dir(path: Path) -> None:
    """Create the data dir if needed and prove it is writable; a ConfigError naming the path and the cause if not."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"the data dir {path} is a file, not a folder: choose another --data-dir") from None
    except OSError as exc:
        raise ConfigError(f"cannot create the data dir {path}: {exc.strerror or exc}") from None
    if not path.is_dir():
        raise ConfigError(f"the data dir {path} is not a folder: choose another --data-dir")
    probe = path / ".write-test"
    try:
        probe.write_bytes(b"\x00" * 65536)  # a full disk fails here, not in the middle of a block
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"the data dir {path} is not writable: {exc.strerror or exc}") from None


def genesis_header(genesis: Genesis, state_root: bytes) -> BlockHeader:
    return BlockHeader(
        difficulty=genesis.difficulty,
        block_number=0,
        gas_limit=genesis.gas_limit,
        timestamp=genesis.timestamp,
        coinbase=genesis.coinbase,
        state_root=state_root,
        extra_data=genesis.extra_data,
        mix_hash=genesis.mix_hash,
        nonce=b"\x00" * 8,
        base_fee_per_gas=genesis.base_fee_per_gas,
        withdrawals_root=BLANK_ROOT_HASH,
        blob_gas_used=0,
        excess_blob_gas=0,
        parent_beacon_block_root=b"\x00" * 32,
        requests_hash=hashlib.sha256(b"").digest(),
    )


class Node:
    """The L2 sequencer node: chain store, EVM, pool, block producer and JSON-RPC."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.client_version = f"linen/v{__version__}/python"
        self.limits = RpcLimits(
            max_batch_size=config.max_batch_size,
            max_request_bytes=config.max_request_bytes,
            max_logs_block_range=config.max_logs_block_range,
            max_logs_results=config.max_logs_results,
            gas_cap=config.gas_cap,
            evm_timeout_seconds=config.evm_timeout,
            idle_timeout_seconds=config.idle_timeout,
        )
        self.min_gas_price = config.min_gas_price
        self.min_base_fee = config.min_base_fee
        self.rules = config.rules
        self.trace_limits = load_trace_limits(config.traces_limits_file)  # refuses a bad file before anything opens
        self.tracer_enabled = config.tracer_enabled
        self.traces_dir = config.traces_dir
        usable_data_dir(config.data_dir)
        try:
            self.kv = KeyValueStore(config.data_dir / "chain")
        except lmdb.Error as exc:
            raise ConfigError(f"cannot open the chain store in {config.data_dir / 'chain'}: {exc}") from None
        self.store = ChainStore(self.kv)
        genesis = self._genesis()
        self.genesis = genesis
        self.chain_id = genesis.chain_id
        self.engine = PyEvmEngine(self.store, self.chain_id, record_opcodes=config.tracer_enabled)
        self.exclusions = ExclusionStore(self.kv)
        self._init_or_check_genesis(genesis)
        key = self._sequencer_key(genesis)
        self.pool = TxPool(
            TxPoolConfig(
                max_pool_size=config.max_pool_size,
                max_per_sender=config.max_per_sender,
                max_nonce_gap=config.max_nonce_gap,
                price_bump_percent=config.price_bump_percent,
                min_gas_price=config.min_gas_price,
            ),
            self._head_account,
        )
        fee_recipient = bytes.fromhex(config.fee_recipient[2:]) if config.fee_recipient else None
        self.producer = BlockProducer(
            self.store,
            self.engine,
            self.pool,
            key,
            ProducerConfig(
                block_period=config.block_period,
                create_empty_blocks=config.create_empty_blocks,
                selection_budget_s=config.block_period * config.block_txs_selection_max_time / 100,
                fee_recipient=fee_recipient,
                min_base_fee=config.min_base_fee,
                rules=config.rules,
                trace_limits=self.trace_limits.regular if config.tracer_enabled else None,
                l2_message_service=config.l2_message_service,
            ),
            self.exclusions,
        )
        self.state_manager = self._state_manager() if config.state_enabled else None
        self.metrics = Metrics()
        self.actors = ActorSet()  # every loop of this process, for /health (the devnet adds its pipeline's)
        self.block_producer = self.actors.add(Actor("sequencer.block-producer", self._produce_one,
                                                    config.block_period, stall_after_s=max(30.0, 10 * config.block_period),
                                                    self_scheduled=False))
        if self.state_manager is not None:
            self.actors.extend([self.state_manager.applier, self.state_manager.fetcher])
        self.view = PipelineView(self.store.head, self.health)  # /dashboard, `linen status`
        self._observe()
        self.rpc = None
        self._producer_task: asyncio.Task | None = None
        self._state_task: asyncio.Task | None = None
        self._pusher = None
        self._stopping = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._l1_view = None  # L1FinalityWatcher once the node follows a rollup
        # Set while no block is being built. Submissions wait for it (see RpcBackend.build_idle): sharing the
        # GIL with a greedy RPC loop, the builder got half the CPU in its selection budget and included half
        # as many transactions (A/B: 412 -> 252 ETH transfers/s); reads are still answered during a build.
        self.build_idle: asyncio.Event | None = None
        self._loop_thread: int | None = None

    # -- set-up -------------------------------------------------------------------------------
    def _genesis(self) -> Genesis:
        if self.config.genesis is not None:
            return load_genesis(self.config.genesis)
        stored = self.kv.get("meta", b"genesis-document")
        if stored is not None:
            return parse_genesis(json.loads(stored))
        return parse_genesis(default_devnet_genesis_document())

    def _init_or_check_genesis(self, genesis: Genesis) -> None:
        root, writes = self.engine.genesis_state(genesis.alloc)
        header = genesis_header(genesis, root)
        if self.store.is_initialized:
            if self.store.genesis_hash() != header.hash:
                raise ConfigError(
                    f"data dir {self.config.data_dir} holds a chain with genesis 0x{self.store.genesis_hash().hex()}, "
                    f"not the configured genesis 0x{bytes(header.hash).hex()}: use another --data-dir"
                )
            return
        self.store.commit_block(Block(header, (), ()), writes, b"\xc0")
        document = default_devnet_genesis_document() if self.config.genesis is None else json.loads(
            self.config.genesis.read_text()
        )
        self.kv.write([("meta", b"genesis-document", json.dumps(document).encode())])
        log.info("initialised chain %d with genesis 0x%s", genesis.chain_id, bytes(header.hash).hex())

    def _sequencer_key(self, genesis: Genesis) -> keys.PrivateKey:
        text = self.config.sequencer_key or sequencer_dev_account().private_key
        try:
            key = keys.PrivateKey(bytes.fromhex(text[2:] if text.startswith("0x") else text))
        except (ValueError, ValidationError) as exc:
            raise ConfigError(f"sequencer.key is not a valid private key: {exc}") from None
        signers = genesis.clique_signers
        address = key.public_key.to_canonical_address()
        if signers and address not in signers:
            raise ConfigError(
                f"sequencer key 0x{address.hex()} is not a Clique signer in the genesis extraData "
                f"({', '.join('0x' + s.hex() for s in signers)}): set sequencer.key"
            )
        return key

    def _state_manager(self):  # type: ignore[no-untyped-def]
        """The in-process state manager, fed from this node's own trielogs (Shomei's pull)."""
        from linen.state_manager.service import ChainStoreTrieLogSource, StateManager

        return StateManager(
            self.config.data_dir / "state",
            self.config.state_hasher,
            ChainStoreTrieLogSource(self.store, self.genesis.alloc),
            finalized_only=self.config.state_finalized_only,
        )

    def _rpc_methods(self) -> tuple[dict, dict]:
        """(public extra methods, write methods): the write ones go only on the authenticated endpoint."""
        from linen.rpc import linea
        from linen.state_manager import rpc_methods

        public = {"shomei_getTrieLogsByRange": rpc_methods.shomei_get_trie_logs_by_range_handler(self.store, self.genesis.alloc),
                  "linen_pipelineStatus": pipeline_status_handler(self.view)}
        private = dict(linea.WRITE_METHODS)
        if self.state_manager is not None:
            reads, writes = rpc_methods.bind_split(self.state_manager)
            public.update(reads)
            private.update(writes)
        return public, private

    def _auth_endpoint(self):  # type: ignore[no-untyped-def]
        from linen.rpc.auth import load_or_create_secret
        from linen.rpc.server import AuthEndpoint

        if self.config.auth_port < 0:
            return None
        return AuthEndpoint(self.config.auth_host, self.config.auth_port, load_or_create_secret(self.config.jwt_secret))

    def _head_account(self, address: bytes) -> tuple[int, int]:
        return self.engine.read_account(address, self.store.head())

    def _observe(self) -> None:
        """Feed the node's metrics: counters from the producer's events, gauges read at scrape time."""
        m = self.metrics

        def on_block(block: Block) -> None:
            m.blocks_sealed.inc()
            m.transactions_included.inc(len(block.transactions))

        def on_excluded(excluded: list) -> None:
            for exclusion in excluded:
                m.transactions_refused.labels("selection", exclusion.reason).inc()

        def refresh() -> None:
            head = self.store.head().block_number
            m.head_block.set(head)
            m.txpool_transactions.set(len(self.pool))
            if self.state_manager is not None and self.state_manager.head is not None:
                m.state_manager_block.set(self.state_manager.head)
                m.state_manager_lag.set(max(0, head - self.state_manager.head))

        self.producer.listeners.append(on_block)
        self.producer.listeners.append(self.view.on_block)
        self.producer.exclusion_listeners.append(on_excluded)
        m.on_scrape(refresh)

    def health(self) -> dict:
        """/health: every actor's report (the block producer's, and those the devnet added)."""
        report = self.actors.health()
        report["head"] = self.store.head().block_number
        return report

    # -- RpcBackend ---------------------------------------------------------------------------
    def submit_raw_transaction(self, raw: bytes) -> bytes:
        try:
            return self._submit(raw)
        except InvalidTransaction as exc:
            self.metrics.transactions_refused.labels("submission", refusal_reason(exc)).inc()
            raise

    def _submit(self, raw: bytes) -> bytes:
        ptx = decode_transaction(raw, self.chain_id, allow_unprotected=self.config.allow_unprotected_txs)
        excluded = self.exclusions.get(ptx.hash)
        if excluded is not None:
            raise TransactionRefused(excluded.reason, f"transaction is unexecutable: {excluded.message}")
        head = self.store.head()
        if ptx.gas > head.gas_limit:
            raise InvalidTransaction(
                f"exceeds block gas limit: transaction gas {ptx.gas} is above the block limit {head.gas_limit}"
            )
        check_submission(ptx, self.rules, self.pending_base_fee())
        if self.rules.transfers_only:
            check_provable(ptx, self.chain_id, self.producer.fee_recipient, lambda a: self.engine.get_code(a, head))
        self.pool.add(ptx)
        return ptx.hash

    def pending_base_fee(self) -> int:
        """The base fee of the next block (what submission-time fee rules compare with)."""
        head = self.store.head()
        return next_base_fee(head.base_fee_per_gas, head.gas_used, head.gas_limit, self.min_base_fee)

    def add_block_listener(self, listener: Callable[[Block], None]) -> None:
        """`listener(block)` after each sealed block, on the event loop thread (blocks are built on another)."""

        def on_block(block: Block) -> None:
            loop = self._loop
            if loop is not None and threading.get_ident() != self._loop_thread:
                loop.call_soon_threadsafe(listener, block)
            else:
                listener(block)

        self.producer.listeners.append(on_block)

    def safe_block_number(self) -> int:
        """The highest block whose data is on L1 when the node follows a rollup (`follow_l1`), else the head."""
        head = self.store.head().block_number
        return head if self._l1_view is None else min(self._l1_view.safe, head)

    def finalized_block_number(self) -> int:
        """The highest block finalized on L1 when the node follows a rollup, else the head."""
        head = self.store.head().block_number
        return head if self._l1_view is None else min(self._l1_view.finalized, head)

    def use_l2_message_service(self, address: bytes) -> None:
        """From the next block on, the producer and its tracer watch this L2 message service's events
        (the devnet deploys the service on this very chain, so it is known only after the node starts)."""
        self.producer.config = dataclasses.replace(self.producer.config, l2_message_service=address)

    def follow_l1(self, l1_url: str, rollup: bytes) -> None:
        """From now on "safe" and "finalized" follow the rollup on L1 (see linen.l1.finality_watcher)."""
        from linen.l1.finality_watcher import L1FinalityWatcher

        if self._l1_view is not None:
            self._l1_view.stop()
        manager = self.state_manager

        def zk_root_of(number: int) -> bytes | None:
            assert manager is not None
            head = manager.head
            return manager.zk_root(number) if head is not None and number <= head else None

        self._l1_view = L1FinalityWatcher(self.kv, l1_url, rollup, lambda: self.store.head().block_number,
                                          zk_root_of if manager is not None else None, self.config.l1_poll_interval)
        self._l1_view.start()

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        from linen.rpc.server import RpcServer

        self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        self.build_idle = asyncio.Event()
        self.build_idle.set()
        public, private = self._rpc_methods()
        self.rpc = RpcServer(self, self.config.rpc_host, self.config.rpc_port, public,
                             private_methods=private, auth=self._auth_endpoint())
        await self.rpc.start()
        self.view.endpoints.update({"l2Rpc": self.rpc.url, "l2Ws": self.rpc.ws_url, "l2ChainId": self.chain_id})
        if self.rpc.auth_url is not None:  # how local services find the endpoint when its port was picked freely
            (self.config.data_dir / AUTH_URL_FILE).write_text(self.rpc.auth_url + "\n")
        self._producer_task = asyncio.create_task(self._produce_forever(), name="block-producer")
        if self.config.l1_rpc_url and self.config.l1_rollup_address is not None:
            self.follow_l1(self.config.l1_rpc_url, self.config.l1_rollup_address)
        if self.config.state_push_url:
            from linen.rpc.auth import load_or_create_secret
            from linen.state_manager.push import TrieLogPusher

            secret = load_or_create_secret(self.config.jwt_secret)
            self._pusher = TrieLogPusher(self.store, self.config.state_push_url, secret, self.genesis.alloc)
            self.add_block_listener(self._pusher.on_block)
            self._pusher.start()
        if self.state_manager is not None:
            manager = self.state_manager
            self.add_block_listener(lambda _block: manager.notify_new_block())
            self._state_task = asyncio.create_task(
                self.state_manager.pull_forever(STATE_PULL_PERIOD, self._stopping), name="state-manager"
            )

    async def _produce_forever(self) -> None:
        loop = asyncio.get_running_loop()
        period = self.config.block_period
        next_tick = loop.time() + period
        while not self._stopping.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), max(0.0, next_tick - loop.time()))
            if self._stopping.is_set():
                break
            planned = next_tick + period
            assert self.build_idle is not None
            self.build_idle.clear()
            try:
                # Built on a worker thread: a block's EVM work must not hold the loop that answers RPC. The
                # actor logs a failure and keeps its report; the next period tries again.
                await asyncio.to_thread(self.block_producer.tick)
            finally:
                self.build_idle.set()
            # After an overrun the next block waits a quarter period rather than starting at once: started
            # right away it would hold only what arrived during the seal and still pay a block's fixed cost.
            now = loop.time()
            next_tick = planned if now <= planned else now + period / 4

    def _produce_one(self) -> None:
        started = time.perf_counter()
        block = self.producer.produce_block()
        if block is not None:
            self.metrics.block_build_seconds.observe(time.perf_counter() - started)

    async def stop(self) -> None:
        self._stopping.set()
        await asyncio.to_thread(self.actors.stop)
        if self._l1_view is not None:
            await asyncio.to_thread(self._l1_view.stop)
        if self._producer_task is not None:
            await self._producer_task
        if self._state_task is not None:
            await self._state_task
        if self._pusher is not None:
            await self._pusher.stop()
        if self.rpc is not None:
            await self.rpc.stop()
        self.close()

    def close(self) -> None:
        """Close the stores (the node's and the state manager's); the tasks must be stopped first."""
        if self.state_manager is not None:
            self.state_manager.close()
        self.kv.close()



def run_prover_controller(settings, on_serving: Callable[[str], None] = lambda _url: None) -> None:  # type: ignore[no-untyped-def]
    """`linen prover`: one controller as an actor, /health and /metrics on `admin-port`, until SIGTERM
    (finish the running job), SIGUSR1 (requeue it now) or Ctrl-C."""
    from linen.prover.controller import Controller
    from linen.rpc.service_http import ServiceBackend, ThreadedRpcServer

    controller = Controller(settings)
    controller.metrics = Metrics()
    actors = ActorSet([controller.actor()])
    controller.install_signal_handlers()  # they set the actors' stop event (Controller.request_stop)
    admin = None
    if settings.admin_port >= 0:
        admin = ThreadedRpcServer(ServiceBackend(actors.health, controller.metrics), settings.admin_host,
                                  settings.admin_port, name="prover-admin")
        admin.start()
        on_serving(admin.url)
    log.info("controller %s: watching %s for %s", settings.local_id, settings.requests_root,
             ", ".join(kind.value for kind in settings.kinds))
    actors.start()
    try:
        while not actors.stopping.wait(0.5):
            pass
    finally:
        actors.stop(settings.termination_grace_period + 5)
        if admin is not None:
            admin.stop()


def run_postman(postman, stopping: threading.Event, on_serving: Callable[[str], None] = lambda _url: None) -> None:  # type: ignore[no-untyped-def]
    """`linen postman`: its RPC (with /health and /metrics) and its two directions as actors, until `stopping`."""
    postman.start()
    on_serving(postman.rpc.url)
    try:
        stopping.wait()
    finally:
        postman.stop()


def run_coordinator(coordinator, stopping: threading.Event,  # type: ignore[no-untyped-def]
                    on_serving: Callable[[str], None] = lambda _url: None) -> None:
    """`linen coordinator`: its actors, and /health and /metrics on `admin-port`, until `stopping`."""
    from linen.rpc.service_http import ServiceBackend, ThreadedRpcServer

    actors = ActorSet(coordinator.actors())
    admin = None
    settings = coordinator.settings
    if settings.admin_port >= 0:
        admin = ThreadedRpcServer(ServiceBackend(actors.health, coordinator.metrics), settings.admin_host,
                                  settings.admin_port, name="coordinator-admin")
        admin.start()
        on_serving(admin.url)
    actors.start()
    try:
        stopping.wait()
    finally:
        actors.stop()
        if admin is not None:
            admin.stop()
        coordinator.close()


# -- the services beside the node -------------------------------------------------------------------
# `linen devnet` runs them in this process (DevnetPipeline); `linen coordinator` and the other
# standalone commands start one of them each (run_coordinator). Either way their loops are actors.
#
# The devnet's proving pipeline: the coordinator and one prover controller talk to the rest only
# through the interfaces they use when run apart (DESIGN.md): the coordinator reaches the node and its
# state manager over JSON-RPC and L1 through the rollup (and anchors L1 messages on L2 with the devnet
# operator's key, which deploying made the anchorer), and the controller runs `python -m
# linen.prover.prove` on request files under `<data-dir>/prover`, with the prover settings written to
# `<data-dir>/prover.toml`. Each loop reports to the node's /health and counts into its /metrics;
# `stop` lets the running proof finish (or requeues it after a short grace period).

PROOF_TYPE = 0  # the AttestationVerifier
ZK_PROOF_TYPE = 1  # the ZkRootVerifier (linen/l1/zk_setup.py)
ZK_MAX_BLOBS = 4  # circuits/root MAX_BLOBS
NO_SERVICE = "0x" + "00" * 20  # a zk-only chain's L2 message service: none
# A devnet wants finality in seconds, not Linea's minutes: small batches and short deadlines.
DEVNET_COORDINATOR = {
    "blocks-limit": 20,
    "conflation-deadline": 6.0,
    "conflation-deadline-last-block-confirmation-delay": 1.0,
    "batches-limit": 4,
    "aggregation-deadline": 10.0,
    "blobs-limit": 6,
    "polling-interval": 0.5,
    # L1 messages: anchored once 2 of anvil's 1-second blocks hold them (why: linen/devnet.py)
    "anchoring-l1-confirmations": 2,
    "anchoring-polling-interval": 0.5,
}


def write_prover_config(path: Path, root: Path, l1_chain_id: int, verifier: str, l2_chain_id: int,
                        traces_dir: Path, zk: dict[str, str] | None = None) -> Path:
    """The prover's settings file; `zk` adds the validity-proof keys (zk-dir, l1-rpc, zk-verifier-address)."""
    from linen.devaccounts import prover_dev_account

    text = (
        "[prover]\n"
        f'requests-root = "{root}"\n'
        f'key = "{prover_dev_account().private_key}"\n'
        f"l1-chain-id = {l1_chain_id}\n"
        f'verifier-address = "{verifier}"\n'
        f"l2-chain-id = {l2_chain_id}\n"
        f'traces-dir = "{traces_dir}"\n'
    )
    if zk:
        text += 'execution-proofs = "zk"\n' + "".join(f'{key} = "{value}"\n' for key, value in zk.items())
    path.write_text(text)
    return path


@dataclass
class DevnetPipeline:
    coordinator: Coordinator
    controller: Controller
    actors: ActorSet  # the coordinator's five and the controller; the node's /health reports them
    postman: Postman | None = None  # claims bridge messages; key: dev account 9 (DEVNET_POSTMAN below)
    prover_network: Any = None  # linen.network.fleet.LocalProverNetwork, with --prover-workers

    @classmethod
    def start(cls, config: NodeConfig, node: Node, l1_url: str, deployment: Deployment,
              proofs: str = "exec", prover_workers: int = 0) -> DevnetPipeline:
        from linen.config import load_section_values
        from linen.coordinator.l1_client import RollupClient
        from linen.coordinator.service import Coordinator
        from linen.coordinator.settings import settings_from_values
        from linen.devaccounts import operator_dev_account
        from linen.l1.anvil import ANVIL_FIRST_KEY
        from linen.prover.controller import Controller
        from linen.prover.settings import ControllerSettings

        data_dir = config.data_dir
        root = data_dir / "prover"
        verifier = deployment.verifiers[PROOF_TYPE]
        zk = None
        prover_network = None
        if proofs == "zk":
            zk = {"zk-dir": str(data_dir / "zk"), "l1-rpc": l1_url, "zk-verifier-address": deployment.verifiers[ZK_PROOF_TYPE]}
            if prover_workers > 0:  # the trees go to a proof network of worker processes (linen.network)
                from linen.network.fleet import LocalProverNetwork

                prover_network = LocalProverNetwork(data_dir / "prover-network", data_dir / "zk", prover_workers,
                                                    log_dir=data_dir / "logs")
                zk.update({"executor": "network", "network-admin": prover_network.admin_url})
        prover_config = write_prover_config(data_dir / "prover.toml", root, deployment.l1_chain_id, verifier,
                                            node.chain_id, node.traces_dir, zk)
        devnet_choices = {
            **DEVNET_COORDINATOR,
            "node-rpc": node.rpc.url,
            "state-manager-rpc": node.rpc.url,
            "node-auth-rpc": node.rpc.auth_url or "",
            "state-manager-auth-rpc": node.rpc.auth_url or "",
            "jwt-secret": str(config.jwt_secret),
            "l1-rpc": l1_url,
            "rollup": deployment.rollup,
            "l2-message-service": deployment.l2_message_service,
            "l1-key": ANVIL_FIRST_KEY,
            "l2-key": operator_dev_account().private_key,
            "data-dir": str(data_dir / "coordinator"),
            "prover-root": str(root),
            "traces-dir": str(node.traces_dir),
        }
        if zk:  # no L2 message service, hence no anchoring; the root circuit takes at most 4 blobs
            devnet_choices.update({"l2-message-service": NO_SERVICE, "l2-key": "", "blobs-limit": ZK_MAX_BLOBS})
        # the file's [coordinator] table wins over the devnet's choices
        values = load_section_values("coordinator", config.config_file, defaults=devnet_choices)
        limits = node.trace_limits.regular if getattr(node, "trace_limits", None) is not None else {}
        settings = settings_from_values(values, dict(limits))
        rollup = RollupClient(settings.l1_rpc, settings.rollup, settings.l1_key, data_dir / "artifacts",
                              settings.l1_confirmations, replacement_policy=settings.l1_replacement)
        coordinator = Coordinator(settings, rollup, metrics=node.metrics)
        controller = Controller(ControllerSettings(
            requests_root=root, local_id="prover-devnet", config_file=prover_config,
            retry_delays=(0.0, 0.25, 0.5, 1.0), termination_grace_period=10.0,
            l1_rpc=l1_url, rollup=deployment.rollup,  # retention: finished files go once L1 finalized them
        ))
        controller.metrics = node.metrics
        actors = ActorSet([*coordinator.actors(), controller.actor()])
        actors.start()
        node.actors.extend(actors.actors.values())
        postman = None
        if deployment.l2_message_service is not None:
            postman = start_devnet_postman(config.config_file, data_dir, l1_url, node.rpc.url, deployment.rollup,
                                           deployment.l2_message_service, node.metrics)
            node.actors.extend(postman.actors.actors.values())
        node.view.attach(coordinator=coordinator, controller=controller, postman=postman, endpoints={
            "l1Rpc": l1_url, "l1ChainId": deployment.l1_chain_id, "rollup": deployment.rollup,
            "verifiers": {str(k): v for k, v in deployment.verifiers.items()},
            "l2MessageService": deployment.l2_message_service, "proofs": proofs,
            **({"postmanRpc": postman.rpc.url} if postman is not None else {}),
            **({"proverCoordinator": prover_network.url} if prover_network is not None else {}),
        })
        return cls(coordinator, controller, actors, postman, prover_network)

    def stop(self) -> None:
        self.controller.request_stop()
        self.actors.stop(30)
        if self.postman is not None:
            self.postman.stop()
        if self.prover_network is not None:
            self.prover_network.stop()
        self.coordinator.close()


# The postman inside `linen devnet`: its key is dev account 9 on both chains (funded there, used by no
# other devnet component: the coordinator signs with anvil's first key on L1 and the operator key on
# L2, so their nonces never collide); its RPC on a free port. A `[postman]` table in the devnet's
# config file wins over these defaults.
POSTMAN_DEV_ACCOUNT = 9
DEVNET_POSTMAN = {
    "rpc-port": 0,  # any free port; the devnet records it in devnet.json as postman.rpc
    "polling-interval": 1.0,
    "l1-confirmations": 1,  # anvil mines a block every second on the devnet
    "submission-timeout": 20.0,
}


def start_devnet_postman(config_file: Path | None, data_dir: Path, l1_url: str, l2_url: str, rollup: str,
                         l2_message_service: str, metrics: Metrics | None = None) -> Postman:
    from linen.config import load_section_values
    from linen.devaccounts import dev_account
    from linen.postman.service import Postman
    from linen.postman.settings import settings_from_values

    key = dev_account(POSTMAN_DEV_ACCOUNT).private_key
    values = load_section_values("postman", config_file, defaults={
        **DEVNET_POSTMAN, "l1-rpc": l1_url, "l2-rpc": l2_url, "rollup": rollup,
        "l2-message-service": l2_message_service, "l1-key": key, "l2-key": key, "data-dir": str(data_dir / "postman"),
    })
    postman = Postman(settings_from_values(values), metrics=metrics)
    postman.start()
    return postman


STATE_MANAGER_PULL_PERIOD = 1.0  # seconds between a standalone state manager's polls of the node


async def run_state_manager(
    data_dir: Path,
    hasher: str,
    node_url: str,
    host: str,
    port: int,
    stop: asyncio.Event,
    finalized_only: bool = False,
    on_started: Callable = lambda _s, _m: None,
    auth=None,  # linen.rpc.server.AuthEndpoint
) -> None:
    """`linen state-manager`: the state manager apart from the node (Shomei's role). The node pushes
    each sealed block's trielog (`state_sendRawTrieLog`, when its `[state] push-url` names this
    process) and the manager also polls it (`shomei_getTrieLogsByRange`), which fills gaps after
    either restarts; blocks are applied strictly in order. Its methods are served on its own port,
    the writing ones only on `auth`; /health shows its two loops. Serves and follows until `stop`; the
    store is closed on the way out. Without `auth` nothing can push: the manager only pulls."""
    from linen.rpc.server import RpcServer
    from linen.rpc.service_http import ServiceBackend
    from linen.state_manager import rpc_methods
    from linen.state_manager.service import JsonRpcTrieLogSource, StateManager

    manager = StateManager(data_dir, hasher, JsonRpcTrieLogSource(node_url), finalized_only=finalized_only)
    reads, writes = rpc_methods.bind_split(manager)
    metrics = Metrics()
    metrics.on_scrape(lambda: metrics.state_manager_block.set(manager.head or 0))
    actors = ActorSet([manager.applier, manager.fetcher])
    backend = ServiceBackend(lambda: {**actors.health(), "head": manager.head}, metrics)
    server = RpcServer(backend, host, port, registry=reads, private_methods=writes,  # type: ignore[arg-type]
                       auth=auth)
    try:
        await server.start()
        on_started(server, manager)
        await manager.pull_forever(STATE_MANAGER_PULL_PERIOD, stop)
    finally:
        await server.stop()
        manager.close()
