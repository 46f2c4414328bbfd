"""Formatting helpers checked against independent encoders: block RLP size, receipt blooms, revert data."""

from __future__ import annotations

import rlp
from eth_abi import encode
from hypothesis import given
from hypothesis import strategies as st
from test_rpc_support import standard_chain

from linen.execution.revert import revert_reason
from linen.rpc.format import block_size, format_block, format_block_receipts, logs_bloom


def test_block_size_is_the_exact_geth_block_rlp_length(tmp_path):
    chain, info = standard_chain(tmp_path / "db")
    for block in (info["block1"], info["block2"]):
        # geth's block encoding: [header, txs (legacy as lists, typed as byte strings), uncles, withdrawals]
        txs = [rlp.decode(tx.raw) if tx.type == 0 else tx.raw for tx in block.transactions]
        full = rlp.encode([rlp.decode(rlp.encode(block.header)), txs, [], []])
        assert block_size(block.header, block.transactions) == len(full)
    genesis = chain.store.header_by_number(0)
    assert block_size(genesis, ()) == len(rlp.encode([rlp.decode(rlp.encode(genesis)), [], [], []]))


def test_receipt_blooms_or_together_into_the_header_bloom(tmp_path):
    _, info = standard_chain(tmp_path / "db")
    for block in (info["block1"], info["block2"]):
        combined = 0
        for receipt in format_block_receipts(block.header, block.transactions, block.receipts):
            combined |= int(receipt["logsBloom"], 16)
        assert combined == block.header.bloom
        assert logs_bloom(()) == 0


def test_block_object_has_every_geth_field(tmp_path):
    _, info = standard_chain(tmp_path / "db")
    block = format_block(info["block1"].header, info["block1"].transactions, full=False)
    expected = {
        "number", "hash", "parentHash", "nonce", "sha3Uncles", "logsBloom", "transactionsRoot", "stateRoot",
        "receiptsRoot", "miner", "difficulty", "extraData", "size", "gasLimit", "gasUsed", "timestamp",
        "transactions", "uncles", "baseFeePerGas", "withdrawals", "withdrawalsRoot", "blobGasUsed",
        "excessBlobGas", "parentBeaconBlockRoot", "requestsHash", "mixHash",
    }  # fmt: skip
    assert expected <= set(block)
    assert len(block["logsBloom"]) == 2 + 512
    assert len(block["nonce"]) == 2 + 16


@given(st.text(max_size=200))
def test_revert_reason_decodes_error_string(reason):
    data = bytes.fromhex("08c379a0") + encode(["string"], [reason])
    assert revert_reason(data) == reason


def test_revert_reason_panics_and_garbage():
    assert revert_reason(bytes.fromhex("4e487b71") + (0x11).to_bytes(32, "big")) == "arithmetic underflow or overflow"
    assert revert_reason(bytes.fromhex("4e487b71") + (0x99).to_bytes(32, "big")) == "unknown panic code: 0x99"
    assert revert_reason(b"") is None
    assert revert_reason(bytes.fromhex("08c379a0") + b"\xff" * 64) is None  # offset points far away
    assert revert_reason(bytes.fromhex("deadbeef") + b"\x00" * 64) is None


@given(st.binary(max_size=300))
def test_revert_reason_never_raises(data):
    revert_reason(bytes.fromhex("08c379a0") + data)
    revert_reason(data)
