"""The node's side of a separate state manager: push each sealed block's trielog to it, like Besu's plugin.

A push that fails (the manager is down or busy) is only logged: the manager pulls whatever it
missed from the node (`shomei_getTrieLogsByRange`), so pushing is an optimisation, never the only
way a block reaches it. Pushes go out one at a time, in block order, from a queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp

from linen.chain.store import ChainStore
from linen.chain.types import Block
from linen.state.service import trielog_of_block

log = logging.getLogger(__name__)
MAX_QUEUED = 1024  # blocks; past that the oldest pushes are dropped (the manager will pull them)


class TrieLogPusher:
    def __init__(self, store: ChainStore, url: str, timeout: float = 10.0) -> None:
        self.store = store
        self.url = url
        self.timeout = timeout
        self.queue: asyncio.Queue[int] = asyncio.Queue()
        self._task: asyncio.Task | None = None

    def on_block(self, block: Block) -> None:
        """Block listener (event loop thread): queue the block for pushing."""
        if self.queue.qsize() >= MAX_QUEUED:
            self.queue.get_nowait()
        self.queue.put_nowait(block.number)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="trielog-pusher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                number = await self.queue.get()
                try:
                    await self._push(session, number)
                except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
                    log.info("pushing the trielog of block %d to %s failed (%s); the state manager will pull it",
                             number, self.url, exc)

    async def _push(self, session: aiohttp.ClientSession, number: int) -> None:
        found = trielog_of_block(self.store, number)
        if found is None:
            return
        block_hash, trielog = found
        item = {"blockNumber": number, "blockHash": "0x" + block_hash.hex(), "trieLog": "0x" + trielog.hex(),
                "syncing": False}
        body = {"jsonrpc": "2.0", "id": number, "method": "state_sendRawTrieLog", "params": [item]}
        async with session.post(self.url, json=body) as response:
            answer = await response.json(content_type=None)
        if "error" in answer:
            log.info("state manager refused the trielog of block %d: %s", number, answer["error"].get("message"))
