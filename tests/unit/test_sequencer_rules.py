"""Linea's sequencer rules, each refusing exactly what it should, on a real in-process node.

Blocks are produced by calling the producer directly, so each test controls exactly which
transactions compete for which block.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

import pytest
from eth_utils import keccak

from linen.errors import ConfigError, TransactionRefused
from linen.execution.tracer import conflated
from linen.execution.tracer.modules import ALL_MODULES
from linen.sequencer import rules as r
from tests.unit.chainkit import make_node, signers
from tests.unit.test_rpc_support import deploy_code

GWEI = 10**9
LOOP_RUNTIME = bytes.fromhex("5b600056")  # JUMPDEST PUSH1 0 JUMP: loops until it runs out of gas


def limits_file(directory: Path, **changes: int) -> str:
    """The seed limits file with some `[traces_limits]` entries changed."""
    text = resources.files("linen.execution.tracer").joinpath("traces-limits.toml").read_text()
    regular, large = text.split("\n[traces_limits_large]\n")
    for module, value in changes.items():
        regular, n = re.subn(rf"^{module} = \d+$", f"{module} = {value}", regular, flags=re.M)
        assert n == 1, module
    path = directory / "limits.toml"
    path.write_text(regular + "\n[traces_limits_large]\n" + large)
    return str(path)


def refusal(node, raw: bytes) -> TransactionRefused:  # type: ignore[no-untyped-def]
    with pytest.raises(TransactionRefused) as info:
        node.submit_raw_transaction(raw)
    return info.value


def deploy_loop(node, signer) -> bytes:  # type: ignore[no-untyped-def]
    raw = signer.sign(data=deploy_code(LOOP_RUNTIME), gas=100_000, to=None, maxPriorityFeePerGas=GWEI)
    node.submit_raw_transaction(raw)
    block = node.producer.produce_block()
    assert block is not None and len(block.transactions) == 1
    return keccak(b"\xd6\x94" + signer.raw_address + b"\x80")[12:]  # CREATE address of nonce 0


@pytest.fixture
def accounts():
    return signers()


def test_loop_overflowing_hub_is_excluded_and_never_retried(tmp_path, accounts):
    node = make_node(tmp_path / "n", tracer__limits_file=limits_file(tmp_path, HUB=10_000))
    a, b = accounts[0], accounts[1]
    loop = deploy_loop(node, a)
    looping = a.sign(to=loop, gas=100_000)
    looping_hash = node.submit_raw_transaction(looping)
    assert node.producer.produce_block() is None  # the only candidate was refused
    excluded = node.exclusions.get(looping_hash)
    assert excluded.reason == r.TX_MODULE_LINE_COUNT_OVERFLOW and "HUB" in excluded.message
    assert node.pool.get(looping_hash) is None
    assert refusal(node, looping).reason == r.TX_MODULE_LINE_COUNT_OVERFLOW  # never tried again
    # Nothing else is refused: the same sender's nonce is free again, other senders go through.
    a.nonce -= 1
    node.submit_raw_transaction(a.sign(to=b.raw_address, value=1))
    node.submit_raw_transaction(b.sign(to=a.raw_address, value=1))
    block = node.producer.produce_block()
    assert len(block.transactions) == 2
    assert node.exclusions.get(block.transactions[0].hash) is None


def test_a_full_block_closes_and_the_rest_waits(tmp_path, accounts):
    node = make_node(tmp_path / "n", tracer__limits_file=limits_file(tmp_path, BLOCK_TRANSACTIONS=3))
    raws = [s.sign(to=accounts[9].raw_address, value=1) for s in accounts[:5]]
    for raw in raws:
        node.submit_raw_transaction(raw)
    first = node.producer.produce_block()
    second = node.producer.produce_block()
    assert [len(first.transactions), len(second.transactions)] == [3, 2]
    assert node.producer.produce_block() is None
    assert all(node.exclusions.get(t.hash) is None for t in first.transactions + second.transactions)


def test_denied_addresses_are_refused_as_sender_and_as_recipient(tmp_path, accounts):
    denied = accounts[3]
    node = make_node(tmp_path / "n", sequencer__deny_list=f"0x{'11' * 20}, {denied.address}")
    assert refusal(node, denied.sign(to=accounts[0].raw_address)).reason == r.DENIED_ADDRESS
    error = refusal(node, accounts[0].sign(to=denied.raw_address))
    assert error.reason == r.DENIED_ADDRESS and "recipient" in str(error)
    accounts[0].nonce -= 1
    node.submit_raw_transaction(accounts[0].sign(to=accounts[1].raw_address))  # everyone else is fine


def test_min_gas_price_refuses_underpriced(tmp_path, accounts):
    node = make_node(tmp_path / "n", sequencer__min_gas_price=GWEI // 10)
    error = refusal(node, accounts[0].sign(to=accounts[1].raw_address, maxFeePerGas=GWEI // 20, maxPriorityFeePerGas=1))
    assert error.reason == r.PRICE_BELOW_MIN and str(GWEI // 10) in str(error)
    node.submit_raw_transaction(accounts[1].sign(to=accounts[0].raw_address, maxFeePerGas=GWEI, maxPriorityFeePerGas=GWEI // 10))


def test_unprofitable_is_refused_at_submission(tmp_path, accounts):
    node = make_node(tmp_path / "n", sequencer__variable_cost_wei=10**11)
    # 0.5 * 1e11 wei/byte * ~110 compressed bytes / 21000 gas ~ 2.6e8 wei of tip needed.
    error = refusal(node, accounts[0].sign(to=accounts[1].raw_address, maxFeePerGas=GWEI, maxPriorityFeePerGas=10**8))
    assert error.reason == r.UNPROFITABLE and "compressed bytes" in str(error)
    node.submit_raw_transaction(accounts[1].sign(to=accounts[0].raw_address, maxFeePerGas=2 * GWEI, maxPriorityFeePerGas=GWEI))
    assert len(node.producer.produce_block().transactions) == 1


def test_unprofitable_at_selection_stays_pooled(tmp_path, accounts):
    node = make_node(tmp_path / "n", sequencer__variable_cost_wei=10**11, sequencer__tx_pool_min_margin=0.0)
    raw = accounts[0].sign(to=accounts[1].raw_address, maxFeePerGas=GWEI, maxPriorityFeePerGas=10**8)
    tx_hash = node.submit_raw_transaction(raw)  # the pool's margin is 0: admitted
    assert node.producer.produce_block() is None  # the block's margin (1.0) refuses it for now...
    assert node.pool.get(tx_hash) is not None  # ...but it waits, not excluded
    assert node.exclusions.get(tx_hash) is None


def test_calldata_and_gas_limit_caps(tmp_path, accounts):
    node = make_node(tmp_path / "n", sequencer__max_tx_calldata_size=100, sequencer__max_tx_gas_limit=50_000)
    big = refusal(node, accounts[0].sign(to=accounts[1].raw_address, data=b"\x01" * 101, gas=50_000))
    assert big.reason == r.CALLDATA_TOO_BIG
    heavy = refusal(node, accounts[1].sign(to=accounts[0].raw_address, gas=50_001))
    assert heavy.reason == r.GAS_LIMIT_TOO_BIG
    node.submit_raw_transaction(accounts[2].sign(to=accounts[0].raw_address, data=b"\x01" * 100, gas=50_000))


def test_selection_time_budget_excludes(tmp_path, accounts):
    node = make_node(tmp_path / "n", sequencer__max_tx_selection_time=0.0)
    tx_hash = node.submit_raw_transaction(accounts[0].sign(to=accounts[1].raw_address))
    assert node.producer.produce_block() is None
    assert node.exclusions.get(tx_hash).reason == r.TX_EVALUATION_TOO_LONG
    assert len(node.pool) == 0


def test_priority_senders_are_taken_first(tmp_path, accounts):
    vip = accounts[5]
    node = make_node(
        tmp_path / "n",
        sequencer__priority_senders=vip.address,
        tracer__limits_file=limits_file(tmp_path, BLOCK_TRANSACTIONS=1),
    )
    rich = node.submit_raw_transaction(accounts[0].sign(to=vip.raw_address, maxPriorityFeePerGas=GWEI))
    cheap = node.submit_raw_transaction(vip.sign(to=accounts[0].raw_address, maxPriorityFeePerGas=10**6))
    assert node.producer.produce_block().transactions[0].hash == cheap
    assert node.producer.produce_block().transactions[0].hash == rich


def test_compressed_block_size_closes_the_block(tmp_path, accounts):
    # Budget: 1624 - 1024 = 600 compressed bytes; each transaction carries 250 incompressible bytes.
    node = make_node(tmp_path / "n", sequencer__blob_size_limit=1624)
    hashes = [node.submit_raw_transaction(s.sign(to=accounts[9].raw_address, data=os.urandom(250), gas=40_000))
              for s in accounts[:3]]
    sizes = [len(node.producer.produce_block().transactions) for _ in range(3)]
    assert sizes == [1, 1, 1]
    assert all(node.exclusions.get(h) is None for h in hashes)


def test_a_transaction_bigger_than_any_block_is_excluded(tmp_path, accounts):
    node = make_node(tmp_path / "n", sequencer__blob_size_limit=1324)
    tx_hash = node.submit_raw_transaction(accounts[0].sign(to=accounts[1].raw_address, data=os.urandom(400), gas=40_000))
    assert node.producer.produce_block() is None
    assert node.exclusions.get(tx_hash).reason == r.BLOCK_COMPRESSED_SIZE_OVERFLOW


def test_block_counts_are_stored_and_conflated_file_round_trips(tmp_path, accounts):
    node = make_node(tmp_path / "n")
    loop = deploy_loop(node, accounts[0])
    node.submit_raw_transaction(accounts[1].sign(to=loop, gas=30_000))
    node.submit_raw_transaction(accounts[2].sign(to=accounts[3].raw_address, value=5))
    block = node.producer.produce_block()
    counts = conflated.block_counts(node.store, block.number)
    assert set(counts) == set(ALL_MODULES)
    assert counts["BLOCK_TRANSACTIONS"] == 2 and counts["HUB"] > 1000  # the loop ran thousands of instructions
    traces = conflated.collect(node.store, node.chain_id, 1, 2)
    decoded = conflated.decode(conflated.encode(traces))
    assert decoded == traces
    assert LOOP_RUNTIME in decoded.codes.values()  # the touched contract's bytecode is in the file
    assert decoded.total_counts["BLOCK_TRANSACTIONS"] == 3
    assert decoded.blocks[1].transactions == tuple(t.raw for t in block.transactions)
    with pytest.raises(ValueError, match="corrupt|magic"):
        conflated.decode(conflated.encode(traces)[:-10])


def test_untraced_node_seals_without_counts(tmp_path, accounts):
    node = make_node(tmp_path / "n", tracer__enabled=False)
    node.submit_raw_transaction(accounts[0].sign(to=accounts[1].raw_address))
    block = node.producer.produce_block()
    with pytest.raises(conflated.TracesUnavailable, match="without tracing"):
        conflated.block_counts(node.store, block.number)


def test_bad_limits_file_refuses_to_start(tmp_path):
    path = Path(limits_file(tmp_path))
    path.write_text(path.read_text().replace("HUB = 2097152\n", "", 1))
    with pytest.raises(ConfigError, match=r"\[traces_limits\] is missing modules: HUB"):
        make_node(tmp_path / "n", tracer__limits_file=str(path))


def test_undo_last_restores_the_block(tmp_path, accounts):
    node = make_node(tmp_path / "n")
    parent = node.store.head()
    header = node.producer.next_header(parent, parent.timestamp + 1)
    from linen.execution.transactions import decode_transaction

    builder = node.engine.begin_block(header, parent.state_root)
    builder.apply(decode_transaction(accounts[0].sign(to=accounts[1].raw_address, value=10**18), node.chain_id))
    builder.undo_last()
    sealed = builder.finish()
    assert sealed.header.state_root == parent.state_root and sealed.header.gas_used == 0
    assert sealed.transactions == []


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("HUB = 2097152\n", "HUB = 2097152\nWARP_DRIVE = 5\n", 1), "unknown modules: WARP_DRIVE"),
        (lambda t: t.replace("INSTRUCTION_DECODER = 512\n", "INSTRUCTION_DECODER = 256\n", 1), "must be 512"),
        (lambda t: t.replace("ADD = 524288\n", "ADD = -1\n", 1), "positive integer"),
        (lambda t: t.split("\n[traces_limits_large]\n")[0], r"\[traces_limits_large\] is missing"),
        (lambda t: t + "[extra]\n", "unknown sections extra"),
    ],
)
def test_limits_file_errors_name_the_problem(tmp_path, edit, message):
    from linen.execution.tracer.limits import load_trace_limits

    path = Path(limits_file(tmp_path))
    path.write_text(edit(path.read_text()))
    with pytest.raises(ConfigError, match=message):
        load_trace_limits(path)


def test_seed_limits_and_large_section():
    from linen.execution.tracer.limits import load_trace_limits

    seed = load_trace_limits()
    assert seed.regular["HUB"] == 2_097_152 and seed.large["HUB"] == 2 * 2_097_152
    assert seed.regular["BLOCK_TRANSACTIONS"] == seed.large["BLOCK_TRANSACTIONS"] == 200
    assert seed.large["PRECOMPILE_BLAKE_ROUNDS"] == 600 and seed.large["BIN_REFERENCE_TABLE"] == 262_144
    assert set(seed.regular) == set(ALL_MODULES)


def test_bad_deny_list_address_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="sequencer.deny-list"):
        make_node(tmp_path / "n", sequencer__deny_list="0x1234")
