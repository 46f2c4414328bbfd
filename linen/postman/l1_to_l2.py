"""L1→L2: messages sent on the L1 rollup, claimed on L2 with claimMessage once the coordinator anchored them."""

from __future__ import annotations

from web3 import Web3
from web3.contract.contract import ContractFunction

from linen.bridge.abi import INBOX_CLAIMED, INBOX_RECEIVED, L2_MESSAGE_SERVICE_ABI
from linen.postman.claiming import ClaimDirection
from linen.postman.settings import PostmanSettings
from linen.postman.store import ANCHORED, L1_TO_L2, MessageRow, PostmanStore


class L1ToL2(ClaimDirection):
    direction = L1_TO_L2
    cursor_name = "l1_message_sent"

    def __init__(self, settings: PostmanSettings, store: PostmanStore, l1: Web3, l2: Web3) -> None:
        service = l2.eth.contract(address=settings.l2_message_service, abi=L2_MESSAGE_SERVICE_ABI)
        super().__init__(settings, store, l1, l2, source_service=settings.rollup, target_contract=service,
                         target_key=settings.l2_key, confirmations=settings.l1_confirmations,
                         from_block=settings.l1_from_block, target_from_block=settings.l2_from_block,
                         auto_claim=settings.l1_to_l2_auto_claim)

    def inbox_status(self, row: MessageRow) -> int:
        return int(self.contract.functions.inboxL1L2MessageStatus(row.message_hash).call())

    def is_claimed(self, row: MessageRow) -> bool:
        return self.inbox_status(row) == INBOX_CLAIMED

    def advance_sent(self, rows: list[MessageRow]) -> None:
        """L2 anchors L1 messages in nonce order, so the first one not anchored ends the look."""
        for row in sorted(rows, key=lambda r: r.nonce):
            status = self.inbox_status(row)
            if status < INBOX_RECEIVED:
                return
            if status == INBOX_CLAIMED:
                self._claimed_elsewhere(row)
            else:
                self.store.set_status(self.direction, row.message_hash, ANCHORED, "anchored on L2")

    def claim_call(self, row: MessageRow) -> ContractFunction:
        return self.contract.functions.claimMessage(row.sender, row.recipient, row.fee, row.value, self.fee_recipient,
                                                    row.calldata, row.nonce)
