"""The errors a blob can raise while being read, built or checked.

Blob bytes arrive from other machines (a coordinator's request file, a blob fetched from L1), so every
way they can be wrong must end in one expected rejection that names what is wrong, never an
IndexError from deep inside a decoder: the prover refuses the job and the service keeps running.
"""

from __future__ import annotations

from linen.protocol.words import InvalidProtocolInput


class InvalidBlob(InvalidProtocolInput):
    """Blob bytes (packing, header, lzss stream or block encoding) that do not follow blob v1."""


class BlobTooLarge(InvalidProtocolInput):
    """Data that cannot fit in one blob, or that an encoder's fixed-width fields cannot hold."""
