"""geth's prestateTracer: every account and slot the transaction touched, as it was before.

Built from the engine's own record (`RecordingAccountDB` notes the prior value of every account
field and slot read or written), so it covers exactly what the EVM looked at. With `diffMode` the
result is {pre, post}: the accounts the transaction changed, with only the changed slots, before
and after (geth's rules: unchanged accounts left out, zero slots left out, a contract the
transaction created has no `pre`, a deleted account no `post`).
"""

from __future__ import annotations

from typing import Any

from linen.execution.tracing.core import Tracer
from linen.execution.tracing.replay import TxRun
from linen.primitives.diffs import AccountDiff
from linen.primitives.hexcodec import to_data


def _word(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


class PrestateTracer(Tracer):
    def __init__(self, diff_mode: bool = False, disable_code: bool = False, disable_storage: bool = False) -> None:
        self.diff_mode, self.disable_code, self.disable_storage = diff_mode, disable_code, disable_storage
        self.created: set[bytes] = set()

    def enter(self, message: Any, parent: Any, call_type: str) -> None:
        if message.is_create:
            self.created.add(bytes(message.storage_address))

    def _account(self, run: TxRun, balance: int, nonce: int, code_hash: bytes, storage: dict[int, int]) -> dict:
        out: dict[str, Any] = {"balance": hex(balance)}
        if nonce:
            out["nonce"] = nonce
        if not self.disable_code:
            code = run.code(code_hash)
            if code:
                out["code"] = to_data(code)
        if storage and not self.disable_storage:
            out["storage"] = {_word(slot): _word(value) for slot, value in sorted(storage.items())}
        return out

    def result(self, run: TxRun) -> dict[str, Any]:
        diff = dict(sorted(run.state.account_db.collect_diff().items()))  # geth's JSON maps come out sorted
        if not self.diff_mode:
            return {
                to_data(address): self._account(
                    run,
                    a.balance[0],
                    a.nonce[0],
                    a.code_hash[0],
                    {slot: prior for slot, (prior, _new) in a.storage.items()},
                )
                for address, a in diff.items()
            }
        pre: dict[str, Any] = {}
        post: dict[str, Any] = {}
        for address, a in diff.items():
            key = to_data(address)
            if a.existed_before and not a.exists_after:  # deleted: its state is only in pre
                pre[key] = self._prior(run, a)
                continue
            changed = {slot: (prior, new) for slot, (prior, new) in a.storage.items() if prior != new}
            modified = (
                bool(changed)
                or a.balance[0] != a.balance[1]
                or a.nonce[0] != a.nonce[1]
                or a.code_hash[0] != a.code_hash[1]
            )
            if not modified:
                continue
            if not (address in self.created and not a.existed_before):  # a new contract had no state before
                pre[key] = self._account(
                    run,
                    a.balance[0],
                    a.nonce[0],
                    a.code_hash[0],
                    {slot: prior for slot, (prior, _new) in changed.items() if prior},
                )
            after: dict[str, Any] = {}
            if a.balance[0] != a.balance[1]:
                after["balance"] = hex(a.balance[1])
            if a.nonce[0] != a.nonce[1]:
                after["nonce"] = a.nonce[1]
            if a.code_hash[0] != a.code_hash[1] and not self.disable_code:
                code = run.code(a.code_hash[1])
                if code:
                    after["code"] = to_data(code)
            storage = {_word(slot): _word(new) for slot, (_prior, new) in sorted(changed.items()) if new}
            if storage and not self.disable_storage:
                after["storage"] = storage
            post[key] = after
        return {"post": post, "pre": pre}

    def _prior(self, run: TxRun, a: AccountDiff) -> dict:
        return self._account(
            run, a.balance[0], a.nonce[0], a.code_hash[0], {slot: prior for slot, (prior, _new) in a.storage.items()}
        )
