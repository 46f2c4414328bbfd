"""A bridge user's side of Linen's messaging: send ETH (and a call) across, see where it is, claim it.

The postman claims the messages that pay it; a message without a fee, or one sent while the postman
is down, waits for its owner to claim it, so a user needs both the claim and a way to see how far a
message got. Everything here is read from the two message services' state and logs (plus the
postman's own view when its RPC answers), so it works against any deployment whose addresses it is
given, and needs no database of its own.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from eth_account import Account
from eth_hash.auto import keccak
from web3 import HTTPProvider, Web3
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError
from web3.logs import DISCARD
from web3.middleware import ExtraDataToPOAMiddleware

from linen.bridge import message_proof
from linen.bridge.abi import (
    INBOX_CLAIMED,
    INBOX_RECEIVED,
    L1_MESSAGE_SERVICE_ABI,
    L2_MESSAGE_SERVICE_ABI,
    MESSAGE_CLAIMED_TOPIC,
)
from linen.bridge.logs import decode_message_sent, find_log_backwards
from linen.errors import ConfigError, InvalidInput, OperationalError
from linen.l1.sender import ReplacementPolicy, TransactionReverted, TransactionSender
from linen.l1.transact import decode_revert
from linen.primitives.types import BlockNumber, Hash32, Wei
from linen.protocol.messaging import MESSAGE_SENT_TOPIC

WEI_PER_ETH = 10**18
# Blocks per eth_getLogs query: under the Linen node's cap (10,000) and most public providers'.
LOG_SCAN_SPAN = 5_000
# The L2 anchors at most this many L1 messages per transaction (MAX_L1_L2_MESSAGES_TO_ANCHOR).
MAX_ANCHORED_PER_TX = 100

L2_ROLLING_HASH_TOPIC = keccak(b"RollingHashUpdated(uint256,bytes32)")
BLOCK_ANCHORED_TOPIC = keccak(b"L2MessagingBlockAnchored(uint256)")

# Postman statuses (Linea's names, linen_getMessageStatus) after which it leaves the claim to the user.
POSTMAN_GAVE_UP = frozenset({"ZERO_FEE", "FEE_UNDERPRICED", "NON_EXECUTABLE", "CLAIMED_REVERTED"})


class BridgeRefusal(InvalidInput):
    """The request cannot be carried out (now); the message says why and what to do instead."""


class UnknownMessage(BridgeRefusal):
    """No message with this hash was sent through either message service."""


class BridgeTimeout(OperationalError):
    """A message did not reach the awaited stage in time (it stays sent)."""


class TransactionFailed(OperationalError):
    """A transaction passed its dry run but reverted once mined (the chain moved in between)."""


class Direction(enum.Enum):
    DEPOSIT = "L1 -> L2"
    WITHDRAWAL = "L2 -> L1"

    @property
    def source(self) -> str:
        return "L1" if self is Direction.DEPOSIT else "L2"

    @property
    def destination(self) -> str:
        return "L2" if self is Direction.DEPOSIT else "L1"

    @property
    def postman_name(self) -> str:
        """The direction as the postman's RPC names it (linen_getMessageStatus's second parameter)."""
        return "L1_TO_L2" if self is Direction.DEPOSIT else "L2_TO_L1"


# -- amounts and hex ------------------------------------------------------------------------------


def eth_to_wei(amount: str | Decimal) -> Wei:
    """An ETH amount written as a decimal ("0.25") in wei; exact, so no float ever rounds it."""
    try:
        eth = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidInput(f"expected an amount of ETH such as 0.25, got {amount!r}") from None
    if not eth.is_finite() or eth < 0:
        raise InvalidInput(f"expected a non-negative amount of ETH, got {amount!r}")
    wei = eth * WEI_PER_ETH
    if wei != wei.to_integral_value():
        raise InvalidInput(f"{amount} ETH is not a whole number of wei (at most 18 decimals)")
    return Wei(int(wei))


def format_eth(wei: int) -> str:
    """Wei as ETH without trailing zeros: 250000000000000000 → "0.25 ETH"."""
    text = format(Decimal(wei).scaleb(-18), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} ETH"


def hex_of(data: bytes) -> str:
    return "0x" + bytes(data).hex()


def parse_message_hash(text: str) -> Hash32:
    raw = text.removeprefix("0x")
    if len(raw) != 64:
        raise InvalidInput(f"a message hash is 32 bytes (0x and 64 hex digits), got {text!r}")
    try:
        return Hash32(bytes.fromhex(raw))
    except ValueError:
        raise InvalidInput(f"a message hash is hexadecimal, got {text!r}") from None


# -- where the bridge is --------------------------------------------------------------------------


@dataclass(frozen=True)
class BridgeEndpoints:
    """The two chains, the two message services, and (optionally) the postman and funded keys."""

    l1_rpc: str
    l2_rpc: str
    rollup: str
    l2_message_service: str
    postman_rpc: str | None = None
    account_keys: tuple[str, ...] = ()

    @classmethod
    def from_devnet(cls, data_dir: str | Path) -> BridgeEndpoints:
        """What `linen devnet` wrote to `<data_dir>/devnet.json`."""
        path = Path(data_dir) / "devnet.json"
        try:
            info = json.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(
                f"{path} does not exist: start `linen devnet --data-dir {data_dir}` first, or pass the --data-dir "
                "of a running devnet"
            ) from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path} is not readable JSON: {exc}") from None
        try:
            return cls(
                l1_rpc=info["l1"]["rpc"],
                l2_rpc=info["l2"]["rpc"],
                rollup=info["contracts"]["rollup"],
                l2_message_service=info["contracts"]["l2MessageService"],
                postman_rpc=(info.get("postman") or {}).get("rpc"),
                account_keys=tuple(a["privateKey"] for a in info.get("accounts", [])),
            )
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"{path} lacks {exc}: is it a devnet with the L1 and the message services?") from None

    def account_key(self, index: int) -> str:
        if not 0 <= index < len(self.account_keys):
            raise InvalidInput(f"account {index}: the devnet lists accounts 0..{len(self.account_keys) - 1}")
        return self.account_keys[index]


# -- what the client reports ----------------------------------------------------------------------


@dataclass(frozen=True)
class ChainEvent:
    """Where something happened: a transaction on one of the chains."""

    chain: str  # "L1" or "L2"
    tx_hash: Hash32
    block_number: BlockNumber


@dataclass(frozen=True)
class SentMessage:
    """A message as its MessageSent event has it; `fee` is what the claimer earns."""

    direction: Direction
    message_hash: Hash32
    nonce: int
    sender: str
    recipient: str
    fee: Wei
    value: Wei
    calldata: bytes
    sent: ChainEvent
    minimum_fee: Wei | None = None  # a withdrawal's fee to the L2 sequencer, when this client sent it


@dataclass(frozen=True)
class PostmanView:
    """What the postman's RPC says of a message: its status and why (e.g. ZERO_FEE, "the message pays no fee")."""

    status: str
    reason: str = ""


@dataclass(frozen=True)
class MessageStatus:
    """How far a message got. `arrived`: anchored on L2 (deposit) or its block finalized on L1 (withdrawal)."""

    message: SentMessage
    arrived: bool
    arrival: ChainEvent | None  # the anchoring (L2) or finalization (L1) transaction, when found
    claimed: bool
    claim: ChainEvent | None
    finalized_l2_block: BlockNumber | None = None  # withdrawals: the last L2 block L1 has finalized
    postman: PostmanView | None = None  # when the postman's RPC answered and knows the message

    @property
    def arrival_name(self) -> str:
        return "anchored" if self.message.direction is Direction.DEPOSIT else "finalized"

    @property
    def stage(self) -> str:
        return "claimed" if self.claimed else self.arrival_name if self.arrived else "sent"


@dataclass(frozen=True)
class ClaimResult:
    message: SentMessage
    claim: ChainEvent


@dataclass(frozen=True)
class Step:
    """One line of a followed message's progress: "waiting", "anchored", "finalized", "claimed" or "to claim"."""

    name: str
    note: str = ""
    event: ChainEvent | None = None


# -- the client -----------------------------------------------------------------------------------


def _connect(url: str, proof_of_authority: bool = False) -> Web3:
    w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 30}))
    if proof_of_authority:
        # Linen's L2 seals blocks Clique-style: extraData is longer than web3's 32-byte check allows.
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3


def _latest_log(w3: Web3, address: str, topics: list, accept: Callable[[dict], bool] = lambda _log: True):
    """The most recent matching log on the whole chain, or None; searched from the head down, recent first."""
    return find_log_backwards(w3, address, topics, 0, w3.eth.block_number, accept, chunk=LOG_SCAN_SPAN)


class BridgeClient:
    """Deposits, withdrawals, claims and status for one account (reads need no key)."""

    def __init__(self, endpoints: BridgeEndpoints, private_key: str | None = None, command_options: str = "") -> None:
        self.endpoints = endpoints
        # what the `linen bridge` commands this client suggests need to reach the same bridge (e.g. --data-dir)
        self.command_options = command_options
        self.l1 = _connect(endpoints.l1_rpc)
        self.l2 = _connect(endpoints.l2_rpc, proof_of_authority=True)
        self.rollup = self.l1.eth.contract(address=Web3.to_checksum_address(endpoints.rollup),
                                           abi=L1_MESSAGE_SERVICE_ABI)
        self.l2_service = self.l2.eth.contract(address=Web3.to_checksum_address(endpoints.l2_message_service),
                                               abi=L2_MESSAGE_SERVICE_ABI)
        self._private_key = private_key
        self.account = Account.from_key(private_key) if private_key else None

    def command(self, name: str, message_hash: str) -> str:
        """The `linen bridge` command line that runs `name` (claim, status) on this message of this bridge."""
        return f"linen bridge {name} {message_hash}{self.command_options}"

    # -- sending ----------------------------------------------------------------------------------
    def deposit(self, to: str, value: Wei, fee: int = 0, calldata: bytes = b"") -> SentMessage:
        """L1 sendMessage: `value` arrives on L2 at `to` (with `calldata`), `fee` pays whoever claims it."""
        receipt = self._transact(Direction.DEPOSIT.source, "sendMessage", [to, fee, calldata], value + fee)
        return self._sent_in(receipt, Direction.DEPOSIT)

    def withdraw(self, to: str, value: Wei, fee: int = 0, calldata: bytes = b"") -> SentMessage:
        """L2 sendMessage: pays `value`, the L2 minimum fee (to the sequencer) and `fee` (to the L1 claimer)."""
        minimum = Wei(self.l2_service.functions.minimumFeeInWei().call())
        receipt = self._transact(
            Direction.WITHDRAWAL.source, "sendMessage", [to, minimum + fee, calldata], value + minimum + fee
        )
        return dataclasses.replace(self._sent_in(receipt, Direction.WITHDRAWAL), minimum_fee=minimum)

    # -- reading ----------------------------------------------------------------------------------
    def find_message(self, message_hash: bytes) -> SentMessage:
        """The message's MessageSent event, on L1 (a deposit) or on L2 (a withdrawal)."""
        topics = [MESSAGE_SENT_TOPIC, None, None, bytes(message_hash)]
        for direction in Direction:
            w3, contract = self._source(direction)
            log = _latest_log(w3, contract.address, topics)
            if log is not None:
                return self._sent_message(direction, log)
        raise UnknownMessage(
            f"no message {hex_of(message_hash)} was sent through the L1 rollup {self.rollup.address} or the L2 "
            f"message service {self.l2_service.address}"
        )

    def status(self, message: SentMessage | bytes) -> MessageStatus:
        """Every stage of the message, with the transactions that made it happen."""
        message = message if isinstance(message, SentMessage) else self.find_message(message)
        finalized = None
        if message.direction is Direction.DEPOSIT:
            inbox = self._inbox_status(message)
            arrived, claimed = inbox >= INBOX_RECEIVED, inbox == INBOX_CLAIMED
            arrival = self._anchoring(message) if arrived else None
        else:
            finalized = self._finalized_l2_block()
            arrived = finalized >= message.sent.block_number
            claimed = self._is_claimed(message)
            arrival = self._finalization(message) if arrived else None
        return MessageStatus(
            message=message,
            arrived=arrived,
            arrival=arrival,
            claimed=claimed,
            claim=self._claim_event(message) if claimed else None,
            finalized_l2_block=finalized,
            postman=self.postman_status(message),
        )

    def postman_status(self, message: SentMessage) -> PostmanView | None:
        """The postman's view of the message (linen_getMessageStatus); None without a postman that knows it.

        The direction goes with the hash: a deposit and a withdrawal with the same fields share their hash.
        """
        url = self.endpoints.postman_rpc
        if not url:
            return None
        params = [hex_of(message.message_hash), message.direction.postman_name]
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "linen_getMessageStatus", "params": params}).encode()
        try:
            request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=5) as response:
                result = json.loads(response.read()).get("result")
        except (OSError, ValueError):
            return None
        if not isinstance(result, dict) or not isinstance(result.get("status"), str):
            return None
        return PostmanView(result["status"], str(result.get("reason") or ""))

    # -- claiming ---------------------------------------------------------------------------------
    def claim(self, message_hash: bytes, fee_recipient: str | None = None) -> ClaimResult:
        """Deliver the message on its destination chain; refuses (sending nothing) if it cannot be claimed yet."""
        account = self._require_account()
        message = self.find_message(message_hash)
        recipient = fee_recipient or account.address
        self._check_claimable(message)
        if message.direction is Direction.DEPOSIT:
            args = [message.sender, message.recipient, message.fee, message.value, recipient, message.calldata,
                    message.nonce]
            receipt = self._transact("L2", "claimMessage", args)
        else:
            params = self._l2_to_l1_claim(message).as_abi(recipient)
            receipt = self._transact("L1", "claimMessageWithProof", [params])
        event = ChainEvent(message.direction.destination, Hash32(bytes(receipt["transactionHash"])),
                           BlockNumber(receipt["blockNumber"]))
        return ClaimResult(message, event)

    def _check_claimable(self, message: SentMessage) -> None:
        shown = hex_of(message.message_hash)
        if self._is_claimed(message):
            claim = self._claim_event(message)
            where = f" in {claim.chain} tx {hex_of(claim.tx_hash)}" if claim else ""
            raise BridgeRefusal(f"message {shown} was already claimed{where}: nothing to do")
        if message.direction is Direction.DEPOSIT:
            if self._inbox_status(message) < INBOX_RECEIVED:
                raise BridgeRefusal(
                    f"message {shown} cannot be claimed yet: it is not anchored on L2. The coordinator anchors L1 "
                    f"messages once their L1 block is final; see `{self.command('status', shown)}` and try again later"
                )
        else:
            finalized = self._finalized_l2_block()
            if finalized < message.sent.block_number:
                raise BridgeRefusal(
                    f"message {shown} cannot be claimed yet: it was sent in L2 block {message.sent.block_number} "
                    f"and L1 has finalized L2 blocks only up to {finalized}. Try again once the block is finalized "
                    f"(`{self.command('status', shown)}`)"
                )

    def _l2_to_l1_claim(self, message: SentMessage) -> message_proof.L2ToL1Claim:
        """The proof of the message under a finalized L2 Merkle root, rebuilt from the two chains' events."""
        try:
            return message_proof.build_l2_to_l1_claim(
                self.l1, self.rollup.address, self.l2, self.l2_service.address, message.message_hash,
                l2_block=message.sent.block_number, chunk=LOG_SCAN_SPAN,
            )
        except (message_proof.MessageNotFinalized, message_proof.UnknownMessage) as exc:
            raise BridgeRefusal(f"message {hex_of(message.message_hash)} cannot be claimed on L1: {exc}") from None

    # -- following --------------------------------------------------------------------------------
    def follow(self, message: SentMessage, timeout: float, poll_interval: float = 1.0) -> Iterator[Step]:
        """The message's progress as it happens, until it is claimed or it is the user's turn to claim it."""
        deadline = time.monotonic() + timeout
        shown = hex_of(message.message_hash)
        deposit = message.direction is Direction.DEPOSIT
        if deposit:
            yield Step("waiting", "for the coordinator to anchor it on L2")
        else:
            yield Step("waiting", f"for L1 to finalize L2 block {message.sent.block_number}")
        self._wait_until(lambda: self._has_arrived(message), deadline, poll_interval, lambda: self._late(message))
        arrival = self._anchoring(message) if deposit else self._finalization(message)
        yield Step("anchored" if deposit else "finalized", event=arrival)
        yield Step("waiting", f"for the postman to claim it on {message.direction.destination}")
        while True:
            if self._is_claimed(message):
                yield Step("claimed", "", self._claim_event(message))
                return
            postman = self.postman_status(message)
            if postman is not None and postman.status in POSTMAN_GAVE_UP:
                why = f"{postman.status}: {postman.reason}" if postman.reason else postman.status
                yield Step("to claim", f"the postman will not claim it ({why}); run `{self.command('claim', shown)}`")
                return
            if postman is None and message.fee == 0:
                # Without a postman's word (one may sponsor it), a message that pays nothing is its owner's to claim.
                yield Step("to claim", f"the message pays no fee, so the postman leaves it to you: run "
                           f"`{self.command('claim', shown)}`")
                return
            if time.monotonic() > deadline:
                said = f"{postman.status}" if postman else "no answer"
                raise BridgeTimeout(
                    f"message {shown} was not claimed within {timeout:g}s (postman: {said}); "
                    f"claim it yourself with `{self.command('claim', shown)}`"
                )
            time.sleep(poll_interval)

    def _wait_until(self, done: Callable[[], bool], deadline: float, poll: float, late: Callable[[], str]) -> None:
        while not done():
            if time.monotonic() > deadline:
                raise BridgeTimeout(late())
            time.sleep(poll)

    def _late(self, message: SentMessage) -> str:
        shown = hex_of(message.message_hash)
        if message.direction is Direction.DEPOSIT:
            return (f"message {shown} is still not anchored on L2 (is the coordinator running?); it stays sent: "
                    f"follow it with `{self.command('status', shown)}`")
        return (f"L1 has finalized L2 blocks up to {self._finalized_l2_block()}, message {shown} is in block "
                f"{message.sent.block_number}; it stays sent: follow it with `{self.command('status', shown)}`")

    # -- chain reads ------------------------------------------------------------------------------
    def _source(self, direction: Direction):  # type: ignore[no-untyped-def]
        return (self.l1, self.rollup) if direction is Direction.DEPOSIT else (self.l2, self.l2_service)

    def _destination(self, direction: Direction):  # type: ignore[no-untyped-def]
        return (self.l2, self.l2_service) if direction is Direction.DEPOSIT else (self.l1, self.rollup)

    def _inbox_status(self, message: SentMessage) -> int:
        return self.l2_service.functions.inboxL1L2MessageStatus(message.message_hash).call()

    def _finalized_l2_block(self) -> BlockNumber:
        return BlockNumber(self.rollup.functions.currentL2BlockNumber().call())

    def _has_arrived(self, message: SentMessage) -> bool:
        if message.direction is Direction.DEPOSIT:
            return self._inbox_status(message) >= INBOX_RECEIVED
        return self._finalized_l2_block() >= message.sent.block_number

    def _is_claimed(self, message: SentMessage) -> bool:
        if message.direction is Direction.DEPOSIT:
            return self._inbox_status(message) == INBOX_CLAIMED
        return bool(self.rollup.functions.isMessageClaimed(message.nonce).call())

    def _claim_event(self, message: SentMessage) -> ChainEvent | None:
        w3, contract = self._destination(message.direction)
        log = _latest_log(w3, contract.address, [MESSAGE_CLAIMED_TOPIC, message.message_hash])
        return None if log is None else self._event_of(message.direction.destination, log)

    def _finalization(self, message: SentMessage) -> ChainEvent | None:
        """The L1 finalization that named the message's L2 block (L2MessagingBlockAnchored)."""
        log = _latest_log(self.l1, self.rollup.address, [BLOCK_ANCHORED_TOPIC, message.sent.block_number])
        return None if log is None else self._event_of("L1", log)

    def _anchoring(self, message: SentMessage) -> ChainEvent | None:
        """The L2 transaction that anchored the message: it ends at a message number in [nonce, nonce + 99]."""
        added = self.l2_service.events.L1L2MessageHashesAddedToInbox()

        def anchors_it(log: dict) -> bool:
            number = int.from_bytes(bytes(log["topics"][1]), "big")
            if not message.nonce <= number < message.nonce + MAX_ANCHORED_PER_TX:
                return False
            receipt = self.l2.eth.get_transaction_receipt(log["transactionHash"])
            return any(
                message.message_hash in (bytes(h) for h in event["args"]["messageHashes"])
                for event in added.process_receipt(receipt, errors=DISCARD)
            )

        log = _latest_log(self.l2, self.l2_service.address, [L2_ROLLING_HASH_TOPIC], anchors_it)
        return None if log is None else self._event_of("L2", log)

    # -- helpers ----------------------------------------------------------------------------------
    def _require_account(self):  # type: ignore[no-untyped-def]
        if self.account is None:
            raise InvalidInput("this needs a key to sign with (--key, or --account N of the devnet)")
        return self.account

    def _transact(self, chain: str, function: str, args: list, value: int = 0) -> dict:
        """Dry-run the call (so a refusal is named and nothing is sent), then sign, send and wait."""
        account = self._require_account()
        w3, contract = (self.l1, self.rollup) if chain == "L1" else (self.l2, self.l2_service)
        tx = {"to": contract.address, "data": contract.encode_abi(function, args), "value": value}
        try:
            w3.eth.call({"from": account.address, **tx})
        except (ContractCustomError, ContractLogicError) as exc:
            data = exc.data if isinstance(exc.data, str) and exc.data.startswith("0x") else None
            reason = _describe_revert(*decode_revert(data, [contract.abi])) if data else str(exc)
            raise BridgeRefusal(f"the {chain} message service refuses {function}: {reason}") from None
        except Web3RPCError as exc:
            raise BridgeRefusal(f"the {chain} node refuses {function}: {_rpc_message(exc)}") from None
        try:
            return dict(TransactionSender(w3, self._private_key, ReplacementPolicy()).send(tx))
        except TransactionReverted as exc:
            raise TransactionFailed(f"{function} passed its dry run on {chain} but reverted once mined: {exc}") from None

    def _sent_in(self, receipt: dict, direction: Direction) -> SentMessage:
        _, contract = self._source(direction)
        (log,) = [
            log for log in receipt["logs"]
            if log["address"] == contract.address and bytes(log["topics"][0]) == MESSAGE_SENT_TOPIC
        ]
        return self._sent_message(direction, log)

    @staticmethod
    def _sent_message(direction: Direction, log: dict) -> SentMessage:
        """The MessageSent `log` as a message (decode_message_sent also checks that its fields hash to it)."""
        sent = decode_message_sent(log)
        return SentMessage(
            direction=direction,
            message_hash=Hash32(bytes(sent.message_hash)),
            nonce=sent.nonce,
            sender=sent.sender,
            recipient=sent.recipient,
            fee=Wei(sent.fee),
            value=Wei(sent.value),
            calldata=sent.calldata,
            sent=ChainEvent(direction.source, Hash32(bytes.fromhex(sent.transaction_hash[2:])),
                            BlockNumber(sent.block_number)),
        )

    @staticmethod
    def _event_of(chain: str, log) -> ChainEvent:  # type: ignore[no-untyped-def]
        return ChainEvent(chain, Hash32(bytes(log["transactionHash"])), BlockNumber(log["blockNumber"]))


def _describe_revert(name: str, args: tuple) -> str:
    shown = (hex_of(a) if isinstance(a, bytes) else str(a) for a in args)
    return f"{name}({', '.join(shown)})"


def _rpc_message(exc: Web3RPCError) -> str:
    message = getattr(exc, "rpc_response", None) or {}
    error = message.get("error") if isinstance(message, dict) else None
    return error.get("message", str(exc)) if isinstance(error, dict) else str(exc)
