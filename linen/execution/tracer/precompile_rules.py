"""Line counts of precompile calls, read from the precompile frames (which keep their full input).

The CALL instruction that reached the precompile is counted with the instructions; here come the
precompile's own lines: its HUB subsection and OOB checks, moving its input and output through
the MMU, the data modules (EC_DATA, SHAKIRA_DATA, BLAKE_MODEXP_DATA) and the precompile counters
the limits file caps (effective calls, hash blocks, pairing loops, BLAKE2f rounds).
"""

from __future__ import annotations

from linen.execution.tracer import modules as m
from linen.execution.tracer.opcode_rules import (
    EUC,
    EUC_ROWS,
    EXP,
    HUB,
    KECCAK,
    OOB,
    PP_EXO_TO_RAM,
    PP_RAM_TO_EXO,
    SHAKIRA,
    WCP,
    WCP_ROWS_PER_CALL,
    limbs,
    mmu,
    num_keccak,
)
from linen.execution.types import ExecutedFrame

_I = m.INDEX
EC_DATA, BLAKE_MODEXP = _I[m.EC_DATA], _I[m.BLAKE_MODEXP_DATA]
ECRECOVER, SHA2_BLOCKS, RIPEMD_BLOCKS = (
    _I[n] for n in (m.PRECOMPILE_ECRECOVER_EFFECTIVE_CALLS, m.PRECOMPILE_SHA2_BLOCKS, m.PRECOMPILE_RIPEMD_BLOCKS)
)
MODEXP, ECADD, ECMUL = (
    _I[n]
    for n in (
        m.PRECOMPILE_MODEXP_EFFECTIVE_CALLS,
        m.PRECOMPILE_ECADD_EFFECTIVE_CALLS,
        m.PRECOMPILE_ECMUL_EFFECTIVE_CALLS,
    )
)
PAIRING_FINAL_EXP, PAIRING_MILLER, PAIRING_G2 = (
    _I[n]
    for n in (
        m.PRECOMPILE_ECPAIRING_FINAL_EXPONENTIATIONS,
        m.PRECOMPILE_ECPAIRING_MILLER_LOOPS,
        m.PRECOMPILE_ECPAIRING_G2_MEMBERSHIP_CALLS,
    )
)
BLAKE_CALLS, BLAKE_ROUNDS = _I[m.PRECOMPILE_BLAKE_EFFECTIVE_CALLS], _I[m.PRECOMPILE_BLAKE_ROUNDS]

ECRECOVER_ADDR, SHA256_ADDR, RIPEMD_ADDR, IDENTITY_ADDR, MODEXP_ADDR = 1, 2, 3, 4, 5
ECADD_ADDR, ECMUL_ADDR, ECPAIRING_ADDR, BLAKE2F_ADDR = 6, 7, 8, 9

# OOB rows of each precompile's checks (Linea's CT_MAX_* + 1; BLAKE2f and MODEXP run several);
# point evaluation and the BLS precompiles (0x0a..0x11) are priced like ECADD.
OOB_ROWS = {1: 3, 2: 4, 3: 4, 4: 4, 5: 3 + 3 * 3 + 4 + 6 + 4, 6: 3, 7: 3, 8: 5, 9: 2 + 2}
OOB_ROWS_OTHER = 3
HUB_ROWS = 4  # the precompile subsection after the CALL's rows
HUB_ROWS_MODEXP = 8  # MODEXP adds rows for its three size words and its leading exponent word

# EC_DATA rows: the input and result as 16-byte limbs.
EC_ROWS_ECRECOVER = 8 + 2  # h, v, r, s | recovered address
EC_ROWS_ECADD = 8 + 4  # two points | one point
EC_ROWS_ECMUL = 6 + 4  # point, scalar | one point
PAIR_SIZE = 192  # one (G1, G2) pair of an ECPAIRING input
EC_ROWS_PER_PAIR = PAIR_SIZE // 16
EC_ROWS_PAIRING_RESULT = 2

BLAKE2F_INPUT_SIZE = 213
BLAKE_MODEXP_ROWS_BLAKE = 13 + 2 + 4  # h, m, t limbs | rounds and final flag | result limbs
MODEXP_COMPONENT_MIN_LIMBS = 32  # base, exponent, modulus and result each fill at least 512 bytes
MODEXP_COMPONENT_MAX_BYTES = 1024


def precompile_number(address: bytes) -> int:
    """0x01..0x11 for a precompile address, else 0."""
    if len(address) == 20 and not any(address[:19]):
        return address[19]
    return 0


def _sha_blocks(size: int) -> int:
    """64-byte blocks of SHA-256 / RIPEMD-160: the data, the 0x80 marker and the 8-byte length."""
    return (size + 9 + 63) // 64


def _modexp_rows(data: bytes) -> tuple[int, bool]:
    """BLAKE_MODEXP_DATA rows of a MODEXP call and whether its exponent is non-empty."""
    head = data[:96].ljust(96, b"\0")
    bbs, ebs, mbs = (int.from_bytes(head[i : i + 32], "big") for i in (0, 32, 64))
    if bbs == 0 and mbs == 0:
        return 0, ebs > 0
    widest = min(max(bbs, ebs, mbs), MODEXP_COMPONENT_MAX_BYTES)
    return 4 * max(MODEXP_COMPONENT_MIN_LIMBS, limbs(widest)), ebs > 0


def _pairing(data: bytes, acc: list[int]) -> None:
    """Miller loops for pairs with both points non-trivial; a G2 membership check for a pair whose
    G1 point is infinity but G2 point is not (the Miller loop circuit checks the others); one final
    exponentiation if any Miller loop ran."""
    pairs = len(data) // PAIR_SIZE
    acc[EC_DATA] += EC_ROWS_PER_PAIR * pairs + EC_ROWS_PAIRING_RESULT
    loops = 0
    for i in range(pairs):
        g1 = data[i * PAIR_SIZE : i * PAIR_SIZE + 64]
        g2 = data[i * PAIR_SIZE + 64 : (i + 1) * PAIR_SIZE]
        g1_trivial, g2_trivial = not any(g1), not any(g2)
        if not g1_trivial and not g2_trivial:
            loops += 1
        elif g1_trivial and not g2_trivial:
            acc[PAIRING_G2] += 1
    acc[PAIRING_MILLER] += loops
    if loops:
        acc[PAIRING_FINAL_EXP] += 1


def count_precompile(frame: ExecutedFrame, acc: list[int]) -> None:
    """Add one precompile call's lines to `acc` (the frame must be a precompile frame)."""
    number = precompile_number(frame.code_address)
    data = frame.input
    size = frame.input_size
    ok = frame.success
    oob = OOB_ROWS.get(number, OOB_ROWS_OTHER)
    acc[OOB] += oob
    acc[WCP] += oob * WCP_ROWS_PER_CALL
    acc[HUB] += HUB_ROWS_MODEXP if number == MODEXP_ADDR else HUB_ROWS
    if size:
        mmu(acc, PP_RAM_TO_EXO, limbs(size), False)
    if ok and frame.output_size:
        mmu(acc, PP_EXO_TO_RAM, limbs(frame.output_size), False)

    if number == ECRECOVER_ADDR:
        if size:
            acc[EC_DATA] += EC_ROWS_ECRECOVER
            if ok and frame.output_size:  # a key was recovered: the circuit really ran
                acc[ECRECOVER] += 1
                acc[KECCAK] += num_keccak(64)  # address = keccak(public key)
    elif number == SHA256_ADDR or number == RIPEMD_ADDR:
        if ok and size:
            acc[SHA2_BLOCKS if number == SHA256_ADDR else RIPEMD_BLOCKS] += _sha_blocks(size)
            acc[SHAKIRA] += limbs(size) + 2
    elif number == MODEXP_ADDR:
        rows, has_exponent = _modexp_rows(data)
        acc[BLAKE_MODEXP] += rows
        if has_exponent:
            acc[EXP] += 1  # the leading-word log for the gas price
            acc[EUC] += EUC_ROWS
        if ok:
            acc[MODEXP] += 1
    elif number == ECADD_ADDR or number == ECMUL_ADDR:
        if size:
            acc[EC_DATA] += EC_ROWS_ECADD if number == ECADD_ADDR else EC_ROWS_ECMUL
            if ok:
                acc[ECADD if number == ECADD_ADDR else ECMUL] += 1
    elif number == ECPAIRING_ADDR:
        if size and size % PAIR_SIZE == 0:
            _pairing(data, acc)
    elif number == BLAKE2F_ADDR:
        if len(data) == BLAKE2F_INPUT_SIZE and data[-1] in (0, 1):
            acc[BLAKE_MODEXP] += BLAKE_MODEXP_ROWS_BLAKE
            if ok:
                acc[BLAKE_CALLS] += 1
                acc[BLAKE_ROUNDS] += int.from_bytes(data[:4], "big")
