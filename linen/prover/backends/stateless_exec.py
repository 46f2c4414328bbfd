"""Re-executing a batch's blocks on a pre-state made only of what the traces prove.

The node's engine (`PyEvmEngine`) runs over the chain store; a prover has no store, only the
request. `_MemoryEngine` is the smallest adapter that lets the same engine, the same `BlockBuilder`
and therefore the same execution rules run on an in-memory Patricia state: it overrides only where
the state and the BLOCKHASH window come from. The in-memory state holds just the accounts and slots
the traces cover (a partial state), so its Patricia root is not the header's; what is compared with
each header is everything execution determines on its own: gas used, the transactions, receipts
and bloom. The state itself is checked against the zk traces, before and after every block.

Accounts and slots enter the state when a block's traces first mention them, at the value those
traces prove for the block's start; every later mention must agree with what execution left there.
A block whose execution reads or writes anything its traces do not cover is refused: the prover
would otherwise be guessing a value the state manager never proved.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth.constants import BLANK_ROOT_HASH
from eth.db.account import AccountDB
from eth.db.atomic import AtomicDB
from eth.db.backends.memory import MemoryDB
from eth_hash.auto import keccak

from linen.chain.types import BlockHeader
from linen.errors import InvalidTransaction
from linen.execution.engine import SealedExecution
from linen.execution.pyevm_engine import HISTORY_DEPTH, PyEvmEngine
from linen.execution.tracer.conflated import ConflatedBlock
from linen.execution.transactions import PooledTransaction, decode_transaction
from linen.state.encoding import EMPTY_KECCAK_CODE_HASH, AccountValue, code_hash
from linen.state.hashers import Hasher
from linen.state.trace_replay import BlockWitness, InvalidExecutionRequest


class _MemoryEngine(PyEvmEngine):
    """PyEvmEngine over an in-memory node db, with BLOCKHASH answered from known block hashes."""

    def __init__(self, chain_id: int, db: MemoryDB, block_hashes: dict[int, bytes]) -> None:
        super().__init__(store=None, chain_id=chain_id, record_opcodes=False)  # type: ignore[arg-type]
        self.db = db
        self.block_hashes = block_hashes

    def _ancestors(self, number: int) -> list[bytes]:
        hashes = []
        for ancestor in range(number - 1, max(-1, number - 1 - HISTORY_DEPTH), -1):
            found = self.block_hashes.get(ancestor)
            if found is None:
                break
            hashes.append(found)
        return hashes

    def _state_nodes(self) -> MemoryDB:
        return self.db

    def _prev_hashes(self, header: BlockHeader) -> list[bytes]:
        return self._ancestors(header.block_number)


@dataclass(frozen=True)
class ExecutedBlock:
    header: BlockHeader
    transactions: tuple[PooledTransaction, ...]
    sealed: SealedExecution


class StatelessState:
    """The partial pre-state, grown block by block from the witnesses, and the blocks run on it."""

    def __init__(self, hasher: Hasher, chain_id: int, codes: dict[bytes, bytes], block_hashes: dict[int, bytes]):
        self.hasher = hasher
        self.chain_id = chain_id
        self.codes = codes
        self.db = MemoryDB()
        self.root = BLANK_ROOT_HASH
        self.engine = _MemoryEngine(chain_id, self.db, block_hashes)
        self.known_accounts: set[bytes] = set()
        self.known_slots: set[tuple[bytes, int]] = set()
        self._zk_code_hashes: dict[bytes, bytes] = {}

    def _accounts(self) -> AccountDB:
        return AccountDB(AtomicDB(self.db), self.root)

    def _zk_code_hash(self, code: bytes) -> bytes:
        digest = keccak(code)
        if digest not in self._zk_code_hashes:
            self._zk_code_hashes[digest] = code_hash(self.hasher, code)
        return self._zk_code_hashes[digest]

    def _code_for(self, address: bytes, value: AccountValue, number: int) -> bytes:
        if value.keccak_code_hash == EMPTY_KECCAK_CODE_HASH:
            return b""
        code = self.codes.get(value.keccak_code_hash)
        if code is None:
            raise InvalidExecutionRequest(
                f"block {number}: the code of account 0x{address.hex()} (keccak 0x{value.keccak_code_hash.hex()}) "
                "is not in the conflated trace file"
            )
        return code

    # -- entering the witness into the state -----------------------------------------------------

    def seed(self, witness: BlockWitness) -> None:
        """Add what this block's traces mention for the first time, at its proven block-start value."""
        accounts = self._accounts()
        changed = False
        for address, (prior, _) in witness.accounts.items():
            if address in self.known_accounts:
                continue
            self.known_accounts.add(address)
            if prior is None:
                continue
            accounts.set_nonce(address, prior.nonce)
            accounts.set_balance(address, prior.balance)
            code = self._code_for(address, prior, witness.number)
            if code:
                accounts.set_code(address, code)
            changed = True
        for (address, slot), value in witness.slot_priors.items():
            if (address, slot) in self.known_slots:
                continue
            self.known_slots.add((address, slot))
            if value:
                if not accounts.account_exists(address):
                    raise InvalidExecutionRequest(
                        f"block {witness.number}: slot {slot:#x} of account 0x{address.hex()} holds a value "
                        "but the account does not exist"
                    )
                accounts.set_storage(address, slot, value)
                changed = True
        if changed:
            accounts.persist()
            self.root = accounts.state_root

    def check(self, witness: BlockWitness, after: bool) -> None:
        """The state equals the witness's block-start (after=False) or block-end (after=True) values."""
        accounts = self._accounts()
        moment = "end" if after else "start"
        for address, values in witness.accounts.items():
            expected = values[1] if after else values[0]
            what = f"block {witness.number}: account 0x{address.hex()} at the block's {moment}"
            exists = accounts.account_exists(address)
            if expected is None:
                if exists:
                    raise InvalidExecutionRequest(f"{what} exists, the traces say it does not")
                continue
            if not exists:
                raise InvalidExecutionRequest(f"{what} does not exist, the traces say it does")
            code = bytes(accounts.get_code(address))
            found = (accounts.get_nonce(address), accounts.get_balance(address), keccak(code), len(code))
            wanted = (expected.nonce, expected.balance, expected.keccak_code_hash, expected.code_size)
            if found != wanted:
                raise InvalidExecutionRequest(
                    f"{what}: (nonce, balance, codeHash, codeSize) is ({found[0]}, {found[1]}, 0x{found[2].hex()}, "
                    f"{found[3]}), the traces say ({wanted[0]}, {wanted[1]}, 0x{wanted[2].hex()}, {wanted[3]})"
                )
            if self._zk_code_hash(code) != expected.code_hash:
                raise InvalidExecutionRequest(f"{what}: the traces' code hash is not the hash of its code")
        slots = witness.slot_news if after else witness.slot_priors
        for (address, slot), expected_value in slots.items():
            value = accounts.get_storage(address, slot)
            if value != expected_value:
                raise InvalidExecutionRequest(
                    f"block {witness.number}: slot {slot:#x} of account 0x{address.hex()} at the block's {moment} "
                    f"is {value:#x}, the traces say {expected_value:#x}"
                )

    # -- running a block -------------------------------------------------------------------------

    def execute(self, block: ConflatedBlock, witness: BlockWitness) -> ExecutedBlock:
        header = block.header
        number = header.block_number
        builder = self.engine.begin_block(header, self.root)
        transactions = []
        for index, (raw, sender) in enumerate(zip(block.transactions, block.senders, strict=True)):
            try:
                ptx = decode_transaction(bytes(raw), self.chain_id, allow_unprotected=True)
                if ptx.sender != bytes(sender):
                    raise InvalidTransaction(f"its signature recovers 0x{ptx.sender.hex()}, not the listed sender")
                builder.apply(ptx)
            except InvalidTransaction as exc:
                raise InvalidExecutionRequest(f"block {number}, transaction {index}: {exc}") from None
            transactions.append(ptx)
        sealed = builder.finish()
        for address, diff in sealed.state_diff.items():
            if not witness.covers_account(address):
                raise InvalidExecutionRequest(
                    f"block {number}: execution touches account 0x{address.hex()}, which the traces do not cover"
                )
            for slot in diff.storage:
                if not witness.covers_slot(address, slot):
                    raise InvalidExecutionRequest(
                        f"block {number}: execution touches slot {slot:#x} of account 0x{address.hex()}, "
                        "which the traces do not cover"
                    )
        computed = sealed.header
        for name in ("gas_used", "transaction_root", "receipt_root", "bloom"):
            if getattr(computed, name) != getattr(header, name):
                raise InvalidExecutionRequest(f"block {number}: re-execution gives another {name} than the header's")
        self.db.kv_store.update(sealed.state_writes)
        self.root = computed.state_root
        return ExecutedBlock(header, tuple(transactions), sealed)
