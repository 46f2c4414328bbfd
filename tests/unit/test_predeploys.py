"""The devnet genesis's canonical predeploys, and pre-EIP-155 transactions refused unless allowed."""

import json

import pytest
from eth_hash.auto import keccak

from linen.chain.genesis import default_devnet_genesis_document, parse_genesis
from linen.chain.predeploys import (
    CREATE2_DEPLOYER,
    CREATE2_DEPLOYER_CODE,
    MULTICALL3,
    MULTICALL3_CODE,
    SAFE_SINGLETON_FACTORY,
    SAFE_SINGLETON_FACTORY_CODE,
)
from linen.errors import InvalidTransaction
from linen.execution.transactions import decode_transaction
from linen.tools import node_modules

# Arachnid's presigned deployment of the deterministic deployment proxy (v = 27, r = s = 0x2222…: no one
# holds the key of its sender 0x3fab…2a45362, so it deploys the same code at the same address on any chain).
ARACHNID_DEPLOYMENT_TX = bytes.fromhex(
    "f8a58085174876e800830186a08080b853604580600e600039806000f350fe7fffffffffffffffffffffffffffffffffffffffff"
    "ffffffffffffffffffffffe03601600081602082378035828234f58015156039578182fd5b8082525050506014600cf31ba0222222"
    "2222222222222222222222222222222222222222222222222222222222a02222222222222222222222222222222222222222222222"
    "222222222222222222"
)
ARACHNID_DEPLOYER = "0x3fab184622dc19b6109349b94811493bf2a45362"

# The published keccak256 of each runtime code (what `cast codehash` answers on Ethereum mainnet).
PUBLISHED_CODE_HASHES = {
    CREATE2_DEPLOYER: "2fa86add0aed31f33a762c9d88e807c475bd51d0f52bd0955754b2608f7e4989",
    MULTICALL3: "d5c15df687b16f2ff992fc8d767b4216323184a2bbc6ee2f9c398c318e770891",
    SAFE_SINGLETON_FACTORY: "2fa86add0aed31f33a762c9d88e807c475bd51d0f52bd0955754b2608f7e4989",
}


def test_each_predeploy_has_its_published_code_hash():
    codes = {CREATE2_DEPLOYER: CREATE2_DEPLOYER_CODE, MULTICALL3: MULTICALL3_CODE,
             SAFE_SINGLETON_FACTORY: SAFE_SINGLETON_FACTORY_CODE}
    for address, code in codes.items():
        assert keccak(code).hex() == PUBLISHED_CODE_HASHES[address], address
    assert len(MULTICALL3_CODE) == 3808 and len(CREATE2_DEPLOYER_CODE) == 69


def test_the_devnet_genesis_holds_them():
    alloc = parse_genesis(default_devnet_genesis_document()).alloc
    for address, published in PUBLISHED_CODE_HASHES.items():
        account = alloc[bytes.fromhex(address[2:])]
        assert keccak(account.code).hex() == published
        assert account.nonce == 1 and account.balance == 0


def test_the_published_deployment_transactions_carry_that_code():
    # Arachnid's init code and Safe's (npm @safe-global/safe-singleton-factory) both copy their runtime
    # from byte 14 of the init code: 0x45 bytes (CODECOPY 0x45 from 0x0e, RETURN 0x45)
    tx = decode_transaction(ARACHNID_DEPLOYMENT_TX, 59139, allow_unprotected=True)
    init = bytes(tx.tx.data)
    assert init[:14].hex() == "604580600e600039806000f350fe" and init[14:] == CREATE2_DEPLOYER_CODE
    artefact = json.loads((node_modules() / "@safe-global/safe-singleton-factory/artifacts/1/deployment.json").read_text())
    assert artefact["address"] == SAFE_SINGLETON_FACTORY
    safe = decode_transaction(bytes.fromhex(artefact["transaction"][2:]), 1)
    assert bytes(safe.tx.data)[14:] == SAFE_SINGLETON_FACTORY_CODE


def test_pre_eip155_transactions_are_refused_unless_allowed():
    with pytest.raises(InvalidTransaction, match="only replay-protected"):
        decode_transaction(ARACHNID_DEPLOYMENT_TX, 59139)
    tx = decode_transaction(ARACHNID_DEPLOYMENT_TX, 59139, allow_unprotected=True)
    assert "0x" + tx.sender.hex() == ARACHNID_DEPLOYER
    assert tx.tx.to == b"" and tx.gas == 100_000 and tx.max_fee_per_gas == 100 * 10**9
