"""The coordinator's message-anchoring actor: L1→L2 message hashes carried to the L2 message service.

A message sent on L1 can be claimed on L2 only once its hash is anchored there, and the L2 contract
accepts a group of hashes only if they extend its rolling hash to exactly L1's (spec §2). So the
anchorer reads L1's `MessageSent` logs (with the `RollingHashUpdated` log each send emits just before)
and sends `anchorL1L2MessageHashes` in groups of at most 100, one group per tick.

Safety: logs are read only at or below the safe L1 block, the block a tag names ("finalized" by
default) or `latest - confirmations + 1`, so a reorg shallower than that never shows the anchorer a
message from a block that is later orphaned.

Restart: the L2's `lastAnchoredL1MessageNumber` is the judge of what is anchored; scan progress lives
in memory only, and a new instance scans again from the start block, dropping what L2 already has.

A reorg deeper than the safety is detected, never papered over: before sending, the group's rolling
hash (rebuilt from the L2's record) must equal L1's `rollingHashes(last)` at the safe block. If it
does not and L1 still agrees with the L2's record, the scanned messages are stale: they are dropped
and scanned again. If L1 no longer agrees with the L2's record, L2 holds messages L1 has orphaned;
nothing more can be anchored on that chain, and every tick says so as an error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_hash.auto import keccak
from web3 import HTTPProvider, Web3
from web3.exceptions import ContractLogicError, Web3Exception
from web3.middleware import ExtraDataToPOAMiddleware

from linen.errors import OperationalError
from linen.l1 import sender as l2_sender
from linen.l1.sender import ReplacementPolicy, TransactionSender
from linen.l1.transact import TransactionReverted, decode_revert
from linen.protocol.messaging import MESSAGE_SENT_TOPIC, ZERO_HASH, next_rolling_hash

log = logging.getLogger(__name__)

L1_ROLLING_HASH_UPDATED_TOPIC = keccak(b"RollingHashUpdated(uint256,bytes32,bytes32)")
ANCHOR_SELECTOR = keccak(b"anchorL1L2MessageHashes(bytes32[],uint256,uint256,bytes32)")[:4]
LAST_ANCHORED_SELECTOR = keccak(b"lastAnchoredL1MessageNumber()")[:4]
L2_ROLLING_HASHES_SELECTOR = keccak(b"l1RollingHashes(uint256)")[:4]
L1_ROLLING_HASHES_SELECTOR = keccak(b"rollingHashes(uint256)")[:4]
MISSING_ROLE_SELECTOR = keccak(b"MissingRole(bytes32,address)")[:4]

BLOCK_TAGS = ("finalized", "safe", "latest")
MAX_MESSAGES_PER_ANCHORING = 100  # the L2 contract's MAX_L1_L2_MESSAGES_TO_ANCHOR
LOG_REQUESTS_PER_TICK = 100  # bounds one tick's work when far behind (a fresh start on a long L1)


@dataclass(frozen=True)
class AnchoringSettings:
    """`l1_confirmations` > 0 replaces the tag: the safe block is `latest - confirmations + 1`."""

    l1_block_tag: str = "finalized"
    l1_confirmations: int = 0
    max_messages: int = MAX_MESSAGES_PER_ANCHORING
    polling_interval_s: float = 1.0
    logs_block_range: int = 1000
    l1_start_block: int = 0


@dataclass(frozen=True)
class L1Message:
    """One L1→L2 message as anchoring needs it: L1's rolling hash after it, and where L1 holds it."""

    nonce: int
    message_hash: bytes
    rolling_hash: bytes
    block_number: int


class AnchoringUnavailable(OperationalError):
    """L1 or L2 could not be read or written this tick; the next tick tries again."""


class AnchoringRefused(OperationalError):
    """The L2 message service would revert the anchoring (wrong key, out of sync); nothing was sent."""


class AnchoringMismatch(OperationalError):
    """L1, the L2's record and the scanned logs disagree: an L1 reorg deeper than the safety."""


@dataclass
class AnchoringHealth:
    last_tick: float = 0.0
    anchored_up_to: int = 0  # the L2's lastAnchoredL1MessageNumber, as last read
    scanned_up_to: int = -1  # the last L1 block whose logs were read
    safe_block: int = -1
    transactions: int = 0  # anchoring transactions this instance sent
    last_error: str | None = field(default=None)


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def l2_web3(url: str) -> Web3:
    """A web3 for a Linen L2 node, whose Clique headers carry a long extraData."""
    w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 60}))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3


def parse_message_logs(logs: Iterable[dict]) -> list[L1Message]:
    """L1 messages from the rollup's MessageSent logs, each paired with the RollingHashUpdated log of its nonce."""
    rolling: dict[int, tuple[bytes, bytes]] = {}
    sent: list[tuple[int, bytes, int]] = []
    for entry in logs:
        topics = [bytes(t) for t in entry["topics"]]
        if entry.get("removed"):
            continue
        if topics[0] == L1_ROLLING_HASH_UPDATED_TOPIC and len(topics) == 4:
            rolling[int.from_bytes(topics[1], "big")] = (topics[2], topics[3])
        elif topics[0] == MESSAGE_SENT_TOPIC and len(topics) == 4:
            _fee, _value, nonce, _data = abi_decode(["uint256", "uint256", "uint256", "bytes"], bytes(entry["data"]))
            sent.append((nonce, topics[3], int(entry["blockNumber"])))
    messages = []
    for nonce, message_hash, block_number in sent:
        if nonce not in rolling or rolling[nonce][1] != message_hash:
            raise AnchoringMismatch(f"L1 message {nonce} in block {block_number} has no matching RollingHashUpdated log")
        messages.append(L1Message(nonce, message_hash, rolling[nonce][0], block_number))
    return messages


class MessageAnchorer:
    """One actor: `tick()` anchors at most one group of L1 messages on L2 and returns how many."""

    def __init__(self, l1: Web3, l2: Web3, rollup: str, l2_message_service: str, key: str,
                 settings: AnchoringSettings = AnchoringSettings(), abis: Iterable[list] = ()) -> None:
        self.l1 = l1
        self.l2 = l2
        self.rollup = Web3.to_checksum_address(rollup)
        self.service = Web3.to_checksum_address(l2_message_service)
        self.address = Account.from_key(key).address
        self.settings = settings
        self.abis = list(abis)
        self.health = AnchoringHealth()
        self._next_scan_block = settings.l1_start_block
        self._messages: dict[int, L1Message] = {}
        self._sender = TransactionSender(l2, key, ReplacementPolicy())

    @classmethod
    def connect(cls, l1_rpc: str, l2_rpc: str, rollup: str, l2_message_service: str, key: str,
                settings: AnchoringSettings = AnchoringSettings(), abis: Iterable[list] = ()) -> MessageAnchorer:
        return cls(Web3(HTTPProvider(l1_rpc, request_kwargs={"timeout": 60})), l2_web3(l2_rpc), rollup,
                   l2_message_service, key, settings, abis)

    def due(self, now: float) -> bool:
        return now - self.health.last_tick >= self.settings.polling_interval_s

    # -- the tick -----------------------------------------------------------------------------------
    def tick(self, now: float | None = None) -> int:
        self.health.last_tick = time.time() if now is None else now
        try:
            anchored = self._tick()
        except OperationalError as exc:
            self.health.last_error = str(exc)
            raise
        except (Web3Exception, OSError, TransactionReverted, l2_sender.TransactionReverted) as exc:
            self.health.last_error = f"{type(exc).__name__}: {exc}"
            raise AnchoringUnavailable(f"anchoring: {type(exc).__name__}: {exc}") from exc
        self.health.last_error = None
        return anchored

    def _tick(self) -> int:
        safe = self.safe_block()
        last = self.last_anchored()
        for nonce in [n for n in self._messages if n <= last]:
            del self._messages[nonce]
        self._scan(safe, last)
        group = self._group(last)
        if not group:
            self._check_no_gap(safe, last)
            return 0
        final_rolling = self._checked_rolling_hash(group, last, safe)
        self._anchor(group, last, final_rolling)
        return len(group)

    # -- reads --------------------------------------------------------------------------------------
    def safe_block(self) -> int:
        """The highest L1 block whose logs may be read."""
        if self.settings.l1_confirmations > 0:
            safe = self.l1.eth.block_number - self.settings.l1_confirmations + 1
        else:
            try:
                safe = self.l1.eth.get_block(self.settings.l1_block_tag)["number"]
            except Web3Exception as exc:
                raise AnchoringUnavailable(
                    f"the L1 has no {self.settings.l1_block_tag!r} block ({exc}): set anchoring-l1-confirmations"
                ) from exc
        self.health.safe_block = safe
        return safe

    def last_anchored(self) -> int:
        answer = self.l2.eth.call({"to": self.service, "data": LAST_ANCHORED_SELECTOR}, "latest")
        self.health.anchored_up_to = int.from_bytes(answer, "big")
        return self.health.anchored_up_to

    def l2_rolling_hash(self, number: int) -> bytes:
        if number == 0:
            return ZERO_HASH
        return bytes(self.l2.eth.call({"to": self.service, "data": L2_ROLLING_HASHES_SELECTOR + _word(number)}))

    def l1_rolling_hash(self, number: int, block: int) -> bytes:
        if number == 0:
            return ZERO_HASH
        return bytes(self.l1.eth.call({"to": self.rollup, "data": L1_ROLLING_HASHES_SELECTOR + _word(number)}, block))

    # -- scanning -----------------------------------------------------------------------------------
    def _pending(self, last: int) -> int:
        count = 0
        while last + count + 1 in self._messages:
            count += 1
        return count

    def _scan(self, safe: int, last: int) -> None:
        """Read logs in bounded ranges up to `safe`, until a full group past `last` is known."""
        for _ in range(LOG_REQUESTS_PER_TICK):
            if self._next_scan_block > safe or self._pending(last) >= self.settings.max_messages:
                return
            start = self._next_scan_block
            end = min(safe, start + self.settings.logs_block_range - 1)
            logs = self.l1.eth.get_logs({
                "fromBlock": start, "toBlock": end, "address": self.rollup,
                "topics": [["0x" + MESSAGE_SENT_TOPIC.hex(), "0x" + L1_ROLLING_HASH_UPDATED_TOPIC.hex()]],
            })
            for message in parse_message_logs(logs):
                known = self._messages.get(message.nonce)
                if known is not None and known.message_hash != message.message_hash:
                    self._forget_scan()
                    raise AnchoringMismatch(
                        f"L1 message {message.nonce} appears in block {known.block_number} and, different, in block "
                        f"{message.block_number}: L1 reorged deeper than the anchoring safety; scanning again"
                    )
                if message.nonce > last:
                    self._messages[message.nonce] = message
            self._next_scan_block = end + 1
            self.health.scanned_up_to = end

    def _forget_scan(self) -> None:
        self._messages.clear()
        self._next_scan_block = self.settings.l1_start_block
        self.health.scanned_up_to = self.settings.l1_start_block - 1

    def _group(self, last: int) -> list[L1Message]:
        return [self._messages[last + i] for i in range(1, min(self._pending(last), self.settings.max_messages) + 1)]

    def _check_no_gap(self, safe: int, last: int) -> None:
        if self._next_scan_block > safe and self._messages and min(self._messages) > last + 1:
            raise AnchoringMismatch(
                f"L1 messages from {min(self._messages)} are known but message {last + 1} was not found between "
                f"L1 blocks {self.settings.l1_start_block} and {safe} (is anchoring-l1-start-block too high?)"
            )

    # -- checks and sending -------------------------------------------------------------------------
    def _checked_rolling_hash(self, group: list[L1Message], last: int, safe: int) -> bytes:
        """The group's final rolling hash, rebuilt from the L2's record and equal to L1's at the safe block."""
        l2_record = self.l2_rolling_hash(last)
        rolling = l2_record
        consistent = True
        for message in group:
            rolling = next_rolling_hash(rolling, message.message_hash)
            consistent = consistent and rolling == message.rolling_hash
        if consistent and rolling == self.l1_rolling_hash(group[-1].nonce, safe):
            return rolling
        l1_record = self.l1_rolling_hash(last, safe)
        if l1_record != l2_record:
            raise AnchoringMismatch(
                f"L2 anchored L1 messages up to {last} with rolling hash 0x{l2_record.hex()}, but L1 (block {safe}) "
                f"has 0x{l1_record.hex()}: L1 reorged deeper than the anchoring safety after they were anchored. "
                "Nothing more can be anchored on this L2 until an operator intervenes"
            )
        self._forget_scan()
        raise AnchoringMismatch(
            f"the L1 messages {group[0].nonce}-{group[-1].nonce} read earlier are no longer L1's (a reorg deeper "
            "than the anchoring safety): dropped, scanning L1 again"
        )

    def _anchor(self, group: list[L1Message], last: int, final_rolling: bytes) -> None:
        start, final = last + 1, group[-1].nonce
        data = ANCHOR_SELECTOR + abi_encode(
            ["bytes32[]", "uint256", "uint256", "bytes32"], [[m.message_hash for m in group], start, final, final_rolling]
        )
        tx = {"to": self.service, "data": data}
        try:
            self.l2.eth.call({**tx, "from": self.address}, "latest")
        except ContractLogicError as exc:
            raise AnchoringRefused(f"anchorL1L2MessageHashes({start}-{final}): {self._reason(exc)}") from None
        receipt = self._sender.send(tx)
        self.health.transactions += 1
        self.health.anchored_up_to = final
        for nonce in range(start, final + 1):
            self._messages.pop(nonce, None)
        log.info("anchored L1 messages %d-%d on L2 (rolling hash 0x%s…) in 0x%s", start, final,
                 final_rolling.hex()[:12], bytes(receipt["transactionHash"]).hex())

    def _reason(self, exc: ContractLogicError) -> str:
        data = exc.data if isinstance(exc.data, str) else ""
        if not data:
            return f"the L2 message service refuses it ({exc})"
        if data[2:10] == MISSING_ROLE_SELECTOR.hex():
            return (f"the anchorer {self.address} lacks L1_L2_MESSAGE_SETTER_ROLE on the L2 message service "
                    f"{self.service}: set coordinator.l2-key to the key it was granted to")
        name, args = decode_revert(data, self.abis)
        return f"the L2 message service refuses it ({name}{tuple(args) if args else ''})"
