"""Fixtures of the contract tests: one compile, one warmed-up anvil as L1 and a plain one as L2.

Both anvils live for the whole session (the L1 warm-up, anvil loading its KZG setup, costs seconds);
every test module deploys its own fresh contracts on them, so modules do not share contract state.
"""

from __future__ import annotations

import pytest
from web3 import Web3

from linen.l1.anvil import launch_anvil, warm_up_blobs
from linen.l1.artifacts import compile_contracts
from tests.helpers import ROOT


@pytest.fixture(scope="session")
def artifacts():
    return compile_contracts(ROOT / ".pytest_cache" / "l1-contracts")


@pytest.fixture(scope="session")
def l1():
    launched = launch_anvil(None)
    try:
        warm_up_blobs(launched.url)
        yield launched
    finally:
        launched.stop()


@pytest.fixture(scope="session")
def l2():
    launched = launch_anvil(None, chain_id=59139)
    yield launched
    launched.stop()


@pytest.fixture(scope="session")
def l1_w3(l1):
    return Web3(Web3.HTTPProvider(l1.url, request_kwargs={"timeout": 60}))


@pytest.fixture(scope="session")
def l2_w3(l2):
    return Web3(Web3.HTTPProvider(l2.url, request_kwargs={"timeout": 60}))


@pytest.fixture
def l1_snapshot(l1_w3):
    """Undo whatever a test does to the L1 (including time travel) when it ends."""
    snapshot = l1_w3.provider.make_request("evm_snapshot", [])["result"]
    yield
    l1_w3.provider.make_request("evm_revert", [snapshot])


@pytest.fixture(scope="session")
def test_artifacts():
    """Test-only contracts (a message receiver), compiled like the real ones."""
    return compile_contracts(ROOT / ".pytest_cache" / "l1-contracts", ROOT / "tests" / "l1" / "contracts")
