"""`linen devnet --proofs zk --prover-workers 2`: trees proven by a proof network of worker processes.

The devnet runs `linen prover network` and two `linen prover worker` processes; devnet.json names the
network's URL as prover.coordinator, and a worker started by hand joins it. Mid-proof the test kills
a worker and then the network itself with SIGKILL at seeded random points; the devnet starts new ones
(the network on the same ports, its store keeping every proof), and L1 finality goes on to the last
block.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
from web3 import Web3

from linen.devaccounts import dev_accounts
from linen.rpc.client import RpcClient, RpcUnreachable
from tests.e2e.devnet_support import DevnetProcess
from tests.e2e.test_devnet_finality import l2_web3, sign

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]
TRANSFERS = 24


def pids(pattern: str) -> list[int]:
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()
    return [int(p) for p in found if int(p) != os.getpid()]


def test_a_proof_network_proves_the_devnet_through_kills(tmp_path):
    data = tmp_path / "devnet"
    devnet = DevnetProcess(data, block_period=2.0,
                           extra_args=("--proofs", "zk", "--prover-workers", "2")).start(timeout=900)
    hand = None
    try:
        url = devnet.info["prover"]["coordinator"]
        status = RpcClient(url).call("prover_status", {})
        assert status["protocol"] == "linen-prover/1"
        hand = subprocess.Popen([sys.executable, "-m", "linen.cli", "prover", "worker", "--coordinator", url,
                                 "--zk-dir", str(data / "zk"), "--threads", "1", "--name", "by-hand"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + 120
        while RpcClient(url).call("prover_status", {})["workers"] < 3 and time.monotonic() < deadline:
            time.sleep(1)
        assert RpcClient(url).call("prover_status", {})["workers"] >= 3  # the hand-started worker joined

        w3 = l2_web3(devnet.l2)
        accounts = dev_accounts()
        senders = accounts[1:5]
        raws = [sign(senders[i % 4].private_key, i // 4, to=Web3.to_checksum_address(bytes([0xE0 + i]) * 20),
                     value=10**15 + i) for i in range(TRANSFERS)]
        for raw in raws[: TRANSFERS // 2]:
            w3.eth.send_raw_transaction(raw)
        time.sleep(5)  # a second batch of blocks
        for raw in raws[TRANSFERS // 2:]:
            w3.eth.send_raw_transaction(raw)
        receipts = [w3.eth.wait_for_transaction_receipt(Web3.keccak(raw), timeout=120) for raw in raws]
        last_block = max(r.blockNumber for r in receipts)

        rng = random.Random(16)
        time.sleep(rng.uniform(20, 60))
        workers = pids(f"devnet-worker-.*{data / 'zk'}")
        assert workers, "no devnet worker process found"
        os.kill(rng.choice(workers), signal.SIGKILL)
        time.sleep(rng.uniform(10, 40))
        network = pids(f"prover network --store {data / 'prover-network'}")
        assert len(network) == 1, network
        os.kill(network[0], signal.SIGKILL)

        finalized = devnet.wait_finalized(last_block, timeout=1500)
        assert devnet.l1_state_root(finalized) == devnet.zk_root(finalized)
        assert pids(f"prover network --store {data / 'prover-network'}"), "the devnet did not restart the network"
        later = RpcClient(url)
        try:
            print("\nproof network after the kills:", later.call("prover_status", {}))
        except RpcUnreachable:
            pass
        assert devnet.stop() == 0
    finally:
        if hand is not None:
            hand.send_signal(signal.SIGTERM)
            try:
                out, _ = hand.communicate(timeout=30)
                print("hand-started worker:", out.strip()[-300:])
            except subprocess.TimeoutExpired:
                hand.kill()
        if devnet.proc is not None and devnet.proc.poll() is None:
            devnet.kill()
