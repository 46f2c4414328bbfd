"""Fixed-width value types with meaning (DESIGN.md convention 2).

They are NewTypes over int/bytes so they cost nothing at run time but make interfaces say what a
number or byte string is.
"""

from typing import NewType

Address = NewType("Address", bytes)  # 20 bytes
Hash32 = NewType("Hash32", bytes)  # 32 bytes
U256 = NewType("U256", int)
Wei = NewType("Wei", int)
Gas = NewType("Gas", int)
BlockNumber = NewType("BlockNumber", int)

ZERO_ADDRESS = Address(b"\x00" * 20)
ZERO_HASH32 = Hash32(b"\x00" * 32)
UINT256_MAX = 2**256 - 1
