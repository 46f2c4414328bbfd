"""Line counts of a transaction as a whole (its envelope, frames, logs) and of the block around it.

The instruction-level lines are in `opcode_rules.py` and the precompile ones in
`precompile_rules.py`; this module adds what Linea traces once per transaction (TXN_DATA, RLP_TXN,
RLP_TXN_RCPT, LOG_*, the HUB's initialization and finalization sections, ROM per executed code)
and once per block (BLOCK_DATA and the four block counters).
"""

from __future__ import annotations

from linen.execution.tracer import modules as m
from linen.execution.tracer.inputs import TracedBlock, TracedTransaction
from linen.execution.tracer.opcode_rules import GAS, HUB, KECCAK, LLARGE, RLP_ADDR, SHAKIRA, limbs, mmu, num_keccak
from linen.execution.tracer.opcode_rules import PP_EXO_TO_RAM as _PP_EXO_TO_RAM
from linen.execution.tracer.precompile_rules import count_precompile
from linen.primitives.diffs import Log
from linen.protocol.messaging import MESSAGE_SENT_TOPIC

_I = m.INDEX
TXN_DATA, RLP_TXN, RLP_TXN_RCPT = _I[m.TXN_DATA], _I[m.RLP_TXN], _I[m.RLP_TXN_RCPT]
LOG_INFO, LOG_DATA, ROM, ROM_LEX = _I[m.LOG_INFO], _I[m.LOG_DATA], _I[m.ROM], _I[m.ROM_LEX]

# HUB sections around execution (Linea's TxInitializationSection, TxFinalizationSection, TxSkipSection).
HUB_TX_INIT = 10
HUB_TX_FINAL = 4
HUB_TX_SKIP = 4  # a transaction that runs no code: sender, recipient, coinbase, context rows
HUB_PER_AUTHORIZATION = 2  # reading and updating the authority's account

TXN_DATA_1559 = 17  # rows per transaction with EIP-1559 fee fields (types 2, 3, 4)
TXN_DATA_LEGACY = 15  # rows per transaction with a single gas price (types 0, 1)

# RLP_TXN: a 16-row counter cycle per fixed-size field, one row per limb of the variable parts.
RLP_TXN_PREFIX = 2
SCALAR_FIELDS = {0: 8, 1: 10, 2: 11, 3: 12, 4: 11}  # nonce, fees, gas, to, value, chain id, y/v, r, s...
RLP_LIST_PREFIX = 8
AL_ROWS_PER_ADDRESS = LLARGE + RLP_LIST_PREFIX
AL_ROWS_PER_KEY = LLARGE
AUTH_FIELDS = 6  # chain id, address, nonce, y, r, s

# RLP_TXN_RCPT (Linea's RlpTxrcptOperation): fixed phases, then per log entry.
RCPT_FIXED = 83
RCPT_PER_LOG = 12
RCPT_PER_TOPIC = 3

BLOCK_DATA_ROWS = 14  # coinbase 1, timestamp 2, number 2, prevrandao 1, gas limit 5, chain id 1, base fee 1, blob fee 1
L1_BYTES_PER_TX = 20  # the sender address posted with each transaction
L1_BYTES_PER_BLOCK = 4 + 32 + 2  # timestamp, block hash, transaction count



def rom_rows(code_size: int) -> int:
    """ROM rows of one code: its bytes padded to 32-byte words plus one word for a trailing PUSH."""
    return ((code_size + 31) // 32 + 1) * 32


def count_envelope(tx: TracedTransaction, acc: list[int]) -> None:
    """TXN_DATA, RLP_TXN, the HUB's per-transaction sections and the call data copied into memory."""
    acc[TXN_DATA] += TXN_DATA_1559 if tx.tx_type >= 2 else TXN_DATA_LEGACY

    rows = RLP_TXN_PREFIX + LLARGE * SCALAR_FIELDS.get(tx.tx_type, SCALAR_FIELDS[2])
    data = tx.calldata
    rows += 1 + (RLP_LIST_PREFIX + limbs(len(data)) if data else 0)
    warm_rows = 0
    if tx.tx_type >= 1:
        rows += RLP_LIST_PREFIX
        for _address, keys in tx.access_list:
            rows += AL_ROWS_PER_ADDRESS + AL_ROWS_PER_KEY * len(keys)
            warm_rows += 1 + len(keys)
    if tx.authorizations:
        rows += RLP_LIST_PREFIX + tx.authorizations * (RLP_LIST_PREFIX + LLARGE * AUTH_FIELDS)
        acc[HUB] += HUB_PER_AUTHORIZATION * tx.authorizations
    acc[RLP_TXN] += rows

    if tx.to is None:
        acc[RLP_ADDR] += 8  # the new contract's address from RLP(sender, nonce)
        acc[KECCAK] += num_keccak(31)
    runs_code = bool(tx.opcodes) or tx.to is None or any(f.is_precompile for f in tx.frames)
    if runs_code:
        acc[HUB] += HUB_TX_INIT + HUB_TX_FINAL + warm_rows
        if data and tx.to is not None:
            mmu(acc, _PP_EXO_TO_RAM, limbs(len(data)), True)  # call data into the first frame's memory
    else:
        acc[HUB] += HUB_TX_SKIP


def count_frames(tx: TracedTransaction, acc: list[int]) -> None:
    """Per frame: the context row on exit, the executed code in ROM (once per code), precompiles,
    and the code a successful deployment stores (hashed, and added to ROM)."""
    seen: set[tuple[bytes, bool, int]] = set()
    for frame in tx.frames:
        acc[HUB] += 1
        acc[GAS] += 1
        if frame.is_precompile:
            count_precompile(frame, acc)
            continue
        code_size = len(frame.code)
        if code_size:
            key = (frame.code_address, frame.is_create, code_size)
            if key not in seen:
                seen.add(key)
                acc[ROM] += rom_rows(code_size)
                acc[ROM_LEX] += 1
        if frame.is_create and frame.success and frame.output_size:
            deployed = frame.output_size
            acc[SHAKIRA] += limbs(deployed) + 2
            acc[KECCAK] += num_keccak(deployed)
            acc[ROM] += rom_rows(deployed)
            acc[ROM_LEX] += 1


def count_logs(logs: tuple[Log, ...], acc: list[int]) -> None:
    """LOG_INFO, LOG_DATA and the receipt's RLP_TXN_RCPT rows."""
    if not logs:
        acc[LOG_INFO] += 1
        acc[RLP_TXN_RCPT] += RCPT_FIXED + 1
        return
    info = data_rows = 0
    rcpt = RCPT_FIXED + RLP_LIST_PREFIX
    for log in logs:
        topics = len(log.topics)
        size = len(log.data)
        info += topics + 2
        data_rows += limbs(size) or 1
        rcpt += RCPT_PER_LOG + RCPT_PER_TOPIC * topics + (RLP_LIST_PREFIX + limbs(size) if size else 1)
    acc[LOG_INFO] += info
    acc[LOG_DATA] += data_rows
    acc[RLP_TXN_RCPT] += rcpt


def is_l2_l1_message(log: Log, service: bytes | None) -> bool:
    return service is not None and log.address == service and bool(log.topics) and log.topics[0] == MESSAGE_SENT_TOPIC


def block_terms(block: TracedBlock) -> dict[str, int]:
    """What a block adds beyond its transactions' own counts."""
    raws = block.transactions_raw
    messages = sum(1 for log in block.logs if is_l2_l1_message(log, block.l2_message_service))
    keccaks = 0
    for raw in raws:
        # the signed envelope (hash) and its unsigned preimage (signature check, bounded by the
        # envelope's size), the sender's recovered key, and the public input's per-transaction
        # hashes (transaction hash, sender, L1 message index)
        keccaks += 2 * num_keccak(len(raw)) + num_keccak(64) + num_keccak(32) + num_keccak(20) + num_keccak(8)
    keccaks += messages * num_keccak(32)
    # block data hash over four lists, then the conflation's top-level hash (state roots,
    # timestamps, block data hash), assuming the block is alone in its conflation
    keccaks += 2 * num_keccak(4 * 32) + 3 * num_keccak(32) + 2 * num_keccak(8)
    return {
        m.BLOCK_DATA: BLOCK_DATA_ROWS,
        m.BLOCK_KECCAK: keccaks,
        m.BLOCK_L1_SIZE: sum(len(raw) for raw in raws) + L1_BYTES_PER_TX * len(raws) + L1_BYTES_PER_BLOCK,
        m.BLOCK_L2_L1_LOGS: messages,
        m.BLOCK_TRANSACTIONS: len(raws),
    }
