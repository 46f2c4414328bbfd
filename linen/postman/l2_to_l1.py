"""L2→L1: messages sent on L2, claimed on L1 with claimMessageWithProof once a finalization covers their block.

The proof is rebuilt from events (linen.bridge.message_proof). Finalized ranges and the messages of
the last few ranges are kept in memory, so a burst of messages from one aggregation costs one read
of its logs, not one per message.
"""

from __future__ import annotations

from web3 import Web3
from web3.contract.contract import ContractFunction

from linen.bridge.abi import L1_MESSAGE_SERVICE_ABI
from linen.bridge.logs import SentMessage, message_sent_logs
from linen.bridge.message_proof import L2ToL1Claim, claim_from_range, find_finalization
from linen.errors import InvalidInput, OperationalError
from linen.postman.claiming import ClaimDirection, ClaimUnavailable
from linen.postman.settings import PostmanSettings
from linen.postman.store import ANCHORED, L2_TO_L1, MessageRow, PostmanStore

RANGES_KEPT = 4


class L2ToL1(ClaimDirection):
    direction = L2_TO_L1
    cursor_name = "l2_message_sent"

    def __init__(self, settings: PostmanSettings, store: PostmanStore, l1: Web3, l2: Web3) -> None:
        rollup = l1.eth.contract(address=settings.rollup, abi=L1_MESSAGE_SERVICE_ABI)
        super().__init__(settings, store, l2, l1, source_service=settings.l2_message_service, target_contract=rollup,
                         target_key=settings.l1_key, confirmations=settings.l2_confirmations,
                         from_block=settings.l2_from_block, target_from_block=settings.l1_from_block,
                         auto_claim=settings.l2_to_l1_auto_claim)
        self._ranges: list[tuple[int, int]] = []
        self._range_messages: dict[tuple[int, int], list[SentMessage]] = {}

    def is_claimed(self, row: MessageRow) -> bool:
        return bool(self.contract.functions.isMessageClaimed(row.nonce).call())

    def advance_sent(self, rows: list[MessageRow]) -> None:
        finalized = int(self.contract.functions.currentL2BlockNumber().call())
        for row in rows:  # oldest first: the first one past the finalized block ends the look
            if row.sent_block > finalized:
                return
            if self.is_claimed(row):
                self._claimed_elsewhere(row)
            else:
                self.store.set_status(self.direction, row.message_hash, ANCHORED,
                                      f"L2 block {row.sent_block} finalized on L1")

    def claim_call(self, row: MessageRow) -> ContractFunction:
        return self.contract.functions.claimMessageWithProof(self.build_claim(row).as_abi(self.fee_recipient))

    def build_claim(self, row: MessageRow) -> L2ToL1Claim:
        try:
            finalized_range = self._range_of(row.sent_block)
            return claim_from_range(self.target, self.settings.rollup, self._messages_of(finalized_range),
                                    row.message_hash, finalized_range)
        except (OperationalError, InvalidInput) as exc:
            raise ClaimUnavailable(str(exc)) from None

    def _range_of(self, block: int) -> tuple[int, int]:
        for start, end in self._ranges:
            if start <= block <= end:
                return start, end
        found = find_finalization(self.target, self.settings.rollup, block, l1_from_block=self.settings.l1_from_block,
                                  chunk=self.settings.max_blocks_to_fetch_logs)
        self._ranges.append(found)
        return found

    def _messages_of(self, finalized_range: tuple[int, int]) -> list[SentMessage]:
        if finalized_range not in self._range_messages:
            if len(self._range_messages) >= RANGES_KEPT:
                self._range_messages.pop(next(iter(self._range_messages)))
            self._range_messages[finalized_range] = message_sent_logs(
                self.source, self.settings.l2_message_service, *finalized_range,
                chunk=self.settings.max_blocks_to_fetch_logs)
        return self._range_messages[finalized_range]
