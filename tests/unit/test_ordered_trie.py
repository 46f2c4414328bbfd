from eth.db.trie import make_trie_root_and_nodes
from hypothesis import given, settings
from hypothesis import strategies as st

from linen.primitives.ordered_trie import BLANK_ROOT, ordered_trie_root


class _Item:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def encode(self) -> bytes:
        return self.data


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=80), min_size=0, max_size=300))
def test_matches_py_evm_hexary_trie(values):
    expected, _ = make_trie_root_and_nodes(tuple(_Item(v) for v in values))
    assert ordered_trie_root(values) == expected


def test_empty_and_known_sizes():
    assert ordered_trie_root([]) == BLANK_ROOT
    for n in (1, 2, 16, 127, 128, 129, 300, 1000):
        values = [i.to_bytes(4, "big") * 10 for i in range(n)]
        expected, _ = make_trie_root_and_nodes(tuple(_Item(v) for v in values))
        assert ordered_trie_root(values) == expected
