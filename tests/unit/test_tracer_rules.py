"""The tracer's line-count rules: concrete counts for hand-built executions, and their invariants."""

from __future__ import annotations

import math

from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from linen.execution.tracer import modules as m
from linen.execution.tracer.inputs import TracedBlock, TracedTransaction
from linen.execution.tracer.rules import RULES, count_block, count_transaction
from linen.execution.types import ExecutedFrame, ExecutedOpcode
from linen.primitives.diffs import Log

CONTRACT = bytes.fromhex("11" * 20)
SENDER = bytes.fromhex("22" * 20)
SERVICE = bytes.fromhex("e537d669ca013d86ebef1d64e40fc74cadc91987")
MESSAGE_SENT = keccak(text="MessageSent(address,address,uint256,uint256,uint256,bytes,bytes32)")


def op(code: int, *operands: int, memory_size: int = 0) -> ExecutedOpcode:
    return ExecutedOpcode(0, code, 1, CONTRACT, tuple(operands), memory_size)


def precompile(number: int, data: bytes, output_size: int, success: bool = True) -> ExecutedFrame:
    return ExecutedFrame(2, number.to_bytes(20, "big"), False, True, b"", data, len(data), output_size, success)


def make_tx(opcodes=(), frames=(), logs=(), calldata=b"", tx_type=2, to=CONTRACT, access_list=(), raw=None):
    return TracedTransaction(
        raw=raw if raw is not None else b"\x02" + b"\xaa" * 100,
        tx_type=tx_type,
        sender=SENDER,
        to=to,
        calldata=calldata,
        access_list=access_list,
        authorizations=0,
        success=True,
        gas_used=21_000,
        logs=tuple(logs),
        receipt_rlp=b"",
        opcodes=tuple(opcodes),
        frames=tuple(frames),
        state_diff_accounts=2,
        state_diff_slots=0,
    )


BASE_OPS = (op(0x60), op(0x00))  # PUSH1, STOP: code runs, so the HUB's execution sections are counted


def delta(opcodes=(), frames=(), **kwargs) -> dict[str, int]:
    """Lines the given instructions/frames add on top of a transaction that just runs PUSH1 STOP."""
    base = count_transaction(make_tx(BASE_OPS, **kwargs))
    more = count_transaction(make_tx(BASE_OPS + tuple(opcodes), tuple(frames), **kwargs))
    return {k: more[k] - base[k] for k in base if more[k] != base[k]}


def block(raws=(), logs=(), service=SERVICE) -> TracedBlock:
    return TracedBlock(1, 1_700_000_000, SENDER, 30_000_000, 7, tuple(raws), tuple(logs), service)


# --- module names and fixed tables ---


def test_module_names_and_fixed_tables():
    assert m.ALL_MODULES[:3] == ("HUB", "ADD", "MUL") and m.ALL_MODULES[-1] == "INSTRUCTION_DECODER"
    assert len(m.ALL_MODULES) == len(set(m.ALL_MODULES)) == 30 + 11 + 4 + 3
    assert tuple(RULES) == m.ALL_MODULES
    sizes = {name: m.next_power_of_two(size) for name, size in m.FIXED_TABLE_SIZES.items()}
    assert sizes == {"BIN_REFERENCE_TABLE": 262144, "SHF_REFERENCE_TABLE": 4096, "INSTRUCTION_DECODER": 512}
    assert [m.next_power_of_two(n) for n in (0, 1, 2, 3, 4, 5, 1025)] == [1, 1, 2, 4, 4, 8, 2048]


def test_transaction_counts_have_every_per_transaction_module():
    counts = count_transaction(make_tx())
    assert tuple(counts) == m.TRANSACTION_MODULES
    assert not set(counts) & set(m.FIXED_TABLE_SIZES)
    assert not set(counts) & (set(m.BLOCK_COUNTERS) - {"BLOCK_KECCAK"})
    # a plain transfer: no code runs (HUB skip section), one 1559 TXN_DATA entry, a receipt without logs
    assert counts["HUB"] == 4 and counts["TXN_DATA"] == 17 and counts["LOG_INFO"] == 1
    assert counts["RLP_TXN_RCPT"] == 84 and counts["LOG_DATA"] == 0 and counts["ADD"] == 0


# --- instructions ---


def test_add_lines_follow_the_result_size():
    assert delta([op(0x01, 5, 7)]) == {"HUB": 1, "ADD": 2}
    assert delta([op(0x01, 2**100, 2**100)])["ADD"] == 13  # 101-bit result: 13 bytes
    assert delta([op(0x03, 0, 1)])["ADD"] == 16  # 0 - 1 wraps to 2**256 - 1
    assert delta([op(0x01, 1, 2)] * 3)["ADD"] == 6


def test_comparisons_and_bitwise():
    assert delta([op(0x10, 3, 2**64)]) == {"HUB": 1, "WCP": 9}
    assert delta([op(0x14, 1, 1)]) == {"HUB": 1, "WCP": 1}
    assert delta([op(0x16, 0xFFFF, 1)]) == {"HUB": 1, "BIN": 2}
    assert delta([op(0x1C, 224, 5)]) == {"HUB": 1, "SHF": 16}


def test_exp_lines_grow_with_the_exponent():
    one_byte = delta([op(0x0A, 3, 0xFF)])
    assert one_byte["HUB"] == 2 and one_byte["EXP"] == 1
    assert one_byte["MUL"] == 8 * (8 + 8)  # 8 squarings and 8 multiplications, 8 rows each
    two_bytes = delta([op(0x0A, 3, 0xFF00)])["MUL"]
    full = delta([op(0x0A, 3, 2**255 + 1)])["MUL"]
    assert one_byte["MUL"] < two_bytes < full
    assert delta([op(0x0A, 3, 1)])["MUL"] == 1  # trivial exponent
    assert delta([op(0x0A, 2**200, 2)])["MUL"] == 8  # result is 0 mod 2**256


def test_memory_expansion_costs_more_mxp_lines():
    grows = delta([op(0x52, 0, 1, memory_size=0)])
    stays = delta([op(0x52, 0, 1, memory_size=64)])
    assert grows["MXP"] == 14 and stays["MXP"] == 9
    assert grows["MMU"] == stays["MMU"] == 4 and grows["MMIO"] == 2  # two aligned limbs
    assert delta([op(0x52, 1, 1, memory_size=64)])["MMIO"] == 32  # unaligned: 16 rows per limb
    assert delta([op(0x53, 0, 1, memory_size=0)])["MXP"] == 13  # MSTORE8 is byte-priced
    assert delta([op(0x52, 2**40, 1)])["MXP"] == 9 and "MMU" not in delta([op(0x52, 2**40, 1)])  # MXPX


def test_sha3_lines_and_keccak():
    small = delta([op(0x20, 0, 64, memory_size=64)])
    assert small["SHAKIRA_DATA"] == 4 + 2 and small["BLOCK_KECCAK"] == 1 and small["HUB"] == 2
    large = delta([op(0x20, 0, 200, memory_size=256)])
    assert large["SHAKIRA_DATA"] == 13 + 2 and large["BLOCK_KECCAK"] == 2
    assert large["MMU"] > small["MMU"]
    assert "SHAKIRA_DATA" not in delta([op(0x20, 0, 0)])


def test_calls_creates_jumps_blockhash_and_logs():
    call = delta([op(0xF1, 50_000, 5, 0, 0, 0, 0, 0)])
    assert {k: call[k] for k in ("HUB", "GAS", "STP", "OOB", "TRM", "MXP")} == {
        "HUB": 11, "GAS": 1, "STP": 1, "OOB": 3, "TRM": 16, "MXP": 5
    }  # fmt: skip
    create2 = delta([op(0xF5, 0, 0, 100, 7, memory_size=128)])
    assert create2["RLP_ADDR"] == 6 and create2["SHAKIRA_DATA"] == 7 + 2 and create2["BLOCK_KECCAK"] == 2
    assert delta([op(0xF0, 0, 0, 100, memory_size=128)])["RLP_ADDR"] == 8
    assert delta([op(0x57, 10, 1)]) == {"HUB": 5, "OOB": 2, "WCP": 4}
    assert delta([op(0x40, 5)])["BLOCK_HASH"] == 6
    log = delta([op(0xA1, 0, 40, 7, memory_size=64)])
    assert log["HUB"] == 4 and log["MMU"] == 1 + 4 + 3


# --- precompiles ---


def test_ecrecover_counts_an_effective_call():
    ok = delta(frames=[precompile(1, b"\x01" * 128, 32)])
    assert ok["PRECOMPILE_ECRECOVER_EFFECTIVE_CALLS"] == 1 and ok["EC_DATA"] == 10 and ok["BLOCK_KECCAK"] == 1
    failed = delta(frames=[precompile(1, b"\x01" * 128, 0)])
    assert "PRECOMPILE_ECRECOVER_EFFECTIVE_CALLS" not in failed and failed["EC_DATA"] == 10


def test_pairing_counts_miller_loops_per_pair():
    pair = b"\x01" * 192
    for k in (1, 2, 3):
        counts = delta(frames=[precompile(8, pair * k, 32)])
        assert counts["PRECOMPILE_ECPAIRING_MILLER_LOOPS"] == k
        assert counts["PRECOMPILE_ECPAIRING_FINAL_EXPONENTIATIONS"] == 1
        assert counts["EC_DATA"] == 12 * k + 2
    trivial_g1 = b"\x00" * 64 + b"\x01" * 128
    counts = delta(frames=[precompile(8, pair + trivial_g1, 32)])
    assert counts["PRECOMPILE_ECPAIRING_MILLER_LOOPS"] == 1
    assert counts["PRECOMPILE_ECPAIRING_G2_MEMBERSHIP_CALLS"] == 1
    assert "PRECOMPILE_ECPAIRING_MILLER_LOOPS" not in delta(frames=[precompile(8, b"\x01" * 100, 0, False)])


def test_blake2f_counts_its_rounds():
    data = (12).to_bytes(4, "big") + b"\x00" * 208 + b"\x01"
    counts = delta(frames=[precompile(9, data, 64)])
    assert counts["PRECOMPILE_BLAKE_ROUNDS"] == 12 and counts["PRECOMPILE_BLAKE_EFFECTIVE_CALLS"] == 1
    assert counts["BLAKE_MODEXP_DATA"] == 19
    many = (2000).to_bytes(4, "big") + b"\x00" * 208 + b"\x00"
    assert delta(frames=[precompile(9, many, 64)])["PRECOMPILE_BLAKE_ROUNDS"] == 2000
    malformed = data[:-1] + b"\x02"
    assert "PRECOMPILE_BLAKE_ROUNDS" not in delta(frames=[precompile(9, malformed, 0, False)])


def test_modexp_counts_one_effective_call():
    sizes = b"".join(n.to_bytes(32, "big") for n in (1, 1, 1))
    counts = delta(frames=[precompile(5, sizes + b"\x03\x05\x07", 1)])
    assert counts["PRECOMPILE_MODEXP_EFFECTIVE_CALLS"] == 1 and counts["BLAKE_MODEXP_DATA"] == 128
    assert counts["EXP"] == 1


def test_sha256_and_ripemd_blocks():
    for n in (1, 55, 56, 64, 119, 120, 1000):
        expected = math.ceil((n + 9) / 64)
        sha = delta(frames=[precompile(2, b"\x61" * n, 32)])
        assert sha["PRECOMPILE_SHA2_BLOCKS"] == expected
        assert sha["SHAKIRA_DATA"] == math.ceil(n / 16) + 2
        assert delta(frames=[precompile(3, b"\x61" * n, 32)])["PRECOMPILE_RIPEMD_BLOCKS"] == expected
    assert "PRECOMPILE_SHA2_BLOCKS" not in delta(frames=[precompile(2, b"", 32)])


# --- transaction envelope, logs ---


def test_calldata_and_envelope_drive_rlp_txn_and_txn_data():
    empty = count_transaction(make_tx())
    with_data = count_transaction(make_tx(calldata=b"\x01" * 100))
    assert with_data["RLP_TXN"] - empty["RLP_TXN"] == 8 + 7  # list prefix + 7 limbs
    assert count_transaction(make_tx(tx_type=0, raw=b"\xf8" + b"\xaa" * 100))["TXN_DATA"] == 15
    listed = count_transaction(make_tx(access_list=((CONTRACT, (1, 2)),)))
    assert listed["RLP_TXN"] - empty["RLP_TXN"] == 24 + 2 * 16
    runs = count_transaction(make_tx(BASE_OPS, calldata=b"\x01" * 100))
    assert runs["MMU"] == 1 + 1 + 7 and runs["HUB"] >= 14
    deploy = count_transaction(make_tx(to=None))
    assert deploy["RLP_ADDR"] == 8 and deploy["BLOCK_KECCAK"] == 1


def test_logs_drive_log_modules_and_the_receipt():
    logs = [Log(CONTRACT, (b"\x01" * 32, b"\x02" * 32), b"\x03" * 40), Log(CONTRACT, (), b"")]
    counts = count_transaction(make_tx(logs=logs))
    assert counts["LOG_INFO"] == (2 + 2) + (0 + 2)
    assert counts["LOG_DATA"] == 3 + 1
    assert counts["RLP_TXN_RCPT"] == 83 + 8 + (12 + 6 + 8 + 3) + (12 + 0 + 1)


def test_frames_count_rom_once_per_code():
    code = b"\x60" * 100
    frame = ExecutedFrame(1, CONTRACT, False, False, code, b"", 0, 0, True)
    once = delta(frames=[frame])
    assert once["ROM"] == (4 + 1) * 32 and once["ROM_LEX"] == 1 and once["HUB"] == 1 and once["GAS"] == 1
    assert delta(frames=[frame, frame])["ROM"] == once["ROM"]
    deployment = ExecutedFrame(1, SENDER, True, False, code, b"", 0, 300, True)
    deployed = delta(frames=[deployment])
    assert deployed["ROM_LEX"] == 2 and deployed["SHAKIRA_DATA"] == 19 + 2 and deployed["BLOCK_KECCAK"] == 3


# --- blocks ---


def test_block_keys_fixed_tables_and_sums():
    raw_a, raw_b = b"\x02" + b"\xaa" * 100, b"\x02" + b"\xbb" * 300
    a = count_transaction(make_tx([op(0x01, 1, 2), op(0x20, 0, 32)], raw=raw_a))
    b = count_transaction(make_tx([op(0x52, 0, 1)], raw=raw_b))
    counts = count_block([a, b], block([raw_a, raw_b]))
    assert tuple(counts) == m.ALL_MODULES
    for name, size in m.FIXED_TABLE_SIZES.items():
        assert counts[name] == size
    for name in m.TRANSACTION_MODULES:
        assert counts[name] >= a[name] + b[name]
    assert counts["BLOCK_TRANSACTIONS"] == 2
    assert counts["BLOCK_L1_SIZE"] == len(raw_a) + len(raw_b) + 2 * 20 + 38
    assert counts["BLOCK_DATA"] == 14 and counts["BLOCK_L2_L1_LOGS"] == 0
    empty = count_block([], block())
    assert tuple(empty) == m.ALL_MODULES and empty["BLOCK_TRANSACTIONS"] == 0 and empty["HUB"] == 0


def test_block_counts_are_additive_per_transaction():
    raw_a, raw_b = b"\x02" + b"\xaa" * 100, b"\x02" + b"\xbb" * 300
    log = Log(SERVICE, (MESSAGE_SENT,), b"")
    a = count_transaction(make_tx([op(0x20, 0, 500)], raw=raw_a, logs=[log]))
    b = count_transaction(make_tx([op(0x0A, 7, 99)], raw=raw_b))
    empty = count_block([], block())
    alone_a = count_block([a], block([raw_a], [log]))
    alone_b = count_block([b], block([raw_b]))
    both = count_block([a, b], block([raw_a, raw_b], [log]))
    for name in m.ALL_MODULES:
        assert both[name] - empty[name] == (alone_a[name] - empty[name]) + (alone_b[name] - empty[name])


def test_l2_to_l1_messages_are_message_sent_logs_of_the_service():
    message = Log(SERVICE, (MESSAGE_SENT, b"\x00" * 32), b"\x01")
    assert count_block([], block(logs=[message]))["BLOCK_L2_L1_LOGS"] == 1
    assert count_block([], block(logs=[message, message]))["BLOCK_L2_L1_LOGS"] == 2
    assert count_block([], block(logs=[Log(CONTRACT, (MESSAGE_SENT,), b"")]))["BLOCK_L2_L1_LOGS"] == 0
    assert count_block([], block(logs=[Log(SERVICE, (b"\x00" * 32,), b"")]))["BLOCK_L2_L1_LOGS"] == 0
    assert count_block([], block(logs=[message], service=None))["BLOCK_L2_L1_LOGS"] == 0
    with_message = count_block([], block(logs=[message]))["BLOCK_KECCAK"]
    assert with_message == count_block([], block())["BLOCK_KECCAK"] + 1


# --- invariants ---

words = st.one_of(st.integers(0, 64), st.integers(0, 2**20), st.integers(0, 2**256 - 1))
opcodes = st.builds(
    lambda code, operands, memory_size: op(code, *operands, memory_size=memory_size),
    st.integers(0, 255),
    st.lists(words, max_size=8),
    st.integers(0, 2**16),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(opcodes, max_size=30), opcodes)
def test_counts_are_never_negative_and_grow_with_each_instruction(prefix, extra):
    before = count_transaction(make_tx(prefix))
    after = count_transaction(make_tx([*prefix, extra]))
    assert all(value >= 0 for value in before.values())
    assert all(after[name] >= before[name] for name in before)
    assert after["HUB"] > before["HUB"]  # every instruction has at least one HUB row
