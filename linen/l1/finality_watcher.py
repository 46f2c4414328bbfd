"""The node's view of L1: which L2 blocks are "safe" and "finalized", as an L2 node reports them.

On an L2 the block tags mean what the L1 says (OP and Linea nodes report them this way):
- `finalized`: the highest L2 block finalized on L1, the rollup's `currentL2BlockNumber`;
- `safe`: the highest L2 block whose data is on L1, i.e. covered by a submitted blob. The rollup's
  `DataSubmittedV3` event carries the blob's final zk state root, not a block number, so the watcher
  maps that root to the block the state manager computed it for (`zk_root_of`). Without a state
  manager to ask, `safe` is `finalized`: never ahead of what is known.
Both only move forward, and both are kept in the node's store, so a restart never reports an older
block. The watcher polls from its own thread: L1 may be slow, and nothing else waits for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from eth_hash.auto import keccak

from linen.chain.kv import KeyValueStore
from linen.errors import OperationalError
from linen.rpc.client import RpcClient

log = logging.getLogger(__name__)

DATA_SUBMITTED_TOPIC = "0x" + keccak(b"DataSubmittedV3(bytes32,bytes32,bytes32)").hex()
CURRENT_L2_BLOCK_NUMBER = "0x" + keccak(b"currentL2BlockNumber()")[:4].hex()
SAFE_KEY, FINALIZED_KEY, SCANNED_KEY = b"l1-safe", b"l1-finalized", b"l1-scanned-block"
MAX_LOG_RANGE = 2_000  # L1 blocks per eth_getLogs
MAX_UNMATCHED = 1_000  # submitted roots kept while the state manager catches up (older ones are dropped)


class L1FinalityWatcher:
    def __init__(
        self,
        kv: KeyValueStore,
        l1_url: str,
        rollup: bytes,
        head: Callable[[], int],
        zk_root_of: Callable[[int], bytes | None] | None,
        poll_interval: float = 2.0,
    ) -> None:
        """`head()`: the node's head number; `zk_root_of(n)`: the zk root after L2 block n, if known."""
        self.kv = kv
        self.l1 = RpcClient(l1_url, timeout=10.0)
        self.rollup = "0x" + rollup.hex()
        self.head = head
        self.zk_root_of = zk_root_of
        self.poll_interval = poll_interval
        self.safe = self._load(SAFE_KEY)
        self.finalized = self._load(FINALIZED_KEY)
        self._scanned = self._load(SCANNED_KEY, -1)  # last L1 block whose DataSubmittedV3 logs were read
        self._roots: list[bytes] = []  # submitted roots not yet matched to an L2 block
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    def _load(self, key: bytes, default: int = 0) -> int:
        raw = self.kv.get("meta", key)
        return default if raw is None else int.from_bytes(raw, "big", signed=True)

    # -- one look ------------------------------------------------------------------------------
    def poll(self) -> None:
        """Read L1 once and move `finalized` and `safe` forward (raises OperationalError on an L1 fault)."""
        latest = int(self.l1.call("eth_blockNumber"), 16)
        answer = self.l1.call("eth_call", {"to": self.rollup, "data": CURRENT_L2_BLOCK_NUMBER}, hex(latest))
        finalized = int(answer, 16) if answer not in ("0x", None) else 0
        while self._scanned < latest:
            start, end = self._scanned + 1, min(latest, self._scanned + MAX_LOG_RANGE)
            logs = self.l1.call("eth_getLogs", {"address": self.rollup, "topics": [DATA_SUBMITTED_TOPIC],
                                                "fromBlock": hex(start), "toBlock": hex(end)})
            for entry in logs:
                data = bytes.fromhex(entry["data"][2:])
                if len(data) >= 64:
                    self._roots.append(data[32:64])  # (parentShnarf, finalStateRootHash); the shnarf is a topic
            self._scanned = end
        safe = max(self.safe, self._match_submitted_roots(), finalized)
        self._advance(safe, finalized)

    def _match_submitted_roots(self) -> int:
        """The highest L2 block whose zk root a submitted blob ends with (scanning forward from `safe`)."""
        if self.zk_root_of is None or not self._roots:
            return 0
        wanted, best = set(self._roots), 0
        number, head = self.safe + 1, self.head()
        while number <= head and wanted:
            root = self.zk_root_of(number)
            if root is None:
                break  # the state manager has not got this far: look again next time
            if root in wanted:
                best = number
                wanted.discard(root)
            number += 1
        self._roots = [r for r in self._roots if r in wanted][-MAX_UNMATCHED:]
        return best

    def _advance(self, safe: int, finalized: int) -> None:
        safe, finalized = max(safe, self.safe), max(finalized, self.finalized)
        if (safe, finalized) == (self.safe, self.finalized) and self._load(SCANNED_KEY, -1) == self._scanned:
            return
        self.kv.write([
            ("meta", SAFE_KEY, safe.to_bytes(8, "big", signed=True)),
            ("meta", FINALIZED_KEY, finalized.to_bytes(8, "big", signed=True)),
            ("meta", SCANNED_KEY, self._scanned.to_bytes(8, "big", signed=True)),
        ])
        if (safe, finalized) != (self.safe, self.finalized):
            log.info("L1 view: safe L2 block %d, finalized %d", safe, finalized)
        self.safe, self.finalized = safe, finalized

    # -- the thread ----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="l1-finality-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
                self.last_error = None
            except (OperationalError, ValueError, KeyError, TypeError) as exc:  # L1 down or odd: try again later
                if str(exc) != self.last_error:
                    log.warning("reading L1 for the safe and finalized blocks failed: %s", exc)
                self.last_error = str(exc)
            self._stop.wait(self.poll_interval)
