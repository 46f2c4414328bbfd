"""Per-instruction line counts: a constant table indexed by opcode, plus handlers for operand-driven rules.

Most instructions add the same lines every time (the HUB rows of their instruction family, the
fixed rows of MOD/EXT/SHF operations, the OOB check of a jump...). Those live in `CONSTANT`, and a
transaction's instructions are first counted (per group of opcodes with the same constant lines,
at C speed) and then multiplied out. Only instructions whose lines depend on their operands
(memory ranges, hashed sizes, exponents, operand byte lengths) are visited one by one: the most
frequent inline in `count_opcodes`, the others through `HANDLERS`. See the rule table in
`rules.py` for what each module's numbers approximate.

Counts accumulate into a list indexed by `modules.INDEX`, not a dict: this runs on every
transaction the sequencer considers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import compress
from operator import itemgetter

from linen.execution.tracer import modules as m
from linen.execution.types import ExecutedOpcode

_I = m.INDEX
HUB, ADD, MUL, MOD, EXT, WCP, BIN, SHF, EUC, EXP = (
    _I[n] for n in (m.HUB, m.ADD, m.MUL, m.MOD, m.EXT, m.WCP, m.BIN, m.SHF, m.EUC, m.EXP)
)
GAS, MMU, MMIO, MXP, OOB, STP, TRM = (_I[n] for n in (m.GAS, m.MMU, m.MMIO, m.MXP, m.OOB, m.STP, m.TRM))
RLP_ADDR, SHAKIRA, BLOCK_HASH, KECCAK = (_I[n] for n in (m.RLP_ADDR, m.SHAKIRA_DATA, m.BLOCK_HASH, m.BLOCK_KECCAK))

LLARGE = 16  # bytes per limb: Linea splits every 256-bit word into two 16-byte limbs
MMEDIUM = 8  # rows of one MUL/MOD/EXT computation cycle (8-byte sub-limbs)
M256 = (1 << 256) - 1
MAX_MEMORY = 1 << 32  # a memory range ending beyond this raises MXPX (Linea's bound on offsets)
EUC_ROWS = 4  # rows of one EUC division: ~ the byte length of a gas amount or memory offset
WCP_ROWS_PER_CALL = 2  # rows of a comparison of small values (offsets, sizes, gas) made by another module
TRM_ROWS = LLARGE  # trimming one address to 20 bytes
BLOCKHASH_ROWS = 6  # 1 macro + 5 preprocessing rows (5 comparisons) per BLOCKHASH

# MXP rows per scenario: decoder + macro + scenario rows (4 with the first computation row) + the
# scenario's computation rows. Linea has no separate "no expansion" scenario; we charge the
# computation rows up to the MXPX check only when memory does not grow (see rules.py).
MXP_MSIZE, MXP_TRIVIAL, MXP_NO_GROWTH, MXP_MXPX, MXP_GROW_WORD, MXP_GROW_BYTE = 4, 5, 9, 9, 14, 13

# MMU preprocessing rows per MMU instruction (Linea's MMU_INST_NB_PP_ROWS_*).
PP_MLOAD = PP_MSTORE = PP_MSTORE8 = 1
PP_RIGHT_PADDED_WORD = 5  # CALLDATALOAD
PP_RAM_TO_EXO = 4  # SHA3, LOG, CREATE init code, precompile input
PP_EXO_TO_RAM = 1  # transaction call data, precompile output
PP_RAM_TO_RAM = 5  # RETURN/REVERT data, RETURNDATACOPY, MCOPY
PP_ANY_TO_RAM = 1  # CALLDATACOPY, CODECOPY, EXTCODECOPY


def num_keccak(size: int) -> int:
    """Keccak-f permutations to hash `size` bytes (136-byte rate, padding always adds a block)."""
    return (size + 136) // 136


def limbs(size: int) -> int:
    """16-byte limbs holding `size` bytes."""
    return (size + 15) >> 4


def mmu(acc: list[int], pp_rows: int, n_limbs: int, aligned: bool) -> None:
    """One MMU instruction moving `n_limbs` limbs: a macro row, its preprocessing rows, one micro-row
    per limb; MMIO spends 1 row on a whole aligned limb and 16 (one per byte) on a partial one.
    Each preprocessing row makes one small comparison (WCP) and the instruction one division (EUC)."""
    acc[MMU] += 1 + pp_rows + n_limbs
    acc[MMIO] += n_limbs if aligned else n_limbs * LLARGE
    acc[WCP] += pp_rows
    acc[EUC] += EUC_ROWS


def memory(acc: list[int], offset: int, size: int, memory_size: int, byte_priced: bool = False) -> bool:
    """MXP lines for one memory range (and the WCP/EUC calls its computation rows make).

    Returns whether data really moves: False for an empty range or one that raises MXPX.
    """
    if size == 0:
        acc[MXP] += MXP_TRIVIAL
        acc[WCP] += 1
        return False
    end = offset + size
    if end > MAX_MEMORY:
        acc[MXP] += MXP_MXPX
        acc[WCP] += 3 * WCP_ROWS_PER_CALL
        return False
    if ((end + 31) >> 5) << 5 > memory_size:
        acc[MXP] += MXP_GROW_BYTE if byte_priced else MXP_GROW_WORD
        acc[WCP] += 4 * WCP_ROWS_PER_CALL
        acc[EUC] += 2 * EUC_ROWS
    else:
        acc[MXP] += MXP_NO_GROWTH
        acc[WCP] += 3 * WCP_ROWS_PER_CALL
        acc[EUC] += EUC_ROWS
    return True


def memory2(acc: list[int], off1: int, size1: int, off2: int, size2: int, memory_size: int) -> None:
    """MXP lines for an instruction touching two ranges (CALL arguments and return area, MCOPY)."""
    if size1 == 0 and size2 == 0:
        memory(acc, 0, 0, memory_size)
        return
    end = max(off1 + size1 if size1 else 0, off2 + size2 if size2 else 0)
    memory(acc, 0, end, memory_size)


# --- handlers: (operands, memory_size, acc) -> None; operands are top of stack first ---


def _mul(ops: tuple[int, ...], _ms: int, acc: list[int]) -> None:
    if len(ops) >= 2:
        acc[MUL] += 1 if ops[0] <= 1 or ops[1] <= 1 else MMEDIUM


def _exp(ops: tuple[int, ...], _ms: int, acc: list[int]) -> None:
    """Square-and-multiply in MUL: one 8-row cycle per exponent bit and per set bit."""
    if len(ops) < 2:
        return
    base, exponent = ops[0], ops[1]
    if base <= 1 or exponent <= 1:
        acc[MUL] += 1
    elif base & 1 == 0 and ((base & -base).bit_length() - 1) * exponent >= 256:
        acc[MUL] += MMEDIUM  # the result is 0 mod 2**256: proven from the base's 2-adicity alone
    else:
        acc[MUL] += MMEDIUM * (exponent.bit_length() + exponent.bit_count())


def _mstore8(ops: tuple[int, ...], ms: int, acc: list[int]) -> None:
    if ops and memory(acc, ops[0], 1, ms, byte_priced=True):
        mmu(acc, PP_MSTORE8, 1, False)


def _calldataload(ops: tuple[int, ...], _ms: int, acc: list[int]) -> None:
    if ops:
        mmu(acc, PP_RIGHT_PADDED_WORD, 2, ops[0] & 15 == 0)


def _sha3(ops: tuple[int, ...], ms: int, acc: list[int]) -> None:
    if len(ops) < 2:
        return
    offset, size = ops[0], ops[1]
    if memory(acc, offset, size, ms):
        n = limbs(size)
        mmu(acc, PP_RAM_TO_EXO, n, offset & 15 == 0)
        acc[SHAKIRA] += n + 2  # data limbs + the two result limbs
        acc[KECCAK] += num_keccak(size)


def _copy(ops: tuple[int, ...], ms: int, acc: list[int], pp: int) -> None:
    dest, src, size = ops[0], ops[1], ops[2]
    if memory(acc, dest, size, ms):
        aligned = (dest | src | size) & 15 == 0
        mmu(acc, pp, limbs((dest & 15) + size), aligned)


def _any_to_ram(ops: tuple[int, ...], ms: int, acc: list[int]) -> None:
    if len(ops) >= 3:
        _copy(ops, ms, acc, PP_ANY_TO_RAM)


def _ram_to_ram(ops: tuple[int, ...], ms: int, acc: list[int]) -> None:
    if len(ops) >= 3:
        _copy(ops, ms, acc, PP_RAM_TO_RAM)


def _extcodecopy(ops: tuple[int, ...], ms: int, acc: list[int]) -> None:
    if len(ops) >= 4:
        _copy(ops[1:], ms, acc, PP_ANY_TO_RAM)


def _mcopy(ops: tuple[int, ...], ms: int, acc: list[int]) -> None:
    if len(ops) < 3:
        return
    dest, src, size = ops[0], ops[1], ops[2]
    memory2(acc, dest, size, src, size, ms)
    if size and max(dest, src) + size <= MAX_MEMORY:
        mmu(acc, PP_RAM_TO_RAM, limbs((dest & 15) + size), (dest | src | size) & 15 == 0)


def _log(ops: tuple[int, ...], ms: int, acc: list[int]) -> None:
    if len(ops) >= 2 and memory(acc, ops[0], ops[1], ms):
        mmu(acc, PP_RAM_TO_EXO, limbs(ops[1]), ops[0] & 15 == 0)


def _halt(ops: tuple[int, ...], ms: int, acc: list[int]) -> None:
    """RETURN/REVERT: the returned bytes are copied out of the frame's memory."""
    if len(ops) >= 2 and memory(acc, ops[0], ops[1], ms):
        mmu(acc, PP_RAM_TO_RAM, limbs((ops[0] & 15) + ops[1]), (ops[0] | ops[1]) & 15 == 0)


def _create(ops: tuple[int, ...], ms: int, acc: list[int]) -> None:
    acc[RLP_ADDR] += 8  # RLP(sender, nonce): Linea's MAX_CT_CREATE + 1
    acc[KECCAK] += num_keccak(31)
    if len(ops) >= 3 and memory(acc, ops[1], ops[2], ms):
        mmu(acc, PP_RAM_TO_EXO, limbs(ops[2]), ops[1] & 15 == 0)  # init code into ROM


def _create2(ops: tuple[int, ...], ms: int, acc: list[int]) -> None:
    acc[RLP_ADDR] += 6  # 0xff ++ sender ++ salt ++ keccak(init code): MAX_CT_CREATE2 + 1
    acc[KECCAK] += num_keccak(85)
    if len(ops) >= 3 and memory(acc, ops[1], ops[2], ms):
        n = limbs(ops[2])
        aligned = ops[1] & 15 == 0
        mmu(acc, PP_RAM_TO_EXO, n, aligned)  # init code into ROM
        mmu(acc, PP_RAM_TO_EXO, n, aligned)  # and into the keccak of the address
        acc[SHAKIRA] += n + 2
        acc[KECCAK] += num_keccak(ops[2])


def _call_with_value(ops: tuple[int, ...], ms: int, acc: list[int]) -> None:
    if len(ops) >= 7:
        memory2(acc, ops[3], ops[4], ops[5], ops[6], ms)


def _call_without_value(ops: tuple[int, ...], ms: int, acc: list[int]) -> None:
    if len(ops) >= 6:
        memory2(acc, ops[2], ops[3], ops[4], ops[5], ms)


Handler = Callable[[tuple[int, ...], int, list[int]], None]


def _build_tables() -> tuple[list[tuple[tuple[int, int], ...]], list[Handler | None]]:
    constant: list[dict[int, int]] = [{HUB: 1} for _ in range(256)]  # undefined opcodes: INVALID's one row
    handlers: list[Handler | None] = [None] * 256

    def put(codes: Iterable[int], handler: Handler | None = None, **rows: int) -> None:
        for code in codes:
            constant[code] = {_I[name]: n for name, n in rows.items()}
            handlers[code] = handler

    put([0x00], HUB=2)  # STOP
    put([0x01, 0x03], HUB=1)  # ADD SUB: lines counted inline in count_opcodes
    put([0x02], _mul, HUB=1)
    put(range(0x04, 0x08), HUB=1, MOD=MMEDIUM)  # DIV SDIV MOD SMOD
    put([0x08, 0x09], HUB=1, EXT=MMEDIUM)  # ADDMOD MULMOD
    put([0x0A], _exp, HUB=2, EXP=1)
    put([0x0B], HUB=1)  # SIGNEXTEND (BIN lines inline)
    put(range(0x10, 0x14), HUB=1)  # LT GT SLT SGT (WCP lines inline)
    put([0x14, 0x15], HUB=1, WCP=1)  # EQ ISZERO: one-line comparisons
    put([0x16, 0x17, 0x18, 0x19, 0x1A], HUB=1)  # AND OR XOR NOT BYTE (BIN lines inline)
    put([0x1B, 0x1C, 0x1D], HUB=1, SHF=LLARGE)  # SHL SHR SAR
    put([0x20], _sha3, HUB=2)
    put([0x30, 0x32, 0x33, 0x34, 0x36, 0x3A, 0x3D], HUB=2)  # context / transaction data
    put([0x31, 0x3B, 0x3F], HUB=3, TRM=TRM_ROWS)  # BALANCE EXTCODESIZE EXTCODEHASH
    put([0x38], HUB=3)  # CODESIZE reads the executing account
    put([0x35], _calldataload, HUB=3, OOB=1, WCP=WCP_ROWS_PER_CALL)
    put([0x37, 0x39], _any_to_ram, HUB=3)  # CALLDATACOPY CODECOPY
    put([0x3C], _extcodecopy, HUB=4, TRM=TRM_ROWS)
    put([0x3E], _ram_to_ram, HUB=3, OOB=3, ADD=2, WCP=2 * WCP_ROWS_PER_CALL)  # RETURNDATACOPY
    put([0x40], HUB=1, BLOCK_HASH=BLOCKHASH_ROWS, WCP=5 * WCP_ROWS_PER_CALL)
    put(range(0x41, 0x4B), HUB=1)  # block data
    put([0x47], HUB=3)  # SELFBALANCE reads an account
    put([0x49], HUB=2)  # BLOBHASH reads the transaction
    put([0x51, 0x52], HUB=3)  # MLOAD MSTORE (MXP/MMU lines inline)
    put([0x53], _mstore8, HUB=3)
    put([0x54], HUB=5)  # SLOAD
    put([0x55], HUB=5, OOB=1, WCP=WCP_ROWS_PER_CALL)  # SSTORE
    put([0x56], HUB=5, OOB=1, WCP=WCP_ROWS_PER_CALL)  # JUMP
    put([0x57], HUB=5, OOB=2, WCP=2 * WCP_ROWS_PER_CALL)  # JUMPI
    put([0x59], HUB=2, MXP=MXP_MSIZE)
    put([0x5C, 0x5D], HUB=3)  # TLOAD TSTORE
    put([0x5E], _mcopy, HUB=3)
    put(range(0xA0, 0xA5), _log, HUB=4)
    put([0xF0], _create, HUB=11, GAS=1, STP=1, OOB=4, WCP=4 * WCP_ROWS_PER_CALL, EUC=EUC_ROWS)
    put([0xF5], _create2, HUB=11, GAS=1, STP=1, OOB=4, WCP=4 * WCP_ROWS_PER_CALL, EUC=EUC_ROWS)
    call_rows = {
        "HUB": 11,
        "GAS": 1,
        "STP": 1,
        "OOB": 3,
        "WCP": 3 * WCP_ROWS_PER_CALL,
        "EUC": EUC_ROWS,
        "TRM": TRM_ROWS,
    }
    put([0xF1, 0xF2], _call_with_value, **call_rows)  # CALL CALLCODE
    put([0xF4, 0xFA], _call_without_value, **call_rows)  # DELEGATECALL STATICCALL
    put([0xF3], _halt, HUB=7, OOB=1, WCP=WCP_ROWS_PER_CALL)  # RETURN
    put([0xFD], _halt, HUB=4)  # REVERT
    put([0xFF], HUB=8, TRM=TRM_ROWS)  # SELFDESTRUCT
    return [tuple(rows.items()) for rows in constant], handlers


CONSTANT, HANDLERS = _build_tables()

# Opcodes whose operand-driven lines are computed inline in `count_opcodes` (the most frequent ones).
_INLINE_ADD = frozenset((0x01, 0x03))
_INLINE_WCP = frozenset(range(0x10, 0x14))
_INLINE_BIN = frozenset((0x0B, 0x16, 0x17, 0x18, 0x19, 0x1A))
_INLINE_MEMORY_WORD = frozenset((0x51, 0x52))
_SPECIAL = _INLINE_ADD | _INLINE_WCP | _INLINE_BIN | _INLINE_MEMORY_WORD | {c for c, h in enumerate(HANDLERS) if h}
_SPECIAL_MASK = bytes(1 if code in _SPECIAL else 0 for code in range(256))


def _classes() -> tuple[bytes, tuple[tuple[tuple[int, int], ...], ...]]:
    """Opcodes grouped by identical constant lines, so counting needs one pass per group, not per opcode."""
    groups: dict[tuple[tuple[int, int], ...], int] = {}
    class_of = bytes(groups.setdefault(rows, len(groups)) for rows in CONSTANT)
    return class_of, tuple(groups)


_CLASS_OF, _CLASS_ROWS = _classes()
_opcode_of = itemgetter(1)


def count_opcodes(opcodes: tuple[ExecutedOpcode, ...], acc: list[int]) -> None:
    """Add every executed instruction's lines to `acc`.

    Constant lines: the opcodes become a byte string, mapped to their constant-lines group and
    counted per group at C speed. Operand lines: only the instructions that need them are visited,
    the frequent ones handled inline (no call per instruction), the rest by their handler.
    """
    codes = bytes(map(_opcode_of, opcodes))
    classes = codes.translate(_CLASS_OF)
    for group, rows in enumerate(_CLASS_ROWS):
        n = classes.count(group)
        if n:
            for module, per_op in rows:
                acc[module] += per_op * n

    add = wcp = bin_ = mxp = mmu_rows = mmio = euc = 0
    handlers = HANDLERS
    inline_add, inline_wcp, inline_bin, inline_memory = _INLINE_ADD, _INLINE_WCP, _INLINE_BIN, _INLINE_MEMORY_WORD
    for op in compress(opcodes, codes.translate(_SPECIAL_MASK)):
        code = op[1]
        ops = op[4]
        if code in inline_add:
            if len(ops) >= 2:
                r = ((ops[0] + ops[1]) if code == 0x01 else (ops[0] - ops[1])) & M256
                n = r.bit_length()
                # one row per byte of the longer limb, at least 2; a result past 2**128 is charged
                # the full 16 (exact unless both limbs are short, which is rare)
                add += LLARGE if n > 128 else max(2, (n + 7) >> 3)
        elif code in inline_wcp or code in inline_bin:
            if ops:
                x = max(ops[0], ops[1]) if len(ops) >= 2 else ops[0]
                n = x.bit_length()
                rows = LLARGE if n > 128 else max(1, (n + 7) >> 3)
                if code in inline_wcp:
                    wcp += rows
                else:
                    bin_ += rows
        elif code in inline_memory:  # MLOAD (offset) / MSTORE (offset, value)
            if ops:
                offset = ops[0]
                end = offset + 32
                if end > MAX_MEMORY:
                    mxp += MXP_MXPX
                    wcp += 3 * WCP_ROWS_PER_CALL
                    continue
                if ((end + 31) >> 5) << 5 > op[5]:
                    mxp += MXP_GROW_WORD
                    wcp += 4 * WCP_ROWS_PER_CALL
                    euc += 2 * EUC_ROWS
                else:
                    mxp += MXP_NO_GROWTH
                    wcp += 3 * WCP_ROWS_PER_CALL
                    euc += EUC_ROWS
                # MMU: macro + 1 preprocessing + 2 limbs; MMIO: 1 row per limb if aligned, else 16
                mmu_rows += 1 + PP_MLOAD + 2
                mmio += 2 if offset & 15 == 0 else 2 * LLARGE
                wcp += PP_MLOAD
                euc += EUC_ROWS
        else:
            handlers[code](ops, op[5], acc)
    acc[ADD] += add
    acc[WCP] += wcp
    acc[BIN] += bin_
    acc[MXP] += mxp
    acc[MMU] += mmu_rows
    acc[MMIO] += mmio
    acc[EUC] += euc
