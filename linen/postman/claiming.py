"""What both directions of the postman share: finding messages, deciding whether a claim pays, and claiming once.

Per tick a direction (1) records new MessageSent events of its source chain as SENT, (2) settles a
claim left PENDING (by a crash or a stuck transaction) from the chain, (3) moves SENT messages that
became claimable to ANCHORED, and (4) claims ANCHORED ones whose fee covers the claim's gas at the
configured margin, or that are sponsored. Never twice: the on-chain claimed status is read before
every claim, and the nonce of a claim is stored (PENDING) before it is sent, so after a restart the
same nonce is reused (at most one of its versions can be mined) or, if it was used, the chain says how.
"""

from __future__ import annotations

import logging
import math
import re

from eth_account import Account
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError

from linen.bridge.abi import MESSAGE_CLAIMED_TOPIC
from linen.bridge.logs import find_log_backwards, message_sent_logs
from linen.errors import OperationalError
from linen.l1.sender import GAS_MARGIN, StuckTransaction, TransactionReverted, TransactionSender
from linen.l1.transact import decode_revert
from linen.postman.settings import PostmanSettings
from linen.postman.store import (
    ANCHORED,
    CLAIMED_REVERTED,
    CLAIMED_SUCCESS,
    FEE_UNDERPRICED,
    NON_EXECUTABLE,
    PENDING,
    SENT,
    ZERO_FEE,
    MessageRow,
    PostmanStore,
)

log = logging.getLogger("linen.postman")

# Reverts that say "not now" rather than "never": the message goes back to wait for a later tick.
RETRY_LATER = frozenset({"RateLimitExceeded", "IsPaused"})
ALREADY_CLAIMED = frozenset({"MessageAlreadyClaimed", "MessageDoesNotExistOrHasAlreadyBeenClaimed"})
MAX_LOG_CHUNKS_PER_TICK = 10
_TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}")


class ClaimUnavailable(OperationalError):
    """The claim cannot be built right now (e.g. its proof's inputs are not readable); try again later."""


def decide(fee: int, gas: int, gas_price: int, *, margin: float, sponsored: bool, max_sponsored_gas: int,
           max_claim_gas: int) -> tuple[str | None, str]:
    """(status to leave the message in, why) — or (None, why) when the postman should claim it."""
    if gas > max_claim_gas:
        return NON_EXECUTABLE, f"the claim needs {gas} gas, above the postman's max-claim-gas {max_claim_gas}"
    if sponsored and gas <= max_sponsored_gas:
        return None, "sponsored"
    if fee == 0:
        return ZERO_FEE, "the message pays no fee: claim it yourself"
    required = math.ceil(gas * gas_price * (1 + margin))
    if fee < required:
        return FEE_UNDERPRICED, (f"fee {fee} wei is below {required} wei = {gas} gas x {gas_price} wei x "
                                 f"(1 + {margin:g}): claim it yourself")
    return None, "the fee covers the claim"


def revert_name(exc: Exception, abi: list) -> str:
    """`Name(args)` of the custom error a call reverted with, else the node's message."""
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        name, args = decode_revert(data, [abi])
        return f"{name}{tuple(args)}" if args else name
    return str(exc)[:200]


class ClaimDirection:
    """One direction: messages sent on `source` by `source_service`, claimed on `target` at `target_contract`."""

    direction = ""
    cursor_name = ""

    def __init__(self, settings: PostmanSettings, store: PostmanStore, source: Web3, target: Web3, *,
                 source_service: str, target_contract, target_key: str, confirmations: int, from_block: int,
                 target_from_block: int, auto_claim: bool) -> None:
        self.settings = settings
        self.store = store
        self.source = source
        self.target = target
        self.source_service = source_service
        self.contract = target_contract
        self.account = Account.from_key(target_key)
        self.sender = TransactionSender(target, target_key, settings.replacement)
        self.confirmations = confirmations
        self.from_block = from_block
        self.target_from_block = target_from_block
        self.auto_claim = auto_claim
        self.fee_recipient = settings.fee_recipient or self.account.address

    # -- what each direction defines ----------------------------------------------------------------
    def is_claimed(self, row: MessageRow) -> bool:
        raise NotImplementedError

    def advance_sent(self, rows: list[MessageRow]) -> None:
        """Move SENT rows that became claimable to ANCHORED (or CLAIMED_SUCCESS if someone claimed them)."""
        raise NotImplementedError

    def claim_call(self, row: MessageRow) -> ContractFunction:
        raise NotImplementedError

    # -- one tick -----------------------------------------------------------------------------------
    def tick(self) -> None:
        self.discover()
        if not self.settle_pending():
            return  # a claim is still in flight: later claims would only queue behind its nonce
        self.advance_sent(self.store.with_status(self.direction, SENT, self.settings.messages_per_tick))
        if not self.auto_claim:
            return
        for row in self.store.with_status(self.direction, ANCHORED, self.settings.messages_per_tick):
            if not self.claim(row):
                return

    def discover(self) -> None:
        """Record the MessageSent events of confirmed source blocks, a bounded number of log queries per tick."""
        head = self.source.eth.block_number - self.confirmations
        chunk = self.settings.max_blocks_to_fetch_logs
        for _ in range(MAX_LOG_CHUNKS_PER_TICK):
            start = self.store.cursor(self.cursor_name, self.from_block)
            if start > head:
                return
            end = min(head, start + chunk - 1)
            messages = message_sent_logs(self.source, self.source_service, start, end, chunk)
            self.store.add_sent(self.direction, messages, self.cursor_name, end + 1)
            for m in messages:
                log.info("%s message 0x%s (nonce %d, fee %d) seen in block %d", self.direction, m.message_hash.hex(),
                         m.nonce, m.fee, m.block_number)

    # -- claiming -----------------------------------------------------------------------------------
    def claim(self, row: MessageRow) -> bool:
        """Decide and, if it pays, claim; False when a claim is left in flight (stop claiming this tick)."""
        if self.is_claimed(row):
            self._claimed_elsewhere(row)
            return True
        try:
            call = self.claim_call(row)
        except ClaimUnavailable as exc:
            log.warning("%s message 0x%s: cannot build its claim yet: %s", self.direction, row.message_hash.hex(), exc)
            self.store.set_status(self.direction, row.message_hash, ANCHORED, f"claim not buildable yet: {exc}")
            return True
        try:
            gas = call.estimate_gas({"from": self.account.address})
        except ContractLogicError as exc:
            self._refused(row, revert_name(exc, self.contract.abi))
            return True
        fees, gas_price = self.fees()
        sponsored = self.settings.sponsoring.covers(self.direction, row.message_hash, row.sender, row.recipient)
        status, reason = decide(row.fee, gas, gas_price, margin=self.settings.profit_margin, sponsored=sponsored,
                                max_sponsored_gas=self.settings.sponsoring.max_gas,
                                max_claim_gas=self.settings.max_claim_gas)
        if status is not None:
            log.info("%s message 0x%s: %s (%s)", self.direction, row.message_hash.hex(), status, reason)
            self.store.set_status(self.direction, row.message_hash, status, reason)
            return True
        nonce = self.target.eth.get_transaction_count(self.account.address, "pending")
        tx = self._transaction(call, nonce, int(gas * GAS_MARGIN), fees)
        self.store.mark_pending(self.direction, row.message_hash, nonce, tx["gas"], self._hash_of(tx))
        log.info("%s message 0x%s: claiming (%s) with nonce %d", self.direction, row.message_hash.hex(), reason, nonce)
        return self._await(row, call, tx)

    def _refused(self, row: MessageRow, reason: str) -> None:
        name = reason.split("(")[0]
        if name in RETRY_LATER:
            self.store.set_status(self.direction, row.message_hash, ANCHORED, f"claim refused for now: {reason}")
        elif name in ALREADY_CLAIMED and self.is_claimed(row):
            self._claimed_elsewhere(row)
        else:
            log.info("%s message 0x%s: NON_EXECUTABLE (%s)", self.direction, row.message_hash.hex(), reason)
            self.store.set_status(self.direction, row.message_hash, NON_EXECUTABLE, f"the claim reverts: {reason}")

    def fees(self) -> tuple[dict[str, int], int]:
        """EIP-1559 fees for a claim now, and the price per gas it is expected to pay (base fee + tip)."""
        base_fee = int(self.target.eth.get_block("latest")["baseFeePerGas"])
        tip = int(self.target.eth.max_priority_fee)
        max_fee = 2 * base_fee + tip
        cap = self.settings.replacement.max_fee_per_gas_cap
        if cap is not None:
            max_fee = min(max_fee, cap)
        return {"maxFeePerGas": max_fee, "maxPriorityFeePerGas": min(tip, max_fee)}, min(base_fee + tip, max_fee)

    def _transaction(self, call: ContractFunction, nonce: int, gas: int, fees: dict[str, int]) -> dict:
        return {"to": call.address, "data": call._encode_transaction_data(), "value": 0,
                "chainId": self.target.eth.chain_id, "nonce": nonce, "gas": gas, **fees}

    def _hash_of(self, tx: dict) -> str:
        """The hash the sender's first version will have: signing is deterministic and every field is set here."""
        return "0x" + bytes(self.account.sign_transaction(tx).hash).hex()

    def _await(self, row: MessageRow, call: ContractFunction, tx: dict) -> bool:
        """Send (or re-send at the same nonce) and wait; records the outcome. False if still in flight."""
        try:
            receipt = self.sender.send(tx, gas=tx["gas"])
        except TransactionReverted as exc:
            found = _TX_HASH.search(str(exc))
            self._after_revert(row, call, found.group(0) if found else None)
            return True
        except StuckTransaction as exc:
            self.store.add_claim_txs(self.direction, row.message_hash, exc.hashes)
            log.warning("%s message 0x%s: %s", self.direction, row.message_hash.hex(), exc)
            return False
        except (OperationalError, Web3RPCError, ValueError) as exc:
            log.warning("%s message 0x%s: claim not confirmed (%s); settling from the chain", self.direction,
                        row.message_hash.hex(), exc)
            return self._settle(self.store.get(self.direction, row.message_hash) or row) is not None
        tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
        self.store.set_status(self.direction, row.message_hash, CLAIMED_SUCCESS, "claimed by this postman",
                              claim_tx=tx_hash)
        log.info("%s message 0x%s: CLAIMED_SUCCESS in %s", self.direction, row.message_hash.hex(), tx_hash)
        return True

    def _after_revert(self, row: MessageRow, call: ContractFunction | None, tx_hash: str | None) -> None:
        """A claim was mined but reverted: a "not now" reason sends it back to wait, anything else is final."""
        why = "reverted on chain"
        try:
            if call is not None:
                call.estimate_gas({"from": self.account.address})
                why = "reverted on chain (the same call now passes a simulation)"
        except ContractLogicError as exc:
            why = revert_name(exc, self.contract.abi)
        if why.split("(")[0] in RETRY_LATER:
            self.store.set_status(self.direction, row.message_hash, ANCHORED, f"claim reverted, will retry: {why}",
                                  claim_tx=tx_hash)
        elif self.is_claimed(row):
            self._claimed_elsewhere(row)
        else:
            log.warning("%s message 0x%s: CLAIMED_REVERTED in %s (%s)", self.direction, row.message_hash.hex(),
                        tx_hash, why)
            self.store.set_status(self.direction, row.message_hash, CLAIMED_REVERTED, why, claim_tx=tx_hash)

    # -- after a restart or a stuck claim -----------------------------------------------------------
    def settle_pending(self) -> bool:
        """Resolve PENDING claims from the chain, re-sending at their own nonce if none was mined; True if none left."""
        for row in self.store.with_status(self.direction, PENDING):
            if self._settle(row) is not None:
                continue
            try:
                call = self.claim_call(row)
            except ClaimUnavailable as exc:
                log.warning("%s message 0x%s: cannot rebuild its pending claim: %s", self.direction,
                            row.message_hash.hex(), exc)
                return False
            fees, _ = self.fees()
            tx = self._transaction(call, row.claim_nonce, row.claim_gas, fees)
            self.store.add_claim_txs(self.direction, row.message_hash, [self._hash_of(tx)])
            log.info("%s message 0x%s: re-sending its pending claim at nonce %d", self.direction,
                     row.message_hash.hex(), row.claim_nonce)
            if not self._await(row, call, tx):
                return False
        return True

    def _settle(self, row: MessageRow) -> bool | None:
        """Settle a PENDING row from the chain: True if settled, None if its nonce is not mined yet."""
        if self.is_claimed(row):
            self._claimed_elsewhere(row)
            return True
        mined = self.target.eth.get_transaction_count(self.account.address, "latest")
        if row.claim_nonce is not None and mined <= row.claim_nonce:
            return None
        receipt = self._receipt_of(row.claim_txs)
        if receipt is not None and receipt["status"] == 0:
            try:
                call = self.claim_call(row)
            except ClaimUnavailable:
                call = None
            self._after_revert(row, call, "0x" + bytes(receipt["transactionHash"]).hex())
        else:
            self.store.set_status(self.direction, row.message_hash, ANCHORED,
                                  f"claim nonce {row.claim_nonce} was used by another transaction; will retry")
        return True

    def _receipt_of(self, tx_hashes) -> dict | None:  # type: ignore[no-untyped-def]
        for tx_hash in reversed(tx_hashes):
            try:
                return dict(self.target.eth.get_transaction_receipt(tx_hash))
            except TransactionNotFound:
                continue
        return None

    def _claimed_elsewhere(self, row: MessageRow) -> None:
        """Already claimed on chain: by one of our transactions if a receipt says so, else by someone else."""
        receipt = self._receipt_of(row.claim_txs)
        if receipt is not None and receipt["status"] == 1:
            tx_hash, reason = "0x" + bytes(receipt["transactionHash"]).hex(), "claimed by this postman"
        else:
            tx_hash, reason = self._claim_log_tx(row), "claimed by someone else"
        self.store.set_status(self.direction, row.message_hash, CLAIMED_SUCCESS, reason, claim_tx=tx_hash)

    def _claim_log_tx(self, row: MessageRow) -> str | None:
        found = find_log_backwards(self.target, self.contract.address, [MESSAGE_CLAIMED_TOPIC, row.message_hash],
                                   self.target_from_block, self.target.eth.block_number,
                                   chunk=self.settings.max_blocks_to_fetch_logs)
        return None if found is None else "0x" + bytes(found["transactionHash"]).hex()
