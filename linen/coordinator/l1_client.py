"""The coordinator's view of the L1 rollup: reads, and the two transactions it sends.

Every send is preceded by an `eth_call` against the pending block, so a call the rollup would refuse
(a shnarf already submitted, a wrong parent, a proof it does not accept) is reported with the
contract's error name and never costs gas; and a transaction still waiting in the L1 pool makes the
duplicate's call fail instead of sending it twice. Sends go through one `TransactionSender`, which
re-signs a transaction priced out by a rising base fee (the `l1-replacement-*` / `l1-fee-*` settings).
"""

from __future__ import annotations

import time
from pathlib import Path

from web3 import HTTPProvider, Web3
from web3.exceptions import ContractLogicError

from linen.errors import OperationalError
from linen.l1.artifacts import compile_contracts
from linen.l1.finalization import FinalizationData
from linen.l1.sender import ReplacementPolicy, TransactionSender
from linen.l1.transact import TransactionReverted, decode_revert
from linen.observe.metrics import Metrics


class L1CallRefused(OperationalError):
    """The rollup would revert this call; `reason` is its custom error."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what}: the rollup refuses it ({reason})")
        self.reason = reason


class RollupClient:
    def __init__(self, l1_rpc: str, rollup: str, key: str, artifacts_dir: Path | None = None,
                 confirmations: int = 1, *, replacement_policy: ReplacementPolicy | None = None) -> None:
        self.w3 = Web3(HTTPProvider(l1_rpc, request_kwargs={"timeout": 60}))
        self.key = key
        self.sender = TransactionSender(self.w3, key, replacement_policy or ReplacementPolicy())
        self.confirmations = confirmations
        artifacts = compile_contracts(artifacts_dir or Path(".linen/artifacts"))
        self._abis = [a.abi for a in artifacts.values()]
        self.contract = self.w3.eth.contract(address=Web3.to_checksum_address(rollup), abi=artifacts["LinenRollup"].abi)
        self.metrics: Metrics | None = None  # the coordinator's, counting mined sends and their gas

    def _record(self, kind: str, receipt: dict) -> None:
        if self.metrics is not None:
            self.metrics.l1_submissions.labels(kind).inc()
            self.metrics.l1_gas.labels(kind).inc(int(receipt["gasUsed"]))

    # -- reads ----------------------------------------------------------------------------------------
    def current_l2_block_number(self) -> int:
        return int(self.contract.functions.currentL2BlockNumber().call())

    def current_finalized_shnarf(self) -> bytes:
        return bytes(self.contract.functions.currentFinalizedShnarf().call())

    def shnarf_exists(self, shnarf: bytes) -> bool:
        return int(self.contract.functions.blobShnarfExists(shnarf).call()) != 0

    def state_root(self, block_number: int) -> bytes:
        return bytes(self.contract.functions.stateRootHashes(block_number).call())

    def required_proof_types(self) -> list[int]:
        return [int(t) for t in self.contract.functions.getRequiredProofTypes().call()]

    # -- sends ----------------------------------------------------------------------------------------
    def _check(self, what: str, call, blob_hashes: list[bytes] | None = None) -> None:  # type: ignore[no-untyped-def]
        sender = self.w3.eth.account.from_key(self.key).address
        tx = {"from": sender}
        if blob_hashes:
            tx.update({"type": 3, "blobVersionedHashes": blob_hashes, "maxFeePerBlobGas": 10**12})
        try:
            call.call(tx, block_identifier="pending")
        except ContractLogicError as exc:
            data = exc.data if isinstance(exc.data, str) else ""
            name, args = decode_revert(data, self._abis) if data else (str(exc), ())
            raise L1CallRefused(what, f"{name}{tuple(args) if args else ''}") from None

    def submit_blobs(self, submissions: list[tuple], parent_shnarf: bytes, final_shnarf: bytes, blobs: list[bytes],
                     versioned_hashes: list[bytes]) -> str:
        call = self.contract.functions.submitBlobs(submissions, parent_shnarf, final_shnarf)
        self._check("submitBlobs", call, versioned_hashes)
        receipt = self._send("submitBlobs", call, blobs)
        self._record("blobs", receipt)
        self._wait_confirmations(receipt["blockNumber"])
        return "0x" + bytes(receipt["transactionHash"]).hex()

    def finalize_blocks(self, proof: bytes, proof_type: int, data: FinalizationData) -> str:
        call = self.contract.functions.finalizeBlocks(proof, proof_type, data.as_abi())
        self._check("finalizeBlocks", call)
        receipt = self._send("finalizeBlocks", call)
        self._record("finalization", receipt)
        self._wait_confirmations(receipt["blockNumber"])
        return "0x" + bytes(receipt["transactionHash"]).hex()

    def finalize_blocks_with_proofs(self, proofs: dict[int, bytes], data: FinalizationData) -> str:
        """One finalization carrying a proof of each type in `proofs` (sent in increasing type order)."""
        types = sorted(proofs)
        call = self.contract.functions.finalizeBlocksWithProofs([proofs[t] for t in types], types, data.as_abi())
        self._check("finalizeBlocksWithProofs", call)
        receipt = self._send("finalizeBlocksWithProofs", call)
        self._record("finalization", receipt)
        self._wait_confirmations(receipt["blockNumber"])
        return "0x" + bytes(receipt["transactionHash"]).hex()

    def _send(self, what: str, call, blobs: list[bytes] | None = None) -> dict:  # type: ignore[no-untyped-def]
        try:
            return self.sender.send({"to": self.contract.address, "data": call._encode_transaction_data()}, blobs=blobs)
        except TransactionReverted as exc:
            raise TransactionReverted(f"{what}: {exc}") from None

    def _wait_confirmations(self, block_number: int) -> None:
        """Wait (bounded) until the transaction's block has `confirmations` blocks on top, counting itself."""
        deadline = time.monotonic() + 60
        while self.w3.eth.block_number - block_number + 1 < self.confirmations:
            if time.monotonic() > deadline:
                raise OperationalError(f"L1 block {block_number} did not reach {self.confirmations} confirmations")
            time.sleep(0.2)
