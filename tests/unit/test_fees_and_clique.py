from eth_keys import keys

from linen.chain.types import BlockHeader
from linen.protocol.fees import next_base_fee
from linen.sequencer.clique import recover_signer, seal_hash, seal_header


def test_base_fee_follows_the_london_rule_with_a_floor():
    assert next_base_fee(1000, 50, 100) == 1000  # at target
    assert next_base_fee(1000, 100, 100) == 1125  # full block: +12.5%
    assert next_base_fee(1000, 0, 100) == 875  # empty block: -12.5%
    assert next_base_fee(8, 0, 100, min_base_fee=7) == 7  # floor
    assert next_base_fee(7, 0, 100, min_base_fee=7) == 7
    assert next_base_fee(7, 51, 100) == 8  # the increase is at least 1 wei


def test_clique_seal_recovers_the_signer_and_commits_to_the_header():
    key = keys.PrivateKey(b"\x42" * 32)
    header = BlockHeader(difficulty=2, block_number=5, gas_limit=30_000_000, timestamp=100, base_fee_per_gas=7)
    sealed = seal_header(header, b"linen", key)
    assert len(sealed.extra_data) == 32 + 65
    assert sealed.extra_data.startswith(b"linen")
    assert recover_signer(sealed) == key.public_key.to_canonical_address()
    tampered = sealed.copy(timestamp=101)
    assert recover_signer(tampered) != key.public_key.to_canonical_address()
    assert seal_hash(sealed) != sealed.hash
