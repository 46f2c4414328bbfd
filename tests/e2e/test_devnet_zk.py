"""The zk-only devnet end to end: `linen devnet --proofs zk`, transfers finalized on L1 by validity proofs.

On first start the devnet makes its one-party SRS, compiles and keys the circuits, deploys bb's root
verifier behind the ZkRootVerifier (proof type 1) and makes type 1 the one every finalization needs.
Then 16 plain transfers go in; the prover proves their segments and merges, the aggregation's root
proof is checked on L1 before it is sent, and `finalizeBlocks` finalizes with it: L1's state root is
the state manager's. Anything outside the provable class is refused at submission. The printed
inclusion-to-finality time is the issue's "16 transfers within 3 minutes" figure (bench/ has more).
"""

from __future__ import annotations

import time

import pytest
from web3 import Web3

from linen.devaccounts import dev_accounts
from linen.l1.artifacts import compile_contracts
from tests.e2e.devnet_support import DevnetProcess
from tests.e2e.test_devnet_finality import l2_web3, sign
from tests.helpers import ROOT

# First start (SRS, circuit keys) and the proofs take 3-6 min, more beside other tests.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]
TRANSFERS = 16


def test_zk_devnet_finalizes_transfers_with_validity_proofs(tmp_path):
    devnet = DevnetProcess(tmp_path / "devnet", block_period=2.0, extra_args=("--proofs", "zk")).start(timeout=600)
    try:
        assert devnet.info["proofs"] == "zk"
        assert devnet.info["contracts"]["l2MessageService"] is None
        assert "1" in devnet.info["contracts"]["verifiers"]
        w3 = l2_web3(devnet.l2)
        accounts = dev_accounts()
        senders = accounts[1:5]

        # outside the class: refused at submission, with the reason
        creation = sign(senders[0].private_key, 0, data=b"\x60\x00", gas=100_000)
        refused = call_error(devnet.l2, "eth_sendRawTransaction", "0x" + creation.hex())
        assert refused["data"]["reason"] == "TX_NOT_PROVABLE" and "contract creation" in refused["message"], refused

        raws = []
        for i in range(TRANSFERS):
            sender = senders[i % len(senders)]
            to = accounts[6].address if i % 2 else Web3.to_checksum_address(bytes([0xD0 + i]) * 20)
            raws.append(sign(sender.private_key, i // len(senders), to=to, value=10**15 + i))
        sent_at = time.time()
        for raw in raws:
            w3.eth.send_raw_transaction(raw)
        receipts = [w3.eth.wait_for_transaction_receipt(Web3.keccak(raw), timeout=60) for raw in raws]
        assert all(r.status == 1 and r.gasUsed == 21_000 for r in receipts)
        included_at = time.time()
        last_block = max(r.blockNumber for r in receipts)

        finalized = devnet.wait_finalized(last_block, timeout=900)
        seconds = time.time() - included_at
        print(f"\nzk devnet: {TRANSFERS} transfers in blocks {min(r.blockNumber for r in receipts)}-{last_block}, "
              f"finalized on L1 {seconds:.0f} s after inclusion ({included_at - sent_at:.1f} s to include)")
        assert devnet.l1_state_root(finalized) == devnet.zk_root(finalized)

        # every finalization went through proof type 1, the validity proof
        artifacts = compile_contracts(ROOT / ".pytest_cache" / "l1-contracts")
        l1 = Web3(Web3.HTTPProvider(devnet.l1, request_kwargs={"timeout": 30}))
        rollup = l1.eth.contract(address=devnet.info["contracts"]["rollup"], abi=artifacts["LinenRollup"].abi)
        assert rollup.functions.getRequiredProofTypes().call() == [1]
        events = rollup.events.DataFinalizedV3().get_logs(from_block=0)
        assert events and events[-1].args.endBlockNumber == finalized
        for event in events:
            tx = l1.eth.get_transaction(event.transactionHash)
            function, args = rollup.decode_function_input(tx.input)
            types = args.get("_proofTypes") or [args.get("_proofType")]
            assert list(types) == [1], (function.fn_name, types)
            receipt = l1.eth.get_transaction_receipt(event.transactionHash)
            print(f"finalization of blocks {event.args.startBlockNumber}-{event.args.endBlockNumber}: "
                  f"{receipt.gasUsed} gas ({function.fn_name})")
        assert devnet.stop() == 0
    finally:
        if devnet.proc is not None and devnet.proc.poll() is None:
            devnet.kill()
        devnet.stop_l1()


def call_error(url: str, method: str, *params) -> dict:
    from tests.helpers import rpc

    answer = rpc(url, method, list(params), timeout=30)
    assert "error" in answer, answer
    return answer["error"]

