"""The bad transactions of `linen bench hostile`: a table of named cases, each a raw envelope to send.

Every envelope is built by hand (RLP of the fields, signed with coincurve) so that each field can be
wrong in exactly one way: a high-s signature, a y-parity of 2, a nonce of 2**64, a type byte nobody
knows. `CASES` lists them as `(name, expect, build)`: `expect` is what a correct node does with it
("refuse", "accept", or "any" where either is defensible), `build(ctx)` returns the `eth_sendRawTransaction` parameter (usually 0x-hex).
A few cases are scenarios (replay, replacement): `build` sends the first transaction itself through
`ctx.send` and returns the second. The cases that hurt the node the most (the oversize initcode, the
looping creation) come last, so that the rest are measured on a healthy node.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import coincurve
import rlp
from eth_hash.auto import keccak

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
TIP = 10**8  # 0.1 gwei; base fee sits at its 7 wei floor
MAX_FEE = 10**9
DEAD = bytes.fromhex("000000000000000000000000000000000000dead")
LOOP_CODE = bytes.fromhex("5b5f56")  # JUMPDEST PUSH0 JUMP: jumps to 0 until the gas runs out
INITCODE_LIMIT = 49_152  # EIP-3860: 2 * 24,576
Raw = Any  # the eth_sendRawTransaction parameter: usually a 0x-hex string


def be(value: int) -> bytes:
    """A canonical RLP integer (big-endian, no leading zeros, zero is empty)."""
    return b"" if value == 0 else value.to_bytes((value.bit_length() + 7) // 8, "big")


def hx(data: bytes) -> str:
    return "0x" + data.hex()


class Key:
    """A secp256k1 key that signs any digest, returning (y parity, r, s) with low s (as wallets do)."""

    def __init__(self, private_key: bytes) -> None:
        self._key = coincurve.PrivateKey(private_key)
        self.address = keccak(self._key.public_key.format(compressed=False)[1:])[12:]

    @classmethod
    def from_hex(cls, private_key: str) -> Key:
        return cls(bytes.fromhex(private_key.removeprefix("0x")))

    def sign(self, digest: bytes) -> tuple[int, int, int]:
        sig = self._key.sign_recoverable(digest, hasher=None)
        return sig[64], int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big")


SigEdit = Callable[[int, int, int], tuple[Any, Any, Any]]


def _sig_fields(values: tuple[Any, Any, Any]) -> list[bytes]:
    return [be(v) if isinstance(v, int) else v for v in values]


def typed(tx_type: int, fields: list, key: Key, edit: SigEdit | None = None) -> bytes:
    """A typed envelope: type byte + rlp(fields + [y, r, s]), signed over type byte + rlp(fields)."""
    y, r, s = key.sign(keccak(bytes([tx_type]) + rlp.encode(fields)))
    sig = edit(y, r, s) if edit else (y, r, s)
    return bytes([tx_type]) + rlp.encode(fields + _sig_fields(sig))


def legacy(fields: list, key: Key, chain_id: int | None, edit: SigEdit | None = None) -> bytes:
    """A legacy transaction; EIP-155 (v = 35 + 2·chain + y) unless chain_id is None (v = 27 + y)."""
    unsigned = fields + ([be(chain_id), b"", b""] if chain_id is not None else [])
    y, r, s = key.sign(keccak(rlp.encode(unsigned)))
    v = 27 + y if chain_id is None else 35 + 2 * chain_id + y
    sig = edit(v, r, s) if edit else (v, r, s)
    return rlp.encode(fields + _sig_fields(sig))


def high_s(y: int, r: int, s: int) -> tuple[int, int, int]:
    return 1 - y, r, SECP256K1_N - s


@dataclass
class Ctx:
    """What the cases need: the chain, the keys, and a way to talk to the node."""

    chain_id: int
    key: Key  # funded: most cases are signed by it
    scenario_key: Key  # funded: replays and replacements, so their nonces do not mix with the rest
    heavy_key: Key  # funded: the cases that may halt the chain
    unfunded: Key
    send: Callable[[Raw], dict]  # eth_sendRawTransaction -> the whole JSON-RPC reply (or {"outcome": ...})
    nonce_of: Callable[[bytes], int]  # the sender's pending nonce
    wait_receipt: Callable[[str, float], dict | None]

    def nonce(self, key: Key | None = None) -> int:
        return self.nonce_of((key or self.key).address)

    def t2(self, key: Key | None = None, *, nonce: int | None = None, tip: int = TIP, max_fee: int = MAX_FEE,
           gas: int = 21_000, to: bytes = DEAD, value: int = 1, data: bytes = b"", access: list | None = None,
           chain_id: int | None = None, edit: SigEdit | None = None) -> bytes:
        key = key or self.key
        fields = [be(self.chain_id if chain_id is None else chain_id), be(self.nonce(key) if nonce is None else nonce),
                  be(tip), be(max_fee), be(gas), to, be(value), data, access or []]
        return typed(2, fields, key, edit)

    def t0(self, *, nonce: int | None = None, gas_price: int = MAX_FEE, gas: int = 21_000, to: bytes = DEAD,
           value: int = 1, data: bytes = b"", chain_id: int | None | str = "own", edit: SigEdit | None = None) -> bytes:
        fields = [be(self.nonce() if nonce is None else nonce), be(gas_price), be(gas), to, be(value), data]
        return legacy(fields, self.key, self.chain_id if chain_id == "own" else chain_id, edit)  # type: ignore[arg-type]

    def t1(self, *, access: list, gas: int = 100_000) -> bytes:
        fields = [be(self.chain_id), be(self.nonce()), be(MAX_FEE), be(gas), DEAD, be(1), b"", access]
        return typed(1, fields, self.key)

    def t4(self, auths: list, *, to: bytes = DEAD, gas: int = 100_000) -> bytes:
        fields = [be(self.chain_id), be(self.nonce()), be(TIP), be(MAX_FEE), be(gas), to, be(0), b"", [], auths]
        return typed(4, fields, self.key)

    def auth(self, *, chain_id: int | None = None, address: bytes = DEAD, nonce: int = 0,
             edit: SigEdit | None = None) -> list:
        """An EIP-7702 authorization [chain, address, nonce, y, r, s], signed by the unfunded key."""
        chain = self.chain_id if chain_id is None else chain_id
        y, r, s = self.unfunded.sign(keccak(b"\x05" + rlp.encode([be(chain), address, be(nonce)])))
        return [be(chain), address, be(nonce), *_sig_fields(edit(y, r, s) if edit else (y, r, s))]


def _replace_field(raw: bytes, index: int, value: Any) -> bytes:
    """A typed envelope with one (signed) field replaced: the signature no longer matches."""
    fields = rlp.decode(raw[1:])
    fields[index] = value
    return raw[:1] + rlp.encode(fields)


def _replay(ctx: Ctx) -> Raw:
    raw = hx(ctx.t2(ctx.scenario_key))
    reply = ctx.send(raw)
    if isinstance(reply.get("result"), str):
        ctx.wait_receipt(reply["result"], 8.0)
    return raw


def _already_known(ctx: Ctx) -> Raw:
    raw = hx(ctx.t2(ctx.scenario_key, nonce=ctx.nonce(ctx.scenario_key) + 1))  # queued behind a gap: stays pooled
    ctx.send(raw)
    return raw


def _replacement(bump_percent: int) -> Callable[[Ctx], Raw]:
    def build(ctx: Ctx) -> Raw:
        nonce = ctx.nonce(ctx.scenario_key) + 3  # queued, so it is still there to be replaced
        ctx.send(hx(ctx.t2(ctx.scenario_key, nonce=nonce, tip=TIP, max_fee=MAX_FEE)))
        factor = 100 + bump_percent
        return hx(ctx.t2(ctx.scenario_key, nonce=nonce, tip=TIP * factor // 100, max_fee=MAX_FEE * factor // 100,
                         value=2))

    return build


def _nonce_too_low(ctx: Ctx) -> Raw:
    nonce = ctx.nonce(ctx.scenario_key)
    if nonce == 0:  # make one included transaction first
        reply = ctx.send(hx(ctx.t2(ctx.scenario_key)))
        if isinstance(reply.get("result"), str):
            ctx.wait_receipt(reply["result"], 8.0)
        nonce = ctx.nonce(ctx.scenario_key)
    return hx(ctx.t2(ctx.scenario_key, nonce=max(nonce - 1, 0), value=3))


def _trailing(ctx: Ctx) -> Raw:
    return hx(ctx.t2() + b"\x00")


def _legacy_fields(ctx: Ctx, count: int) -> Raw:
    fields = [be(ctx.nonce()), be(MAX_FEE), be(21_000), DEAD, be(1), b"", be(0x1B), be(1), be(1), b"", b""][:count]
    return hx(rlp.encode(fields))


def _wrapped_in_rlp_string(ctx: Ctx) -> Raw:
    return hx(rlp.encode(ctx.t2()))  # the devp2p encoding of a typed tx, not the RPC one


def _blob(ctx: Ctx, wrapper: bool = False) -> Raw:
    fields = [be(ctx.chain_id), be(ctx.nonce()), be(TIP), be(MAX_FEE), be(21_000), DEAD, be(0), b"", [],
              be(1), [b"\x01" + os.urandom(31)]]
    raw = typed(3, fields, ctx.key)
    if not wrapper:
        return hx(raw)
    body = rlp.decode(raw[1:])
    blob, commitment, proof = b"\x00" * 131_072, b"\xc0" + b"\x00" * 47, b"\xc0" + b"\x00" * 47
    return hx(b"\x03" + rlp.encode([body, [blob], [commitment], [proof]]))  # 131 KB: also over the size limit


def _nested_list_prefix(depth: int) -> bytes:
    """`depth` nested RLP lists, built from the inside out without recursion."""
    encoded = b"\xc0"
    for _ in range(depth):
        n = len(encoded)
        encoded = (bytes([0xC0 + n]) if n < 56 else bytes([0xF7 + len(be(n))]) + be(n)) + encoded
    return encoded


def _data_as_list(ctx: Ctx) -> Raw:
    fields = [be(ctx.chain_id), be(ctx.nonce()), be(TIP), be(MAX_FEE), be(21_000), DEAD, be(1), [b"\x01", b"\x02"], []]
    return hx(typed(2, fields, ctx.key))


def _non_canonical_int(ctx: Ctx) -> Raw:
    fields = [be(ctx.chain_id), b"\x00" + be(ctx.nonce() or 1), be(TIP), be(MAX_FEE), be(21_000), DEAD, be(1), b"", []]
    return hx(typed(2, fields, ctx.key))


def _field(ctx: Ctx, index: int, value: bytes) -> Raw:
    fields = [be(ctx.chain_id), be(ctx.nonce()), be(TIP), be(MAX_FEE), be(21_000), DEAD, be(1), b"", []]
    fields[index] = value
    return hx(typed(2, fields, ctx.key))


def _random_signature(ctx: Ctx) -> Raw:
    fields = [be(ctx.chain_id), be(ctx.nonce()), be(TIP), be(MAX_FEE), be(21_000), DEAD, be(1), b"", []]
    r, s = int.from_bytes(os.urandom(32), "big") % SECP256K1_N, int.from_bytes(os.urandom(31), "big")
    return hx(b"\x02" + rlp.encode(fields + [b"", be(r), be(s)]))


def _tampered(ctx: Ctx) -> Raw:
    return hx(_replace_field(ctx.t2(), 6, be(10**18)))  # value changed after signing: recovers another sender


def _unfunded(ctx: Ctx) -> Raw:
    return hx(ctx.t2(ctx.unfunded, nonce=0))


def _balance_exact(ctx: Ctx) -> Raw:
    return hx(ctx.t2(value=10_000 * 10**18 - 21_000 * MAX_FEE + 1))  # dev accounts start with 10,000 ETH


def _initcode(size: int, gas: int = 20_000_000) -> Callable[[Ctx], Raw]:
    return lambda ctx: hx(ctx.t2(ctx.heavy_key, gas=gas, to=b"", value=0, data=b"\x00" * size))


def _looping_creation(ctx: Ctx) -> Raw:
    return hx(ctx.t2(ctx.heavy_key, gas=24_000_000, to=b"", value=0, data=LOOP_CODE))


def _looping_call_to_empty(ctx: Ctx) -> Raw:
    # not the heavy key: its looping creation may be dropped, leaving its next nonce unexecutable
    return hx(ctx.t2(ctx.key, gas=24_000_000, to=DEAD, value=0, data=LOOP_CODE))


def _big_access_list(ctx: Ctx) -> Raw:
    entries = [[os.urandom(20), [os.urandom(32) for _ in range(4)]] for _ in range(300)]
    return hx(ctx.t1(access=entries, gas=300 * (2_400 + 4 * 1_900) + 30_000))


CaseBuild = Callable[[Ctx], Raw]
CASES: list[tuple[str, str, CaseBuild]] = [
    # -- not a transaction at all -----------------------------------------------------------------
    ("empty 0x", "refuse", lambda ctx: "0x"),
    ("not hex", "refuse", lambda ctx: "0xzz12"),
    ("odd-length hex", "refuse", lambda ctx: "0x123"),
    ("hex without 0x", "refuse", lambda ctx: ctx.t2().hex()),
    ("a number instead of a string", "refuse", lambda ctx: 12345),
    ("an object instead of a string", "refuse", lambda ctx: {"raw": hx(ctx.t2())}),
    ("null", "refuse", lambda ctx: None),
    ("malformed rlp", "refuse", lambda ctx: "0xf8ff0102"),
    ("typed envelope with an empty list", "refuse", lambda ctx: "0x02c0"),
    ("type byte only", "refuse", lambda ctx: "0x02"),
    ("rlp length prefix claiming 4 GB", "refuse", lambda ctx: "0xfbffffffff" + "00" * 16),
    ("nested rlp lists 10,000 deep", "refuse", lambda ctx: hx(b"\x02" + _nested_list_prefix(10_000))),
    ("nested rlp lists 30,000 deep (98 KB, under the size limit)", "refuse",
     lambda ctx: hx(b"\x02" + _nested_list_prefix(30_000))),
    ("random 200 bytes", "refuse", lambda ctx: hx(os.urandom(200))),
    ("legacy with 6 fields", "refuse", lambda ctx: _legacy_fields(ctx, 6)),
    ("legacy with 11 fields", "refuse", lambda ctx: _legacy_fields(ctx, 11)),
    ("trailing byte after a valid tx", "refuse", _trailing),
    ("typed tx wrapped in an rlp string (devp2p form)", "refuse", _wrapped_in_rlp_string),
    ("unknown type byte 0x05", "refuse", lambda ctx: hx(b"\x05" + ctx.t2()[1:])),
    ("type byte 0x7e (OP deposit)", "refuse", lambda ctx: hx(b"\x7e" + ctx.t2()[1:])),
    ("type byte 0x7f", "refuse", lambda ctx: hx(b"\x7f" + ctx.t2()[1:])),
    ("type-2 fields under type byte 1", "refuse", lambda ctx: hx(b"\x01" + ctx.t2()[1:])),
    ("blob tx (type 3)", "refuse", _blob),
    ("blob tx in network form with a 128 KiB blob", "refuse", lambda ctx: _blob(ctx, wrapper=True)),
    ("data field is a list", "refuse", _data_as_list),
    ("integer with a leading zero byte (non-canonical)", "refuse", _non_canonical_int),
    ("nonce 2**64 (over uint64)", "refuse", lambda ctx: _field(ctx, 1, be(2**64))),
    ("value of 33 bytes", "refuse", lambda ctx: _field(ctx, 6, b"\x01" * 33)),
    ("gas 2**64", "refuse", lambda ctx: _field(ctx, 4, be(2**64))),
    ("recipient of 19 bytes", "refuse", lambda ctx: _field(ctx, 5, b"\x11" * 19)),
    ("recipient of 21 bytes", "refuse", lambda ctx: _field(ctx, 5, b"\x11" * 21)),
    # -- chain id ----------------------------------------------------------------------------------
    ("wrong chain id (1)", "refuse", lambda ctx: hx(ctx.t2(chain_id=1))),
    ("chain id 0", "refuse", lambda ctx: hx(ctx.t2(chain_id=0))),
    ("chain id 2**256-1", "refuse", lambda ctx: hx(ctx.t2(chain_id=2**256 - 1))),
    ("legacy without chain id (v=27, pre-EIP-155)", "refuse", lambda ctx: hx(ctx.t0(chain_id=None))),
    ("legacy for chain 1", "refuse", lambda ctx: hx(ctx.t0(chain_id=1))),
    # -- signatures --------------------------------------------------------------------------------
    ("high-s signature", "refuse", lambda ctx: hx(ctx.t2(edit=high_s))),
    ("r = 0", "refuse", lambda ctx: hx(ctx.t2(edit=lambda y, r, s: (y, 0, s)))),
    ("s = 0", "refuse", lambda ctx: hx(ctx.t2(edit=lambda y, r, s: (y, r, 0)))),
    ("r = secp256k1 n", "refuse", lambda ctx: hx(ctx.t2(edit=lambda y, r, s: (y, SECP256K1_N, s)))),
    ("r = 2**256-1", "refuse", lambda ctx: hx(ctx.t2(edit=lambda y, r, s: (y, 2**256 - 1, s)))),
    ("r of 33 bytes", "refuse", lambda ctx: hx(ctx.t2(edit=lambda y, r, s: (y, b"\x01" * 33, s)))),
    ("y parity 2", "refuse", lambda ctx: hx(ctx.t2(edit=lambda y, r, s: (2, r, s)))),
    ("y parity 27 in a typed tx", "refuse", lambda ctx: hx(ctx.t2(edit=lambda y, r, s: (27 + y, r, s)))),
    ("legacy v = 0", "refuse", lambda ctx: hx(ctx.t0(edit=lambda v, r, s: (0, r, s)))),
    ("legacy v = 2**64", "refuse", lambda ctx: hx(ctx.t0(edit=lambda v, r, s: (2**64, r, s)))),
    ("random r and s", "refuse", _random_signature),
    ("value changed after signing", "refuse", _tampered),
    ("signature missing", "refuse", lambda ctx: hx(b"\x02" + rlp.encode(rlp.decode(ctx.t2()[1:])[:9]))),
    # -- nonces --------------------------------------------------------------------------------------
    ("nonce gap beyond the pool limit (+1000)", "refuse", lambda ctx: hx(ctx.t2(nonce=ctx.nonce() + 1000))),
    ("nonce 2**64-1", "refuse", lambda ctx: hx(ctx.t2(nonce=2**64 - 1))),
    ("nonce too low (already used)", "refuse", _nonce_too_low),
    ("replay of an included tx", "refuse", _replay),
    ("the same pooled tx again (already known)", "refuse", _already_known),
    ("replacement underpriced (+5%)", "refuse", _replacement(5)),
    ("replacement with a 10% bump", "accept", _replacement(10)),
    ("nonce gap within the pool limit (+5, queued)", "accept", lambda ctx: hx(ctx.t2(nonce=ctx.nonce() + 5))),
    # -- gas -----------------------------------------------------------------------------------------
    ("gas 0", "refuse", lambda ctx: hx(ctx.t2(gas=0))),
    ("gas below intrinsic (20,999)", "refuse", lambda ctx: hx(ctx.t2(gas=20_999))),
    ("gas below intrinsic for 1,000 calldata bytes", "refuse",
     lambda ctx: hx(ctx.t2(gas=21_000, data=b"\xff" * 1000))),
    ("creation below intrinsic (53,000 - 1)", "refuse", lambda ctx: hx(ctx.t2(gas=52_999, to=b"", data=b""))),
    ("gas over the block limit (3e9)", "refuse", lambda ctx: hx(ctx.t2(gas=3_000_000_000))),
    ("gas over max-tx-gas-limit (24M + 1)", "refuse", lambda ctx: hx(ctx.t2(gas=24_000_001))),
    ("gas 2**63", "refuse", lambda ctx: hx(ctx.t2(gas=2**63))),
    # -- fees ----------------------------------------------------------------------------------------
    ("fee cap below the base fee (1 wei)", "refuse", lambda ctx: hx(ctx.t2(max_fee=1, tip=1))),
    ("fee cap 0", "refuse", lambda ctx: hx(ctx.t2(max_fee=0, tip=0))),
    ("tip above the fee cap", "refuse", lambda ctx: hx(ctx.t2(max_fee=10**9, tip=10**9 + 1))),
    ("tip 0 (pays only the base fee)", "any", lambda ctx: hx(ctx.t2(tip=0))),  # Linea's rule prices the whole fee
    ("legacy gas price 0", "refuse", lambda ctx: hx(ctx.t0(gas_price=0))),
    ("fee cap 2**256-1 (cost overflows)", "refuse", lambda ctx: hx(ctx.t2(max_fee=2**256 - 1, tip=1))),
    ("legacy gas price 2**255", "refuse", lambda ctx: hx(ctx.t0(gas_price=2**255))),
    # -- balances --------------------------------------------------------------------------------------
    ("value 10**30 (insufficient funds)", "refuse", lambda ctx: hx(ctx.t2(value=10**30))),
    ("value 2**256-1", "refuse", lambda ctx: hx(ctx.t2(value=2**256 - 1))),
    ("unfunded sender", "refuse", _unfunded),
    ("whole balance as value (no room for gas)", "refuse", _balance_exact),
    # -- sizes ---------------------------------------------------------------------------------------
    ("130 KB of calldata (over the 128 KiB tx size)", "refuse",
     lambda ctx: hx(ctx.t2(gas=23_000_000, data=b"\x01" * (130 * 1024)))),
    ("60,001 calldata bytes (over max-tx-calldata-size)", "refuse",
     lambda ctx: hx(ctx.t2(gas=2_000_000, data=b"\x00" * 60_001))),
    ("access list with a 31-byte storage key", "refuse", lambda ctx: hx(ctx.t1(access=[[DEAD, [b"\x01" * 31]]]))),
    ("access list with a 19-byte address", "refuse", lambda ctx: hx(ctx.t1(access=[[b"\x01" * 19, []]]))),
    ("access list entry of 3 items", "refuse", lambda ctx: hx(ctx.t1(access=[[DEAD, [], b""]]))),
    ("access list of 300 addresses x 4 keys", "accept", _big_access_list),
    # -- EIP-7702 (type 4) ----------------------------------------------------------------------------
    ("set-code with an empty authorization list", "refuse", lambda ctx: hx(ctx.t4([]))),
    ("set-code creating a contract", "refuse", lambda ctx: hx(ctx.t4([ctx.auth()], to=b""))),
    ("authorization of 5 items", "refuse", lambda ctx: hx(ctx.t4([ctx.auth()[:5]]))),
    ("authorization address of 19 bytes", "refuse", lambda ctx: hx(ctx.t4([ctx.auth(address=b"\x01" * 19)]))),
    ("authorization y parity 5", "accept",
     lambda ctx: hx(ctx.t4([ctx.auth(edit=lambda y, r, s: (5, r, s))]))),  # an invalid auth is skipped, not fatal
    ("authorization with high s", "accept", lambda ctx: hx(ctx.t4([ctx.auth(edit=high_s)]))),
    ("authorization for another chain", "accept", lambda ctx: hx(ctx.t4([ctx.auth(chain_id=1)]))),
    ("authorization nonce 2**64", "refuse", lambda ctx: hx(ctx.t4([ctx.auth(nonce=2**64)]))),
    ("900 authorizations", "accept", lambda ctx: hx(ctx.t4([ctx.auth(nonce=n) for n in range(900)],
                                                          gas=900 * 25_000 + 30_000))),
    # -- the heavy ones, last ------------------------------------------------------------------------
    ("initcode of 49,152 bytes (the EIP-3860 limit)", "accept", _initcode(INITCODE_LIMIT)),
    ("initcode of 49,153 bytes (over EIP-3860)", "refuse", _initcode(INITCODE_LIMIT + 1)),
    ("creation whose initcode loops, gas 24M", "accept", _looping_creation),
    ("call to an empty account with looping calldata, gas 24M", "accept", _looping_call_to_empty),
]


def reply_summary(reply: dict) -> dict[str, Any]:
    """What a case's answer was: accepted (with the hash) or refused (code, message), or a transport outcome."""
    if "outcome" in reply:  # timeout, connection error, crash, malformed answer: set by the sender
        return {"answer": reply["outcome"], "detail": str(reply.get("detail", ""))[:300]}
    error = reply.get("error")
    if isinstance(error, dict):
        return {"answer": "refused", "code": error.get("code"), "message": str(error.get("message", ""))[:300]}
    if "result" in reply:
        return {"answer": "accepted", "hash": reply["result"]}
    return {"answer": "malformed_answer", "detail": str(reply)[:300]}


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    """Poll `predicate` until it returns something truthy or `timeout` passes; returns its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value
