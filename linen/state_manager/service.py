"""The state manager service: applies one trielog per block, strictly in order, and keeps what it made.

Per applied block it keeps the block hash, the zk root after the block and the block's traces, all
committed with the block's tree writes in one LMDB transaction (`LmdbStateStore.batch`), so a restart
resumes at the last complete block. Trielogs arrive pushed (`state_sendRawTrieLog`, or the node calling
in process) or pulled from a `TrieLogSource` when one is missing; a gap is never papered over. In
finalized-only mode nothing past the block the coordinator announced (`rollup_forkChoiceUpdated`) is
applied, so every proof served is about L1-finalized state.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

import orjson

from linen.actors import Actor
from linen.errors import ConfigError, InvalidParams, LimitExceeded, OperationalError, ResourceNotFound
from linen.rpc.client import RpcCallFailed, RpcClient, RpcUnreachable
from linen.state.hashers import get_hasher
from linen.state.lmdb_store import LmdbStateStore
from linen.state.trielog import CorruptTrieLog, build_trielog, decode_trielog, genesis_trielog
from linen.state.world import BlockTraces, ZkWorldState

log = logging.getLogger(__name__)

STATE_MANAGER_VERSION = "2.5.2"  # the Shomei release whose trace format this reproduces
HASHER_KEY = b"hasher"
FINALIZED_KEY = b"finalized"
MAX_PENDING = 256
# While pushes keep coming the source is not polled: a node busy sealing answers a pull late, and the
# worker would wait for it with pushed blocks queued. A gap in the pushes still triggers a pull at once.
PUSH_SILENCE_PERIODS = 3


class BlockGap(InvalidParams):
    """A trielog arrived out of order; the message names the block expected next."""

    def __init__(self, number: int, expected: int) -> None:
        super().__init__(f"trielog for block {number} refused: the state manager expects block {expected} next")
        self.number, self.expected = number, expected


class NotFinalized(InvalidParams):
    """Finalized-only mode: the block is past the last finalized block."""


# -- where trielogs come from ------------------------------------------------------------------


class TrieLogSource(Protocol):
    def get_trie_logs(self, start: int, end: int) -> list[tuple[int, bytes, bytes]]:
        """(number, block hash, trielog bytes) for the sealed blocks in [start, end]; fewer past the head."""
        ...

    def block_link(self, number: int) -> tuple[bytes, bytes] | None:
        """(hash, parent hash) of the node's block `number`, None if it has no such block yet."""
        ...


class UnverifiedTrieLog(InvalidParams):
    """A pushed trielog does not match the node's block (hash, number or parent): forged or stale."""


def trielog_of_block(store, number: int, alloc: Mapping[bytes, object]) -> tuple[bytes, bytes] | None:
    """(block hash, trielog) of a sealed block of a `ChainStore`, None if it has no such block. Block 0
    is stored with an empty diff: its trielog is built from the genesis `alloc` the node was started with."""
    block_hash = store.hash_by_number(number)
    if block_hash is None:
        return None
    if number == 0:
        return block_hash, genesis_trielog(block_hash, alloc)
    diff = store.state_diff(block_hash)
    if diff is None:
        return None
    return block_hash, build_trielog(block_hash, number, diff, store.code)


class ChainStoreTrieLogSource:
    """Trielogs built in process from the node's chain store (the devnet's wiring)."""

    def __init__(self, store, alloc: Mapping[bytes, object]) -> None:
        self.store = store
        self._alloc = alloc

    def get_trie_logs(self, start: int, end: int) -> list[tuple[int, bytes, bytes]]:
        out = []
        for number in range(start, end + 1):
            found = trielog_of_block(self.store, number, self._alloc)
            if found is None:
                break
            out.append((number, found[0], found[1]))
        return out

    def block_link(self, number: int) -> tuple[bytes, bytes] | None:
        header = self.store.header_by_number(number)
        return None if header is None else (bytes(header.hash), bytes(header.parent_hash))


class JsonRpcTrieLogSource:
    """Trielogs pulled from a node over JSON-RPC (`shomei_getTrieLogsByRange`), for `linen state-manager`."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url
        self.client = RpcClient(url, timeout)

    def _call(self, method: str, params: list, what: str) -> object:
        try:
            return self.client.call(method, *params)
        except RpcUnreachable as exc:
            raise OperationalError(f"cannot fetch {what} from {self.url}: {exc}") from None
        except RpcCallFailed as exc:
            raise OperationalError(f"node refused {what}: {exc}") from None

    def block_link(self, number: int) -> tuple[bytes, bytes] | None:
        block = self._call("eth_getBlockByNumber", [hex(number), False], f"block {number}")
        if block is None:
            return None
        try:
            return bytes.fromhex(block["hash"][2:]), bytes.fromhex(block["parentHash"][2:])
        except (KeyError, TypeError, ValueError):
            raise OperationalError(f"node sent a malformed block {number}: {block!r:.200}") from None

    def get_trie_logs(self, start: int, end: int) -> list[tuple[int, bytes, bytes]]:
        result = self._call("shomei_getTrieLogsByRange", [hex(start), hex(end)], f"trielogs {start}..{end}")
        if not isinstance(result, list):
            raise OperationalError(f"node refused trielogs {start}..{end}: {result!r:.200}")
        answer = {"result": result}
        out = []
        for item in answer["result"]:
            try:
                out.append(
                    (
                        int(item["blockNumber"], 0),
                        bytes.fromhex(item["blockHash"][2:]),
                        bytes.fromhex(item["trieLog"][2:]),
                    )
                )
            except (KeyError, TypeError, ValueError):
                raise CorruptTrieLog(f"node sent a malformed trielog item: {item!r:.200}") from None
        return out


# -- the manager ---------------------------------------------------------------------------------


class StateManager:
    def __init__(
        self,
        data_dir: Path,
        hasher_name: str,
        source: TrieLogSource | None = None,
        *,
        finalized_only: bool = False,
        max_proof_range: int = 128,
        fetch_batch: int = 32,
    ) -> None:
        self.hasher = get_hasher(hasher_name)
        self.store = LmdbStateStore(Path(data_dir) / "zkstate")
        stored = self.store.get("meta", HASHER_KEY)
        if stored is None:
            with self.store.batch():
                self.store.put("meta", HASHER_KEY, hasher_name.encode())
        elif stored.decode() != hasher_name:
            self.store.close()
            raise ConfigError(f"state data in {data_dir} was built with {stored.decode()}, not {hasher_name}")
        self.world = ZkWorldState(self.hasher, self.store)
        self.source = source
        self.finalized_only = finalized_only
        self.max_proof_range = max_proof_range
        self.fetch_batch = fetch_batch
        self.version = STATE_MANAGER_VERSION
        self._lock = threading.RLock()
        # (block hash, trielog, trusted): a pushed trielog is not trusted until the node's block matches it;
        # one fetched from the source is, and replaces an untrusted push of the same block.
        self._pending: dict[int, tuple[bytes, bytes, bool]] = {}
        # Pushed trielogs waiting for the applying thread, so an RPC answer never waits on hashing.
        self._inbox: dict[int, tuple[bytes, bytes, bool]] = {}
        self._inbox_lock = threading.Lock()
        self._wake: Callable[[bool], None] | None = None  # set while `pull_forever` runs; arg: pull too
        self._last_push = -math.inf  # when the last push arrived (monotonic seconds)
        # The two loops of `pull_forever`, as actors for /health (their timers are the loops' own).
        self.applier = Actor("state-manager.apply", self._apply_queued, 1.0, self_scheduled=False)
        self.fetcher = Actor("state-manager.fetch", self._fetch_missing, 1.0, self_scheduled=False)

    # -- what has been applied ------------------------------------------------------------------

    @property
    def head(self) -> int | None:
        """Number of the last applied block, None before block 0."""
        last = self.store.last_applied()
        return None if last is None else last[0]

    @property
    def finalized(self) -> int | None:
        raw = self.store.get("meta", FINALIZED_KEY)
        return None if raw is None else int.from_bytes(raw[:8], "big")

    def zk_root(self, number: int) -> bytes:
        """The zk root after block `number`; -1 (block 0's parent) is the empty tree's root."""
        if number == -1:
            return self.world.empty_root
        record = self.store.block(number)
        if record is None:
            raise ResourceNotFound(f"block {number} has not been applied by the state manager (head {self.head})")
        return record[1]

    def block_hash(self, number: int) -> bytes | None:
        record = self.store.block(number)
        return None if record is None else record[0]

    def traces_json(self, number: int) -> list[dict]:
        raw = self.store.traces(number)
        if raw is None:
            raise ResourceNotFound(f"no traces for block {number}: not applied (head {self.head})")
        return orjson.loads(zlib.decompress(raw))

    # -- applying -------------------------------------------------------------------------------

    def _verify_with_source(self, number: int, block_hash: bytes) -> None:
        """A pushed trielog must name a block the node has, with that hash, on top of the block applied last."""
        if self.source is None:
            return  # nothing to check with: only a caller that feeds the manager itself (tests) has no source
        link = self.source.block_link(number)
        if link is None:
            raise UnverifiedTrieLog(f"trielog for block {number} refused: the node has no block {number}")
        node_hash, parent_hash = link
        if node_hash != block_hash:
            raise UnverifiedTrieLog(
                f"trielog for block {number} refused: it names block 0x{block_hash.hex()}, the node's is 0x{node_hash.hex()}"
            )
        if number > 0 and self.block_hash(number - 1) not in (None, parent_hash):
            raise UnverifiedTrieLog(f"trielog for block {number} refused: its parent is not the block applied last")

    def import_trielog(self, number: int, block_hash: bytes, trielog: bytes, trusted: bool = True) -> bool:
        """Apply the next block's trielog; False for a block already applied with the same hash.

        An untrusted (pushed) trielog is first checked against the node's block (`_verify_with_source`)."""
        parsed = decode_trielog(trielog)
        if parsed.block_number != number or parsed.block_hash != block_hash:
            raise CorruptTrieLog(f"trielog names block {parsed.block_number}, not block {number} 0x{block_hash.hex()}")
        with self._lock:
            head = self.head
            if head is not None and number <= head:
                if self.block_hash(number) == block_hash:
                    return False
                raise InvalidParams(f"block {number} was already applied with another hash; reorgs are not supported")
            expected = 0 if head is None else head + 1
            if number != expected:
                raise BlockGap(number, expected)
            finalized = self.finalized
            if self.finalized_only and (finalized is None or number > finalized):
                raise NotFinalized(f"block {number} is past the finalized block {finalized} (finalized-only mode)")
            if not trusted:
                self._verify_with_source(number, block_hash)
            with self.store.batch():
                applied: BlockTraces = self.world.apply_trielog(parsed)
                traces = zlib.compress(orjson.dumps(applied.traces_json()), 1)
                self.store.put_block(number, block_hash, applied.root, traces)
            log.debug("zk state: block %d root 0x%s (%d traces)", number, applied.root.hex(), len(applied.traces))
            return True

    def receive_trielog(self, number: int, block_hash: bytes, trielog: bytes) -> str:
        """A pushed trielog: applied if next, else kept for later and the missing ones pulled.

        Returns "imported", "duplicate" or "deferred". Corrupt bytes are refused at once.
        """
        decode_trielog(trielog)  # refuse garbage before keeping anything
        with self._lock:
            try:
                applied = self.import_trielog(number, block_hash, trielog, trusted=False)
            except (BlockGap, NotFinalized) as exc:
                if isinstance(exc, BlockGap) and exc.number < exc.expected:
                    raise
                if self.source is None and isinstance(exc, BlockGap):
                    raise  # nothing to pull the missing blocks from: the sender must resend in order
                if len(self._pending) < MAX_PENDING:
                    self._pending[number] = (block_hash, trielog, False)
                self.sync()
                return "imported" if self.block_hash(number) == block_hash else "deferred"
            self._drain()
            return "imported" if applied else "duplicate"

    def accept_trielog(self, number: int, block_hash: bytes, trielog: bytes) -> str:
        """A pushed trielog: queued for the applying thread while `pull_forever` runs, else applied now.

        Returns "queued", or what `receive_trielog` returns. Corrupt bytes are refused at once either way.
        """
        wake = self._wake
        if wake is None:
            return self.receive_trielog(number, block_hash, trielog)
        parsed = decode_trielog(trielog)
        if parsed.block_number != number or parsed.block_hash != block_hash:
            raise CorruptTrieLog(f"trielog names block {parsed.block_number}, not block {number} 0x{block_hash.hex()}")
        with self._inbox_lock:
            if len(self._inbox) >= MAX_PENDING and number not in self._inbox:
                raise LimitExceeded(f"{MAX_PENDING} pushed trielogs are already waiting; the state manager will pull")
            if not self._inbox.get(number, (b"", b"", False))[2]:  # never over a trielog fetched from the node
                self._inbox[number] = (block_hash, trielog, False)
        self._last_push = time.monotonic()
        wake(False)
        return "queued"

    def notify_new_block(self) -> None:
        """The source has a new block: look now rather than at the next poll (no-op when not running)."""
        wake = self._wake
        if wake is not None:
            wake(True)

    def _take_inbox(self) -> None:
        with self._inbox_lock:
            inbox, self._inbox = self._inbox, {}
        head = self.head
        for number, item in inbox.items():
            kept = self._pending.get(number)
            if kept is not None and kept[2] and not item[2]:
                continue  # a push never replaces what the node itself gave
            if (head is None or number > head) and (kept is not None or len(self._pending) < MAX_PENDING):
                self._pending[number] = item

    def _drain(self) -> int:
        """Apply kept trielogs that have become next in line."""
        self._take_inbox()
        count = 0
        while True:
            head = self.head
            item = self._pending.pop(0 if head is None else head + 1, None)
            if item is None:
                break
            number = 0 if head is None else head + 1
            block_hash, trielog, trusted = item
            try:
                self.import_trielog(number, block_hash, trielog, trusted)
            except NotFinalized:
                self._pending[number] = item
                break
            except UnverifiedTrieLog as exc:  # dropped: the node's own trielog for the block is fetched instead
                log.warning("%s; it is dropped", exc)
                break
            count += 1
        for stale in [n for n in self._pending if self.head is not None and n <= self.head]:
            del self._pending[stale]
        return count

    def sync(self) -> int:
        """Pull and apply every missing trielog the source has (up to the finalized block in that mode)."""
        with self._lock:
            count = self._drain()
            if self.source is None:
                return count
            while True:
                start = 0 if self.head is None else self.head + 1
                end = start + self.fetch_batch - 1
                if self.finalized_only:
                    end = min(end, -1 if self.finalized is None else self.finalized)
                if end < start:
                    break
                logs = [item for item in self.source.get_trie_logs(start, end) if item[0] >= start]
                for number, block_hash, trielog in sorted(logs):
                    self.import_trielog(number, block_hash, trielog)
                    count += 1
                count += self._drain()
                if len(logs) < end - start + 1:
                    break
            return count

    def set_finalized(self, number: int, block_hash: bytes | None = None) -> None:
        """The coordinator's finalized block (never moves back); lets finalized-only mode go on."""
        with self._lock:
            current = self.finalized
            if current is not None and number < current:
                return
            with self.store.batch():
                self.store.put("meta", FINALIZED_KEY, number.to_bytes(8, "big") + (block_hash or b""))
            if self.finalized_only:
                self.sync()

    async def pull_forever(self, period: float, stopping: asyncio.Event) -> None:
        """Apply trielogs as they arrive and fetch what is missing from the source, until `stopping`.

        Two loops, each with its own worker thread: one applies what is queued (pushes and fetched
        trielogs) in block order, the other asks the source. They are apart because the source is the
        node, whose RPC waits while it builds a block: an applier that fetched itself would sit on the
        network for a whole block build while pushed blocks wait behind it. The source is asked at
        start, on `notify_new_block`, when the queue leaves a gap, and every `period` once pushes stop.
        """
        loop = asyncio.get_running_loop()
        apply_wanted, fetch_wanted = asyncio.Event(), asyncio.Event()
        fetch_wanted.set()

        def wake(pull: bool) -> None:
            loop.call_soon_threadsafe((fetch_wanted if pull else apply_wanted).set)

        self._wake = wake
        try:
            await asyncio.gather(
                self._apply_loop(apply_wanted, fetch_wanted, period, stopping),
                self._fetch_loop(fetch_wanted, apply_wanted, period, stopping),
            )
        finally:
            self._wake = None

    async def _apply_loop(self, wanted: asyncio.Event, fetch: asyncio.Event, period: float,
                          stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            wanted.clear()
            # a bad trielog: the actor logs it and keeps its error in /health; the state stays, we retry
            if await asyncio.to_thread(self.applier.tick) and self.applier.last_result:
                fetch.set()  # what is queued starts past a missing block
            await _wait_either(wanted, stopping, period)

    async def _fetch_loop(self, wanted: asyncio.Event, applied: asyncio.Event, period: float,
                          stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            if wanted.is_set() or time.monotonic() - self._last_push > PUSH_SILENCE_PERIODS * period:
                wanted.clear()
                # an unreachable or misbehaving node: the actor logs it and reports it; ask again later
                ok = await asyncio.to_thread(self.fetcher.tick)
                fetched, full = self.fetcher.last_result if ok else (0, False)
                if fetched:
                    applied.set()
                if full:
                    continue  # there may be more right behind
            await _wait_either(wanted, stopping, period)

    def _apply_queued(self) -> bool:
        """Apply queued trielogs that are next in line; True if the queue leaves a gap to fetch."""
        with self._lock:
            self._drain()
            return bool(self._pending) and self.source is not None

    def _fetch_missing(self) -> tuple[int, bool]:
        """Fetch the next missing trielogs from the source into the queue: (how many, was the batch full)."""
        if self.source is None:
            return 0, False
        head = self.head
        start = 0 if head is None else head + 1
        with self._inbox_lock:
            queued = set(self._inbox) | set(self._pending.copy())  # copy: the applier changes it
        while start in queued:
            start += 1
        end = start + self.fetch_batch - 1
        if self.finalized_only:
            finalized = self.finalized
            end = min(end, -1 if finalized is None else finalized)
        if end < start:
            return 0, False
        items = [item for item in self.source.get_trie_logs(start, end) if item[0] >= start]
        with self._inbox_lock:
            for number, block_hash, trielog in items:
                self._inbox[number] = (block_hash, trielog, True)
        return len(items), len(items) == end - start + 1

    def close(self) -> None:
        self.store.close()


async def _wait_either(event: asyncio.Event, stopping: asyncio.Event, timeout: float) -> None:
    """Wait until `event` or `stopping` is set, or `timeout` seconds pass."""
    waiters = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(stopping.wait())}
    await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()
