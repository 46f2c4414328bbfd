"""The line-count rules: how many lines each Linea arithmetization module takes for a transaction and a block.

`RULES` below is the one place that writes down, per module, what we count and how it approximates
Linea's tracer (Consensys/linea-monorepo, `tracer/arithmetization`). The numbers live next to the
code that applies them: `opcode_rules.py` (per instruction), `precompile_rules.py` (per precompile
call), `tx_rules.py` (per transaction and per block). Where Linea's exact row count needs state
we do not have (deduplication across a conflation, results of comparisons inside other modules,
which scenario an exception takes) the rule takes a simple, stated value instead.

`count_transaction` returns the lines a transaction adds to every module it can touch;
`count_block` = the sum over its transactions + the block's own terms + the fixed tables, so a
running block total is just the sum of per-transaction contributions.
"""

from __future__ import annotations

from linen.execution.tracer import modules as m
from linen.execution.tracer.inputs import TracedBlock, TracedTransaction
from linen.execution.tracer.opcode_rules import count_opcodes
from linen.execution.tracer.tx_rules import block_terms, count_envelope, count_frames, count_logs

RULES: dict[str, str] = {
    m.HUB: "Rows of the instruction family's section: 1 for stack-only ops, 2 for context/SHA3/EXP/MSIZE, 3 for "
    "memory, account and copy ops, 4 LOG/REVERT, 5 storage and jumps, 7 RETURN, 8 SELFDESTRUCT, 11 CALL/CREATE "
    "(Linea's NB_ROWS_HUB_* upper bounds); +1 per frame exit; +4 or +8 (MODEXP) per precompile; per tx 10 init "
    "+ 4 final + 1 per warmed address/key, or 4 when no code runs; +2 per EIP-7702 authorization.",
    m.ADD: "ADD/SUB: one row per byte of the result's longer 16-byte limb, at least 2 (Linea's ctMax + 1); a "
    "result past 2**128 is charged the full 16 (Linea: fewer if both limbs are short). 2 rows for RETURNDATACOPY's "
    "bound check.",
    m.MUL: "MUL: 1 row if an operand is 0 or 1, else one 8-row cycle. EXP: 1 row if trivial, 8 if the result "
    "is 0 by 2-adicity, else 8 per exponent bit and per set bit (square-and-multiply).",
    m.MOD: "DIV/SDIV/MOD/SMOD: one 8-row cycle each (Linea's one-line case for a zero divisor is ignored).",
    m.EXT: "ADDMOD/MULMOD: one 8-row cycle each.",
    m.WCP: "LT/GT/SLT/SGT: rows = byte length of the larger operand (>= 1; 16 past 2**128, the longest limb); "
    "EQ/ISZERO 1. Calls from "
    "other modules at 2 rows each: one per OOB row, 3-4 per MXP computation, 5 per BLOCKHASH; 1 per MMU "
    "preprocessing row.",
    m.BIN: "AND/OR/XOR/NOT/BYTE/SIGNEXTEND: rows = byte length of the larger operand (>= 1; 16 past 2**128).",
    m.SHF: "SHL/SHR/SAR: 16 rows (one per byte of a limb); the one-line case of huge shifts is ignored.",
    m.EUC: "4 rows per division made by another module: one per MMU instruction, 1-2 per MXP memory update, "
    "one per CALL/CREATE (63/64 gas rule) and per MODEXP exponent.",
    m.EXP: "1 row per EXP instruction (the gas log of its exponent) and per MODEXP call with an exponent; the "
    "exponent-dependent work is in MUL.",
    m.GAS: "1 row per CALL/CREATE and 1 per frame exit.",
    m.MMU: "Per memory instruction: 1 macro row + Linea's preprocessing rows for its MMU instruction (MLOAD/MSTORE/"
    "MSTORE8 1, CALLDATALOAD 5, RAM->EXO 4, RAM->RAM 5, ANY->RAM 1, EXO->RAM 1) + one row per 16-byte limb "
    "moved; also the tx call data into memory and each precompile's input and output.",
    m.MMIO: "Per limb an MMU instruction moves: 1 row if the transfer is 16-byte aligned, else 16 (one per byte).",
    m.MXP: "Per memory-sized instruction: 4 for MSIZE, 5 for an empty range, 14 (13 for MSTORE8) when memory grows "
    "(Linea's update scenarios), 9 when it does not or raises MXPX. Linea runs the update rows even when memory "
    "does not grow; we charge the rows up to the MXPX check there.",
    m.OOB: "Per check (Linea's CT_MAX_* + 1): JUMP 1, JUMPI 2, CALLDATALOAD 1, RETURNDATACOPY 3, SSTORE 1, CALL 3, "
    "CREATE 4, RETURN 1; per precompile 3-5 (BLAKE2f 4, MODEXP 26).",
    m.ROM: "Per distinct code run in the tx (and per deployed code): its size padded to 32-byte words + one word "
    "of PUSH padding. Linea deduplicates across the conflation; we only within a transaction.",
    m.ROM_LEX: "1 per distinct code run in the transaction and per deployed code.",
    m.STP: "1 row per CALL/CREATE (gas stipend computation).",
    m.TRM: "16 rows per address trimmed: BALANCE, EXTCODESIZE/COPY/HASH, CALL family, SELFDESTRUCT (no "
    "deduplication of repeated addresses).",
    m.TXN_DATA: "17 rows per transaction with EIP-1559 fee fields (types 2-4), 15 otherwise.",
    m.RLP_TXN: "2 prefix rows + 16 per fixed-size field of the type + 1 (+8 prefix + 1 per limb) for call data + "
    "access list (8 + 24 per address + 16 per key) + authorizations (8 + 104 each).",
    m.RLP_TXN_RCPT: "Linea's formula: 83 + 1 without logs, else 8 + per log 12 + 3 per topic + (1 if no data else "
    "8 + 1 per data limb).",
    m.RLP_ADDR: "8 rows per CREATE and per deployment transaction, 6 per CREATE2.",
    m.LOG_INFO: "1 row for a transaction without logs, else topics + 2 per log.",
    m.LOG_DATA: "Per log: one row per 16-byte limb of its data (1 for empty data).",
    m.EC_DATA: "Input + result limbs per call with input: ECRECOVER 10, ECADD 12, ECMUL 10, ECPAIRING 12 per pair + 2.",
    m.BLAKE_MODEXP_DATA: "BLAKE2f with a well-formed 213-byte input: 19 (13 data + 2 parameter + 4 result limbs). "
    "MODEXP: 4 components x max(32, limbs of the widest of base/exponent/modulus, capped at 1024 bytes); 0 if "
    "base and modulus are empty.",
    m.SHAKIRA_DATA: "Data limbs + 2 result rows per hash: SHA3, CREATE2 init code, deployed code, SHA256 and "
    "RIPEMD160 inputs (non-empty, successful).",
    m.BLOCK_DATA: "14 rows per block (one per header field the EVM can read, gas limit 5, timestamp and number 2).",
    m.BLOCK_HASH: "6 rows per BLOCKHASH instruction (1 macro + 5 range checks); Linea's per-conflation "
    "deduplication and history prefill are not modelled.",
    m.PRECOMPILE_ECRECOVER_EFFECTIVE_CALLS: "1 per ECRECOVER call that returned an address.",
    m.PRECOMPILE_SHA2_BLOCKS: "ceil((n + 9) / 64) per successful SHA256 call on n > 0 bytes.",
    m.PRECOMPILE_RIPEMD_BLOCKS: "ceil((n + 9) / 64) per successful RIPEMD160 call on n > 0 bytes.",
    m.PRECOMPILE_MODEXP_EFFECTIVE_CALLS: "1 per successful MODEXP call.",
    m.PRECOMPILE_ECADD_EFFECTIVE_CALLS: "1 per successful ECADD call with input.",
    m.PRECOMPILE_ECMUL_EFFECTIVE_CALLS: "1 per successful ECMUL call with input.",
    m.PRECOMPILE_ECPAIRING_FINAL_EXPONENTIATIONS: "1 per ECPAIRING call with at least one non-trivial pair.",
    m.PRECOMPILE_ECPAIRING_MILLER_LOOPS: "1 per ECPAIRING pair whose G1 and G2 points are both non-zero.",
    m.PRECOMPILE_ECPAIRING_G2_MEMBERSHIP_CALLS: "1 per pair with a zero G1 point and a non-zero G2 point.",
    m.PRECOMPILE_BLAKE_EFFECTIVE_CALLS: "1 per successful BLAKE2f call with a well-formed input.",
    m.PRECOMPILE_BLAKE_ROUNDS: "The rounds word (first 4 input bytes) of each such call.",
    m.BLOCK_KECCAK: "Keccak-f permutations ((n + 136) // 136 per hash of n bytes): from the transaction, SHA3, "
    "CREATE/CREATE2 addresses, CREATE2 init code, deployed code, recovered ECRECOVER keys; from the block, each "
    "envelope twice (hash and signed preimage) + the sender's key + 3 public-input hashes per transaction, 1 per "
    "L2->L1 message and 7 fixed public-input hashes.",
    m.BLOCK_L1_SIZE: "Bytes posted to L1: the signed envelopes + 20 per transaction (sender) + 38 per block.",
    m.BLOCK_L2_L1_LOGS: "Logs of the L2 message service whose first topic is MessageSent's.",
    m.BLOCK_TRANSACTIONS: "Transactions in the block.",
    m.BIN_REFERENCE_TABLE: "Fixed: 3 x 256 x 256 + 256 rows + 1 padding row.",
    m.SHF_REFERENCE_TABLE: "Fixed: 9 x 256 rows + 1 padding row.",
    m.INSTRUCTION_DECODER: "Fixed: 256 rows + 1 padding row.",
}

assert tuple(RULES) == m.ALL_MODULES, "RULES must list every module once, in ALL_MODULES order"

_N = len(m.ALL_MODULES)
_TX_SLOTS = tuple((name, m.INDEX[name]) for name in m.TRANSACTION_MODULES)


def count_transaction(tx: TracedTransaction) -> dict[str, int]:
    """Lines per module one transaction adds: every traced module and precompile counter (zeros
    included), plus the BLOCK_KECCAK permutations its execution triggers."""
    acc = [0] * _N
    count_opcodes(tx.opcodes, acc)
    count_frames(tx, acc)
    count_envelope(tx, acc)
    count_logs(tx.logs, acc)
    return {name: acc[i] for name, i in _TX_SLOTS}


def count_block(txs: list[dict[str, int]], block: TracedBlock) -> dict[str, int]:
    """The block's full counter map (keys exactly ALL_MODULES): its transactions' counts summed, its
    own terms added (block data, block counters), the fixed tables at their size."""
    totals = dict.fromkeys(m.ALL_MODULES, 0)
    for counts in txs:
        for name, value in counts.items():
            if name in totals:
                totals[name] += value
    for name, value in block_terms(block).items():
        totals[name] += value
    totals.update(m.FIXED_TABLE_SIZES)
    return totals
