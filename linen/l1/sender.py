"""Sending L1 transactions that get mined even when fees rise: one nonce, re-signed with higher fees.

A transaction signed for today's base fee can sit unmined (or be dropped from the pool) once the base
fee climbs past its `maxFeePerGas`. Like geth's and ethers' senders and Linea's coordinator, we wait
`timeout_s`, then sign the same nonce again with every fee raised by at least the pool's replacement
rule (10% in geth's pool, 100% for the blob fee in its blob pool) or to a fresh estimate, whichever is
higher. Every version sent stays a candidate: an older one may still be mined after a newer one went
out, so a receipt for any of them ends the wait.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from eth_account import Account
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3RPCError

from linen.errors import OperationalError

log = logging.getLogger(__name__)

GAS_MARGIN = 1.25
BLOB_GAS_HEADROOM = 20_000  # submitBlobs' estimate runs close to its use; a blob transaction never re-estimates
PRIORITY_FEE = 10**9  # 1 gwei

# What nodes answer when a version is refused for its fees (geth, erigon, nethermind, anvil wording).
_UNDERPRICED = ("underpriced", "fee cap", "fee too low", "feetoolow", "less than block base fee")
_KNOWN = ("already known", "already imported", "known transaction", "alreadyknown")
_NONCE_USED = ("nonce too low", "nonce is too low", "oldnonce")
_FEE_FIELDS = ("maxFeePerGas", "maxPriorityFeePerGas", "maxFeePerBlobGas")


class TransactionReverted(RuntimeError):
    """A mined transaction with status 0 (estimation passed but execution failed)."""


@dataclass(frozen=True)
class ReplacementPolicy:
    timeout_s: float = 60.0  # time an unmined transaction waits before it is re-signed with higher fees
    bump_percent: int = 15  # raise on maxFeePerGas and maxPriorityFeePerGas (geth/anvil require >=10%)
    blob_bump_percent: int = 100  # raise on maxFeePerBlobGas (geth's blob pool requires 100%)
    max_bumps: int = 5
    max_fee_per_gas_cap: int | None = None  # never sign above this (wei); None = no cap
    poll_s: float = 0.25

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.poll_s <= 0:
            raise ValueError("ReplacementPolicy: timeout_s and poll_s must be positive")
        if self.bump_percent < 1 or self.blob_bump_percent < 1:
            raise ValueError("ReplacementPolicy: a replacement must raise its fees by at least 1%")
        if self.max_bumps < 0:
            raise ValueError("ReplacementPolicy: max_bumps cannot be negative")
        if self.max_fee_per_gas_cap is not None and self.max_fee_per_gas_cap <= 0:
            raise ValueError("ReplacementPolicy: max_fee_per_gas_cap must be positive (None for no cap)")


class StuckTransaction(OperationalError):
    """No version of a transaction was mined and the policy allows no further replacement."""

    def __init__(self, address: str, nonce: int, hashes: list[str], fees: dict[str, int], why: str) -> None:
        shown = ", ".join(f"{k}={v}" for k, v in fees.items())
        super().__init__(
            f"L1 transaction from {address} with nonce {nonce} is stuck ({why}); "
            f"sent as {', '.join(hashes) or 'nothing the node accepted'}; last fees {shown}"
        )
        self.nonce = nonce
        self.hashes = list(hashes)
        self.fees = dict(fees)


def _raised(value: int, percent: int) -> int:
    """`value` raised by `percent`, rounded up, and always at least one wei more."""
    return max(value + 1, -(-value * (100 + percent) // 100))


def _message(exc: Web3RPCError) -> str:
    error = (exc.rpc_response or {}).get("error")
    return str(error.get("message", error) if isinstance(error, dict) else error or exc).lower()


@dataclass
class _Flight:
    """One send: the fields signed last, and the hash of every version the node took."""

    fields: dict
    blobs: list[bytes] | None
    sidecar: tuple[list[bytes], list[bytes]] | None
    hashes: list[str] = field(default_factory=list)
    bumps: int = 0

    @property
    def nonce(self) -> int:
        return self.fields["nonce"]

    def fees(self) -> dict[str, int]:
        return {k: self.fields[k] for k in _FEE_FIELDS if k in self.fields}


class TransactionSender:
    """Signs locally with `private_key` and keeps each transaction's nonce until one version is mined."""

    def __init__(self, w3: Web3, private_key: str, policy: ReplacementPolicy = ReplacementPolicy()) -> None:
        self.w3 = w3
        self.account = Account.from_key(private_key)
        self.policy = policy
        self._assigning = threading.Lock()  # two threads must not read the same pending nonce

    def send(self, tx: dict, *, blobs: list[bytes] | None = None, gas: int | None = None) -> dict:
        """Fill chainId, nonce, fees and gas, sign, send, and wait, re-signing on timeout; the receipt of whichever
        version was mined. Raises TransactionReverted (also importable from linen.l1.transact) for status 0."""
        flight = self._start(tx, blobs, gas)
        receipt = self._wait(flight)
        if receipt["status"] != 1:
            raise TransactionReverted(f"transaction {'0x' + bytes(receipt['transactionHash']).hex()} reverted")
        return receipt

    def broadcast(self, tx: dict, *, blobs: list[bytes] | None = None, gas: int | None = None) -> str:
        """Fill, sign and send one version without waiting; its hash. Nothing replaces it later."""
        return self._start(tx, blobs, gas).hashes[-1]

    # -- first version -------------------------------------------------------------------------------
    def _start(self, tx: dict, blobs: list[bytes] | None, gas: int | None) -> _Flight:
        sidecar = None
        fields = {k: v for k, v in tx.items() if k != "from"}
        fields.setdefault("value", 0)
        fields["chainId"] = self.w3.eth.chain_id
        if blobs is not None:
            from linen.protocol.blob.kzg import blob_sidecar, versioned_hashes  # blob code loads ckzg; only when needed

            sidecar = blob_sidecar(blobs)
            fields.update(type=3, blobVersionedHashes=["0x" + h.hex() for h in versioned_hashes(sidecar[0])])
            fields["to"] = fields.get("to") or self.account.address  # a blob transaction cannot create a contract
        for key, value in self._estimate(blobs is not None).items():
            fields.setdefault(key, value)
        if gas is None:
            estimate = self.w3.eth.estimate_gas({**fields, "from": self.account.address})
            gas = int(estimate * GAS_MARGIN) + (BLOB_GAS_HEADROOM if blobs is not None else 0)
        fields["gas"] = gas
        flight = _Flight(self._capped(fields), blobs, sidecar)
        with self._assigning:
            flight.fields.setdefault("nonce", self.w3.eth.get_transaction_count(self.account.address, "pending"))
            self._broadcast(flight)
        return flight

    def _estimate(self, blob: bool) -> dict[str, int]:
        """Fees for the next block: twice its base fee (six full blocks of +12.5%) plus the tip."""
        try:
            base_fee = self.w3.eth.get_block("pending")["baseFeePerGas"]
        except (KeyError, ValueError, Web3RPCError):
            base_fee = self.w3.eth.get_block("latest")["baseFeePerGas"]
        fees = {"maxPriorityFeePerGas": PRIORITY_FEE, "maxFeePerGas": 2 * base_fee + PRIORITY_FEE}
        if blob:
            fees["maxFeePerBlobGas"] = 2 * int(self.w3.eth.blob_base_fee) + 1
        return fees

    def _capped(self, fields: dict) -> dict:
        cap = self.policy.max_fee_per_gas_cap
        if cap is not None and fields["maxFeePerGas"] > cap:
            fields = {**fields, "maxFeePerGas": cap}
        fields["maxPriorityFeePerGas"] = min(fields["maxPriorityFeePerGas"], fields["maxFeePerGas"])
        return fields

    # -- sending and replacing -----------------------------------------------------------------------
    def _broadcast(self, flight: _Flight) -> None:
        """Send the flight's current version; a fee refusal re-signs at once, as far as the policy allows."""
        while True:
            raw, tx_hash = self._sign(flight)
            try:
                self.w3.eth.send_raw_transaction(raw)
            except Web3RPCError as exc:
                message = _message(exc)
                if any(text in message for text in _KNOWN):
                    pass  # this very version is already in the node's pool
                elif any(text in message for text in _UNDERPRICED):
                    self._bump(flight, f"the node refused {tx_hash}: {message}")
                    continue
                elif any(text in message for text in _NONCE_USED):
                    self._nonce_used(flight)
                    return
                elif flight.hashes:  # a replacement failed for another reason: the versions sent still count
                    log.warning("L1 nonce %d: replacement %s refused (%s); waiting on %s",
                                flight.nonce, tx_hash, message, flight.hashes)
                    return
                else:
                    raise
            if tx_hash not in flight.hashes:
                flight.hashes.append(tx_hash)
            return

    def _sign(self, flight: _Flight) -> tuple[bytes, str]:
        signed = self.account.sign_transaction(flight.fields)
        tx_hash = "0x" + bytes(signed.hash).hex()
        if flight.blobs is None:
            return bytes(signed.raw_transaction), tx_hash
        from linen.protocol.blob.kzg import blob_network_transaction

        return blob_network_transaction(signed.raw_transaction, flight.blobs, flight.sidecar), tx_hash

    def _bump(self, flight: _Flight, why: str) -> None:
        """Re-sign the same nonce, each fee raised by the policy's percent or to a fresh estimate, whichever is more."""
        old = flight.fees()
        if flight.bumps >= self.policy.max_bumps:
            raise StuckTransaction(self.account.address, flight.nonce, flight.hashes, old,
                                   f"{why}; {self.policy.max_bumps} replacements already sent")
        fresh = self._estimate("maxFeePerBlobGas" in old)
        new = {
            "maxFeePerGas": max(_raised(old["maxFeePerGas"], self.policy.bump_percent), fresh["maxFeePerGas"]),
            "maxPriorityFeePerGas": max(_raised(old["maxPriorityFeePerGas"], self.policy.bump_percent),
                                        fresh["maxPriorityFeePerGas"]),
        }
        if "maxFeePerBlobGas" in old:
            new["maxFeePerBlobGas"] = max(_raised(old["maxFeePerBlobGas"], self.policy.blob_bump_percent),
                                          fresh["maxFeePerBlobGas"])
        cap = self.policy.max_fee_per_gas_cap
        if cap is not None and new["maxFeePerGas"] > cap:
            # the pool refuses a replacement that does not raise the fee by its rule, so a smaller raise is useless
            if cap < _raised(old["maxFeePerGas"], self.policy.bump_percent):
                raise StuckTransaction(self.account.address, flight.nonce, flight.hashes, old,
                                       f"{why}; the cap of {cap} wei on maxFeePerGas allows no further replacement")
            new["maxFeePerGas"] = cap
        new["maxPriorityFeePerGas"] = min(new["maxPriorityFeePerGas"], new["maxFeePerGas"])
        flight.fields = {**flight.fields, **new}
        flight.bumps += 1
        log.info("L1 nonce %d: replacing (%s) with %s", flight.nonce, why,
                 ", ".join(f"{k} {old[k]}→{new[k]}" for k in old))

    def _wait(self, flight: _Flight) -> dict:
        deadline = time.monotonic() + self.policy.timeout_s
        passed_us = 0
        while True:
            mined_nonce = self.w3.eth.get_transaction_count(self.account.address, "latest")
            receipt = self._receipt(flight)
            if receipt is not None:
                return receipt
            # the count is read first, so a version of ours mined by then already has its receipt; a second
            # look guards against a node behind a load balancer answering from two heights
            passed_us = passed_us + 1 if mined_nonce > flight.nonce else 0
            if passed_us >= 2:
                self._nonce_used(flight)
            if time.monotonic() >= deadline:
                self._bump(flight, f"not mined after {self.policy.timeout_s:g} s")
                self._broadcast(flight)
                deadline = time.monotonic() + self.policy.timeout_s
            time.sleep(self.policy.poll_s)

    def _receipt(self, flight: _Flight) -> dict | None:
        for tx_hash in reversed(flight.hashes):
            try:
                return dict(self.w3.eth.get_transaction_receipt(tx_hash))
            except TransactionNotFound:
                continue
        return None

    def _nonce_used(self, flight: _Flight) -> None:
        """The account's nonce moved past ours: fine if one of our versions did it, an error otherwise."""
        if self._receipt(flight) is None:
            raise OperationalError(
                f"nonce {flight.nonce} of {self.account.address} was used by another transaction; "
                f"none of ours ({', '.join(flight.hashes) or 'none accepted'}) was mined"
            )
