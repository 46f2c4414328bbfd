"""The engine and producer on a real LMDB store: receipts, state diffs, opcodes, persistence."""

import pytest
from eth_utils import keccak, to_checksum_address

from linen.chain.codec import decode_state_diff, encode_state_diff
from linen.errors import InvalidTransaction
from linen.sequencer.clique import recover_signer
from tests.unit.chainkit import make_node, signers

# runtime: PUSH1 0x2a PUSH1 0x00 SSTORE STOP ; initcode returns it
RUNTIME = bytes.fromhex("602a60005500")
INITCODE = bytes.fromhex("65") + RUNTIME + bytes.fromhex("600052" "6006" "601a" "f3")


@pytest.fixture
def node(tmp_path):
    n = make_node(tmp_path / "data")
    yield n
    n.close()


def test_transfer_block_has_receipt_diff_and_clique_seal(node):
    alice, bob = signers()[:2]
    before = node.engine.get_balance(bob.raw_address, node.store.head())
    tx_hash = node.submit_raw_transaction(alice.sign(to=bob.address, value=12345))
    block = node.producer.produce_block()
    assert block is not None and block.number == 1
    assert [t.hash for t in block.transactions] == [tx_hash]
    receipt = block.receipts[0]
    assert receipt.status == 1 and receipt.gas_used == 21_000 and receipt.cumulative_gas_used == 21_000
    assert node.engine.get_balance(bob.raw_address, block.header) == before + 12345
    assert recover_signer(block.header) == node.producer.key.public_key.to_canonical_address()
    assert block.header.coinbase == node.producer.fee_recipient
    diff = node.store.state_diff(block.hash)
    sender = diff[alice.raw_address]
    assert sender.nonce == (0, 1)
    assert sender.balance[0] - sender.balance[1] == 12345 + 21_000 * receipt.effective_gas_price
    assert diff[bob.raw_address].balance == (before, before + 12345)
    assert node.store.tx_location(tx_hash) == (1, 0)
    assert len(node.pool) == 0


def test_contract_creation_records_storage_diff_and_opcodes(node):
    alice = signers()[0]
    node.submit_raw_transaction(alice.sign(to=b"", data=INITCODE, gas=100_000))
    created = node.producer.produce_block()
    contract = created.receipts[0].contract_address
    assert contract is not None
    assert node.engine.get_code(contract, created.header) == RUNTIME
    node.submit_raw_transaction(alice.sign(to=to_checksum_address(contract), gas=60_000))
    block = node.producer.produce_block()
    assert block.receipts[0].status == 1
    assert node.engine.get_storage(contract, 0, block.header) == 0x2A
    diff = node.store.state_diff(block.hash)
    assert diff[contract].storage == {0: (0, 0x2A)}
    assert diff[contract].code_hash == (keccak(RUNTIME), keccak(RUNTIME))


def test_engine_reports_executed_opcodes(node):
    alice = signers()[0]
    node.submit_raw_transaction(alice.sign(to=b"", data=INITCODE, gas=100_000))
    contract = node.producer.produce_block().receipts[0].contract_address
    head = node.store.head()
    builder = node.engine.begin_block(node.producer.next_header(head, head.timestamp + 1), head.state_root)
    from linen.execution.transactions import decode_transaction

    execution = builder.apply(decode_transaction(alice.sign(to=to_checksum_address(contract), gas=60_000), 59139))
    assert [(op.pc, op.opcode) for op in execution.opcodes] == [(0, 0x60), (2, 0x60), (4, 0x55), (5, 0x00)]
    assert all(op.depth == 0 and op.code_address == contract for op in execution.opcodes)


def test_reverting_transaction_is_included_with_failed_status(node):
    alice = signers()[0]
    # runtime that always reverts: PUSH1 0 PUSH1 0 REVERT
    reverting = bytes.fromhex("60006000fd")
    init = bytes.fromhex("64") + reverting + bytes.fromhex("600052" "6005" "601b" "f3")
    node.submit_raw_transaction(alice.sign(to=b"", data=init, gas=100_000))
    contract = node.producer.produce_block().receipts[0].contract_address
    node.submit_raw_transaction(alice.sign(to=to_checksum_address(contract), gas=50_000))
    block = node.producer.produce_block()
    assert block.receipts[0].status == 0
    assert block.receipts[0].gas_used < 50_000


def test_no_empty_blocks_unless_configured(tmp_path):
    quiet = make_node(tmp_path / "quiet")
    assert quiet.producer.produce_block() is None
    assert quiet.store.head().block_number == 0
    quiet.close()
    busy = make_node(tmp_path / "busy", sequencer__create_empty_blocks=True)
    assert busy.producer.produce_block().number == 1
    busy.close()


def test_transactions_beyond_block_gas_wait_for_the_next_block(tmp_path):
    node = make_node(tmp_path / "data")
    gas_limit = node.store.head().gas_limit
    assert gas_limit >= 21_000
    with pytest.raises(InvalidTransaction, match="exceeds block gas limit"):
        node.submit_raw_transaction(signers()[0].sign(gas=gas_limit + 1, to=signers()[1].address))
    node.close()


def test_restart_resumes_same_head_state_and_indexes(tmp_path):
    node = make_node(tmp_path / "data")
    alice, bob = signers()[:2]
    hashes = []
    for _ in range(3):
        hashes.append(node.submit_raw_transaction(alice.sign(to=bob.address, value=1)))
        node.producer.produce_block()
    head = node.store.head()
    balance = node.engine.get_balance(bob.raw_address, head)
    node.close()

    reopened = make_node(tmp_path / "data")
    assert reopened.store.head().hash == head.hash
    assert reopened.store.head().state_root == head.state_root
    assert reopened.engine.get_balance(bob.raw_address, reopened.store.head()) == balance
    assert [reopened.store.tx_location(h) for h in hashes] == [(1, 0), (2, 0), (3, 0)]
    # the chain goes on from there
    reopened.submit_raw_transaction(alice.sign(to=bob.address, value=1))
    assert reopened.producer.produce_block().number == 4
    reopened.close()


def test_state_diff_codec_round_trips(node):
    alice, bob = signers()[:2]
    node.submit_raw_transaction(alice.sign(to=bob.address, value=5))
    block = node.producer.produce_block()
    diff = node.store.state_diff(block.hash)
    assert decode_state_diff(encode_state_diff(diff)) == diff


def test_estimate_gas_and_call_report_reverts_and_overrides(node):
    from linen.errors import ExecutionReverted
    from linen.execution.engine import AccountOverride, CallRequest

    alice = signers()[0]
    reverting = bytes.fromhex("60006000fd")
    init = bytes.fromhex("64") + reverting + bytes.fromhex("600052" "6005" "601b" "f3")
    node.submit_raw_transaction(alice.sign(to=b"", data=init, gas=100_000))
    contract = node.producer.produce_block().receipts[0].contract_address
    head = node.store.head()
    request = CallRequest(sender=alice.raw_address, to=contract)
    with pytest.raises(ExecutionReverted):
        node.engine.estimate_gas(request, head, {})
    result = node.engine.call(request, head, {})
    assert not result.success and result.error == "execution reverted"
    # with the code overridden to STOP, the same call succeeds and costs the intrinsic gas
    stop = {contract: AccountOverride(code=b"\x00")}
    assert node.engine.call(request, head, stop).success
    assert node.engine.estimate_gas(request, head, stop) == 21_000
    transfer = CallRequest(sender=alice.raw_address, to=signers()[1].raw_address, value=1)
    assert node.engine.estimate_gas(transfer, head, {}) == 21_000


def test_selection_stops_at_its_share_of_the_block_period(tmp_path):
    """Past its time budget a block seals what it has; the rest of the pool waits for the next block."""
    rushed = make_node(tmp_path / "rushed", sequencer__block_period=0.001, sequencer__block_txs_selection_max_time=1)
    relaxed = make_node(tmp_path / "relaxed")
    for node in (rushed, relaxed):
        accounts = signers()  # a signer counts its nonces: one set per chain
        for sender in accounts[:5]:
            node.submit_raw_transaction(sender.sign(to=accounts[6].address, value=1))
    assert len(rushed.producer.produce_block().transactions) == 1  # a block always takes at least one
    assert len(rushed.pool) == 4
    assert len(relaxed.producer.produce_block().transactions) == 5
    rushed.close()
    relaxed.close()


@pytest.mark.parametrize("percent", [0, 101])
def test_selection_share_must_be_a_percentage(tmp_path, percent):
    from linen.errors import ConfigError

    with pytest.raises(ConfigError, match="block-txs-selection-max-time"):
        make_node(tmp_path / "bad", sequencer__block_txs_selection_max_time=percent)


def test_a_transaction_that_makes_the_evm_raise_is_dropped_for_good_and_the_block_goes_on(node, monkeypatch):
    """Before: a 49,153-byte initcode in the pool made every block attempt raise, forever (issue 13)."""
    from linen.execution import transactions

    attacker, honest = signers()[0], signers()[1]
    # submission refuses it now, so it is put in the pool directly, as if an older node had accepted it
    with monkeypatch.context() as patch:
        patch.setattr(transactions, "MAX_INITCODE_SIZE", 10**6)
        oversized = transactions.decode_transaction(attacker.sign(to=b"", data=b"\x5b" * 49_153, gas=1_000_000), 59139)
    node.pool.add(oversized)
    node.submit_raw_transaction(honest.sign(to=signers()[2].address, value=1))
    block = node.producer.produce_block()
    assert [t.hash for t in block.transactions] != [] and oversized.hash not in [t.hash for t in block.transactions]
    assert oversized.hash not in node.pool
    assert node.exclusions.get(oversized.hash).reason == "TX_UNEXECUTABLE"
    with pytest.raises(InvalidTransaction, match="max initcode size exceeded"):
        node.submit_raw_transaction(oversized.raw)


def test_calls_stop_at_their_deadline_and_the_gas_cap(node):
    from linen.errors import ExecutionTimeout
    from linen.execution.deadline import execution_deadline
    from linen.execution.engine import CallRequest

    loop = CallRequest(sender=signers()[0].raw_address, to=None, data=bytes.fromhex("5b5f56"))
    head = node.store.head()
    with execution_deadline(0.3), pytest.raises(ExecutionTimeout, match="timeout = 0.3s"):
        node.engine.estimate_gas(loop, head, {})
    # without a deadline the cap bounds it: 100k gas of the loop fails as out of gas, quickly
    result = node.engine.call(CallRequest(sender=loop.sender, to=None, data=loop.data, gas=10**18), head, {},
                              gas_cap=100_000)
    assert not result.success and result.gas_used == 100_000


def test_trace_files_stop_at_their_quota(node, monkeypatch):
    from linen.errors import LimitExceeded
    from linen.rpc import linea

    node.submit_raw_transaction(signers()[0].sign(to=signers()[1].address, value=1))
    node.producer.produce_block()
    node.submit_raw_transaction(signers()[0].sign(to=signers()[1].address, value=1, nonce=1))
    node.producer.produce_block()
    monkeypatch.setattr(linea, "MAX_TRACE_FILES", 1)
    write = linea.WRITE_METHODS["linea_generateConflatedTracesToFileV2"]
    first = write(node, [{"startBlockNumber": 1, "endBlockNumber": 1}])
    assert write(node, [{"startBlockNumber": 1, "endBlockNumber": 1}]) == first  # the same range: reused
    with pytest.raises(LimitExceeded, match="already holds 1 trace files"):
        write(node, [{"startBlockNumber": 1, "endBlockNumber": 2}])
