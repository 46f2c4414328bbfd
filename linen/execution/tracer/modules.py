"""The arithmetization modules the tracer counts lines for, and the sizes of the fixed tables.

The names and their order are Linea's: the sequencer's limits file, the stored per-block counts
(`counts.py`) and the prover all key on them, so the order of `ALL_MODULES` is part of the storage
format and must not change without bumping `COUNTS_FORMAT`.
"""

from __future__ import annotations

# Traced modules: one line per row of the module's trace.
HUB = "HUB"
ADD = "ADD"
MUL = "MUL"
MOD = "MOD"
EXT = "EXT"
WCP = "WCP"
BIN = "BIN"
SHF = "SHF"
EUC = "EUC"
EXP = "EXP"
GAS = "GAS"
MMU = "MMU"
MMIO = "MMIO"
MXP = "MXP"
OOB = "OOB"
ROM = "ROM"
ROM_LEX = "ROM_LEX"
STP = "STP"
TRM = "TRM"
TXN_DATA = "TXN_DATA"
RLP_TXN = "RLP_TXN"
RLP_TXN_RCPT = "RLP_TXN_RCPT"
RLP_ADDR = "RLP_ADDR"
LOG_INFO = "LOG_INFO"
LOG_DATA = "LOG_DATA"
EC_DATA = "EC_DATA"
BLAKE_MODEXP_DATA = "BLAKE_MODEXP_DATA"
SHAKIRA_DATA = "SHAKIRA_DATA"
BLOCK_DATA = "BLOCK_DATA"
BLOCK_HASH = "BLOCK_HASH"

TRACED_MODULES = (
    HUB, ADD, MUL, MOD, EXT, WCP, BIN, SHF, EUC, EXP, GAS, MMU, MMIO, MXP, OOB, ROM, ROM_LEX, STP, TRM,
    TXN_DATA, RLP_TXN, RLP_TXN_RCPT, RLP_ADDR, LOG_INFO, LOG_DATA, EC_DATA, BLAKE_MODEXP_DATA, SHAKIRA_DATA,
    BLOCK_DATA, BLOCK_HASH,
)  # fmt: skip

# Precompile counters: not trace rows but the number of expensive operations each precompile
# circuit may prove per block (calls, hash blocks, pairing loops, rounds).
PRECOMPILE_ECRECOVER_EFFECTIVE_CALLS = "PRECOMPILE_ECRECOVER_EFFECTIVE_CALLS"
PRECOMPILE_SHA2_BLOCKS = "PRECOMPILE_SHA2_BLOCKS"
PRECOMPILE_RIPEMD_BLOCKS = "PRECOMPILE_RIPEMD_BLOCKS"
PRECOMPILE_MODEXP_EFFECTIVE_CALLS = "PRECOMPILE_MODEXP_EFFECTIVE_CALLS"
PRECOMPILE_ECADD_EFFECTIVE_CALLS = "PRECOMPILE_ECADD_EFFECTIVE_CALLS"
PRECOMPILE_ECMUL_EFFECTIVE_CALLS = "PRECOMPILE_ECMUL_EFFECTIVE_CALLS"
PRECOMPILE_ECPAIRING_FINAL_EXPONENTIATIONS = "PRECOMPILE_ECPAIRING_FINAL_EXPONENTIATIONS"
PRECOMPILE_ECPAIRING_MILLER_LOOPS = "PRECOMPILE_ECPAIRING_MILLER_LOOPS"
PRECOMPILE_ECPAIRING_G2_MEMBERSHIP_CALLS = "PRECOMPILE_ECPAIRING_G2_MEMBERSHIP_CALLS"
PRECOMPILE_BLAKE_EFFECTIVE_CALLS = "PRECOMPILE_BLAKE_EFFECTIVE_CALLS"
PRECOMPILE_BLAKE_ROUNDS = "PRECOMPILE_BLAKE_ROUNDS"

PRECOMPILE_COUNTERS = (
    PRECOMPILE_ECRECOVER_EFFECTIVE_CALLS,
    PRECOMPILE_SHA2_BLOCKS,
    PRECOMPILE_RIPEMD_BLOCKS,
    PRECOMPILE_MODEXP_EFFECTIVE_CALLS,
    PRECOMPILE_ECADD_EFFECTIVE_CALLS,
    PRECOMPILE_ECMUL_EFFECTIVE_CALLS,
    PRECOMPILE_ECPAIRING_FINAL_EXPONENTIATIONS,
    PRECOMPILE_ECPAIRING_MILLER_LOOPS,
    PRECOMPILE_ECPAIRING_G2_MEMBERSHIP_CALLS,
    PRECOMPILE_BLAKE_EFFECTIVE_CALLS,
    PRECOMPILE_BLAKE_ROUNDS,
)

# Block counters: properties of the whole block (keccaks the prover must do, bytes posted to L1,
# L2->L1 messages, transactions).
BLOCK_KECCAK = "BLOCK_KECCAK"
BLOCK_L1_SIZE = "BLOCK_L1_SIZE"
BLOCK_L2_L1_LOGS = "BLOCK_L2_L1_LOGS"
BLOCK_TRANSACTIONS = "BLOCK_TRANSACTIONS"

BLOCK_COUNTERS = (BLOCK_KECCAK, BLOCK_L1_SIZE, BLOCK_L2_L1_LOGS, BLOCK_TRANSACTIONS)

# Fixed-size lookup tables: the same rows in every block, whatever it holds.
BIN_REFERENCE_TABLE = "BIN_REFERENCE_TABLE"
SHF_REFERENCE_TABLE = "SHF_REFERENCE_TABLE"
INSTRUCTION_DECODER = "INSTRUCTION_DECODER"

# The rows of each table plus the all-zero padding row the prover puts at the top of every trace:
# AND/OR/XOR over byte pairs and NOT over bytes; every byte shifted by 0..8 bits; one row per opcode
# byte. With the padding row they round up to Linea's limits 262144, 4096 and 512.
_PADDING_ROW = 1
FIXED_TABLE_SIZES: dict[str, int] = {
    BIN_REFERENCE_TABLE: 3 * 256 * 256 + 256 + _PADDING_ROW,
    SHF_REFERENCE_TABLE: 9 * 256 + _PADDING_ROW,
    INSTRUCTION_DECODER: 256 + _PADDING_ROW,
}

ALL_MODULES: tuple[str, ...] = (
    TRACED_MODULES
    + PRECOMPILE_COUNTERS
    + BLOCK_COUNTERS
    + (BIN_REFERENCE_TABLE, SHF_REFERENCE_TABLE, INSTRUCTION_DECODER)
)

# What `count_transaction` returns: every module a transaction's own execution can add lines to.
# BLOCK_KECCAK is the one block counter among them: the keccaks its execution triggers (SHA3,
# contract addresses, deployed code, recovered keys) are only visible in the transaction's trace,
# so they travel with its counts and `count_block` adds the block's own hashing on top.
TRANSACTION_MODULES: tuple[str, ...] = TRACED_MODULES + PRECOMPILE_COUNTERS + (BLOCK_KECCAK,)

INDEX: dict[str, int] = {name: i for i, name in enumerate(ALL_MODULES)}


def next_power_of_two(n: int) -> int:
    """The smallest power of two >= n (1 for n <= 1): trace columns are padded to such a length."""
    if n <= 1:
        return 1
    return 1 << (n - 1).bit_length()
