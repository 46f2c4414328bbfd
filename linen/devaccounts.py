"""The well-known development accounts (mnemonic `test test ... junk`, as in anvil and hardhat).

They fund the default devnet genesis; index 10 of the same mnemonic is the devnet sequencer key,
kept out of the funded ten so fee income never muddles a test account's balance. Index 11 is the
devnet operator: it deploys the L2 message service and later anchors L1 messages, funded apart for
the same reason; index 12 is the devnet prover's attestation key.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from eth_account import Account

DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_ACCOUNT_COUNT = 10
SEQUENCER_INDEX = 10
OPERATOR_INDEX = 11
PROVER_INDEX = 12


@dataclass(frozen=True)
class DevAccount:
    index: int
    address: str  # checksummed
    private_key: str  # 0x-hex


@cache
def dev_account(index: int) -> DevAccount:
    Account.enable_unaudited_hdwallet_features()
    acct = Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    return DevAccount(index, acct.address, "0x" + bytes(acct.key).hex())


def dev_accounts() -> list[DevAccount]:
    return [dev_account(i) for i in range(DEV_ACCOUNT_COUNT)]


def sequencer_dev_account() -> DevAccount:
    return dev_account(SEQUENCER_INDEX)


def operator_dev_account() -> DevAccount:
    return dev_account(OPERATOR_INDEX)


def prover_dev_account() -> DevAccount:
    return dev_account(PROVER_INDEX)
