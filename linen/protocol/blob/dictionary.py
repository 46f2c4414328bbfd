"""Building an lzss dictionary from sample data, so Linen never ships another project's dictionary.

A dictionary is a fixed prefix every stream may copy from. It pays off when it holds the byte
strings that recur across *different* blobs (function selectors with their ABI padding, common
addresses, RLP headers of typical transactions, standard contract prologues), because a reference
costs 37 bits however far back it reaches. So the builder counts substrings of several lengths
over the samples, scores each by the bits it would save over all its occurrences, and takes the
best greedily, skipping any string the dictionary already contains. The best strings go last (the
compressor's match search starts from the end), and the dictionary ends with `FE FF` so both
reference-marker bytes can always be referenced.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from linen.protocol.blob.lzss import LITERAL_COST, LONG_COST, LONG_REF, SHORT_REF

DICTIONARY_SIZE = 65536
GRAM_SIZES = (48, 24, 12, 6)
MIN_OCCURRENCES = 3
MARKERS = bytes([SHORT_REF, LONG_REF])


def _candidates(samples: list[bytes], gram: int) -> Counter[bytes]:
    counts: Counter[bytes] = Counter()
    for sample in samples:
        counts.update(sample[i : i + gram] for i in range(len(sample) - gram + 1))
    return counts


def build_dictionary(samples: Iterable[bytes], size: int = DICTIONARY_SIZE) -> bytes:
    """A `size`-byte dictionary (ending with FE FF) of the most valuable substrings of `samples`.

    Deterministic for the same samples. When the samples do not yield enough repeated strings, the
    rest is filled with the samples' own bytes (most recent last), which is still better than zeros.
    """
    if size < len(MARKERS):
        raise ValueError(f"a dictionary needs at least {len(MARKERS)} bytes")
    corpus = [bytes(s) for s in samples if s]
    budget = size - len(MARKERS)
    scored: list[tuple[int, bytes]] = []
    for gram in GRAM_SIZES:
        saving = LITERAL_COST * gram - LONG_COST
        for text, count in _candidates(corpus, gram).items():
            if count >= MIN_OCCURRENCES:
                scored.append((count * saving, text))
    scored.sort(key=lambda item: (-item[0], item[1]))

    chosen: list[bytes] = []
    used = 0
    contained: set[bytes] = set()  # every gram-sized substring of a chosen string
    for _, text in scored:
        if used >= budget:
            break
        if text in contained:
            continue
        text = text[: budget - used]
        chosen.append(text)
        used += len(text)
        for gram in GRAM_SIZES:
            contained.update(text[i : i + gram] for i in range(len(text) - gram + 1))
    if used < budget:
        filler = b"".join(corpus)[-(budget - used) :] if corpus else b""
        chosen.append(bytes(budget - used - len(filler)) + filler)
    # most valuable last, nearest the data the compressor searches backwards from
    return b"".join(reversed(chosen)) + MARKERS
