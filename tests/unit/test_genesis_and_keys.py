import json

import pytest

from linen.chain.genesis import clique_extra_data, load_genesis, parse_genesis
from linen.devaccounts import dev_accounts, sequencer_dev_account
from linen.errors import ConfigError


def test_dev_accounts_are_the_anvil_and_hardhat_accounts():
    accounts = dev_accounts()
    assert len(accounts) == 10
    assert accounts[0].address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert accounts[0].private_key == "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
    assert accounts[9].address == "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"
    assert sequencer_dev_account().address not in {a.address for a in accounts}


def test_geth_style_genesis_is_parsed(tmp_path):
    signer = bytes.fromhex("11" * 20)
    doc = {
        "config": {"chainId": 1337, "clique": {"period": 5, "epoch": 30000}},
        "gasLimit": "0x1c9c380",
        "baseFeePerGas": "0x3b9aca00",
        "timestamp": "0x10",
        "extraData": "0x" + clique_extra_data([signer]).hex(),
        "alloc": {
            "2222222222222222222222222222222222222222": {"balance": "1000", "nonce": "0x2"},
            "0x3333333333333333333333333333333333333333": {
                "balance": "0x0",
                "code": "0x6001",
                "storage": {"0x01": "0x02"},
            },
        },
    }
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps(doc))
    genesis = load_genesis(path)
    assert genesis.chain_id == 1337
    assert genesis.gas_limit == 30_000_000
    assert genesis.base_fee_per_gas == 10**9
    assert genesis.clique_period == 5
    assert genesis.clique_signers == [signer]
    assert genesis.alloc[bytes.fromhex("22" * 20)].balance == 1000
    assert genesis.alloc[bytes.fromhex("22" * 20)].nonce == 2
    assert genesis.alloc[bytes.fromhex("33" * 20)].code == b"\x60\x01"
    assert genesis.alloc[bytes.fromhex("33" * 20)].storage == {1: 2}


@pytest.mark.parametrize(
    "doc, message",
    [
        ({"config": {}}, "chainId is required"),
        ({"config": {"chainId": "zz"}}, "config.chainId"),
        ({"config": {"chainId": 1}, "alloc": {"0x12": {"balance": "1"}}}, "not a 20-byte address"),
        ({"config": {"chainId": 1}, "alloc": {"0x" + "11" * 20: {"balance": "lots"}}}, "balance"),
        ([], "JSON object"),
    ],
)
def test_bad_genesis_is_refused_with_the_field_named(doc, message):
    with pytest.raises(ConfigError, match=message):
        parse_genesis(doc)


def test_missing_and_malformed_genesis_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_genesis(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_genesis(bad)
