"""The node's side of a separate state manager: push each sealed block's trielog to it, like Besu's plugin.

A push that fails (the manager is down or busy) is only logged: the manager pulls whatever it
missed from the node (`shomei_getTrieLogsByRange`), so pushing is an optimisation, never the only
way a block reaches it. Pushes go out one at a time, in block order, from a queue.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Mapping

from linen.chain.store import ChainStore
from linen.chain.types import Block
from linen.rpc.client import RpcCallFailed, RpcClient, RpcUnreachable
from linen.state_manager.service import trielog_of_block

log = logging.getLogger(__name__)
MAX_QUEUED = 1024  # blocks; past that the oldest pushes are dropped (the manager will pull them)


class TrieLogPusher:
    """Pushes from its own thread: the node's event loop is busy building the next block right after a
    seal, and a push waiting for that loop would reach the state manager a whole block late."""

    def __init__(self, store: ChainStore, url: str, secret: bytes, alloc: Mapping[bytes, object],
                 timeout: float = 10.0) -> None:
        """`url`: the state manager's authenticated endpoint; `secret`: the JWT secret it shares with the node."""
        self.store = store
        self._client = RpcClient(url, timeout, secret)  # signs each push with a JWT
        self._alloc = alloc  # the genesis the node started with: block 0's trielog
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.queue: queue.Queue[int | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def on_block(self, block: Block) -> None:
        """Block listener (event loop thread): queue the block for pushing."""
        if self.queue.qsize() >= MAX_QUEUED:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                pass
        self.queue.put_nowait(block.number)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="trielog-pusher", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        if self._thread is not None:
            self.queue.put_nowait(None)
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join, self.timeout + 5)
            self._thread = None

    def _run(self) -> None:
        while (number := self.queue.get()) is not None:
            try:
                self._push(number)
            except RpcUnreachable as exc:
                log.info("pushing the trielog of block %d to %s failed (%s); the state manager will pull it",
                         number, self.url, exc)
            except RpcCallFailed as exc:
                log.info("state manager refused the trielog of block %d: %s", number, exc)

    def _push(self, number: int) -> None:
        found = trielog_of_block(self.store, number, self._alloc)
        if found is None:
            return
        block_hash, trielog = found
        item = {"blockNumber": number, "blockHash": "0x" + block_hash.hex(), "trieLog": "0x" + trielog.hex(),
                "syncing": False}
        self._client.call("state_sendRawTrieLog", item)
