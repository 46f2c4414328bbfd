"""Phase 1 of `linen bench hostile`: every RPC method with hostile params, over HTTP and WebSocket.

The order is what makes a short budget still useful: systematic leaves first (round-robin, so every
method gets some), then hypothesis per method, WebSocket, envelopes, the authenticated endpoint, and
the methods that run the EVM last, since they are the ones most likely to slow the node for the rest.
Each stage has its share of the phase (`FUZZ_SPLIT`); a slow method shortens the shares after it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from typing import Any

from linen.benchmarks.hostile_auth_attacks import auth_attacks, auth_only_methods
from linen.benchmarks.hostile_connection_attacks import send_envelope
from linen.benchmarks.hostile_fuzz import (
    EXECUTING,
    LOOP_CALLS,
    WS_METHODS,
    WS_RAW,
    Known,
    envelopes,
    fuzz_order,
    may_loop,
    method_names,
    params_strategy,
    request_body,
    strategies,
    systematic_cases,
)
from linen.benchmarks.hostile_rpc import CONNECTION, HANDLED, REQUEST_TIMEOUT, TIMEOUT, classify, rpc
from linen.benchmarks.hostile_session import RECOVERY_WAIT, Aborted, Bench, Tally, show
from linen.devaccounts import dev_accounts

FUZZ_SPLIT = {"systematic": 0.2, "methods": 0.45, "ws": 0.1, "envelopes": 0.1, "executing": 0.15}
LOOP_CALL_TIMEOUT = 15.0  # the concurrent loop calls: long enough to see a queue behind the EVM timeout
EXAMPLES_PER_METHOD = 2_000  # hypothesis' cap; the method's time slot ends it first
WS_EXAMPLES = 40


class SlotOver(Exception):
    """A method's share of the fuzz phase is used up: ends its hypothesis run without generating the rest."""


def _known_values(bench: Bench) -> Known:
    """Real addresses, block hashes and filter ids, so some generated params get past the first checks."""
    known = Known()
    port = bench.node.port
    known.addresses += [a.address for a in dev_accounts()]
    with contextlib.suppress(Exception):
        for n in range(0, 3):
            block = rpc(port, "eth_getBlockByNumber", [hex(n), False])
            if block:
                known.hashes.append(block["hash"])
    with contextlib.suppress(Exception):
        known.filter_ids.append(rpc(port, "eth_newBlockFilter", []))
        known.filter_ids.append(rpc(port, "eth_newFilter", [{"fromBlock": "earliest"}]))
    return known


def _hypothesis_run(strategy: Any, max_examples: int, seed: int, body: Callable[[Any], None],
                    bench_abort_set: Callable[[], bool] = lambda: False) -> None:
    """Run `body` on up to `max_examples` generated values: no shrinking, no database, no deadline."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as hypothesis_seed

    @hypothesis_seed(seed)
    @settings(max_examples=max_examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False, verbosity=Verbosity.quiet)
    @given(strategy)
    def run(value: Any) -> None:
        body(value)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # hypothesis warns about the large reprs it is asked to build
            run()
    except (Aborted, SlotOver):
        pass
    except Exception as exc:  # noqa: BLE001 - hypothesis' own complaints (flaky, unsatisfiable) end this method only
        if "Aborted" in repr(exc):
            raise Aborted from exc
    if bench_abort_set():
        raise Aborted


def phase_fuzz(bench: Bench, seconds: float, seed: int) -> dict[str, Any]:
    """The fuzz phase within `seconds`: its tally report, with what was skipped for lack of time."""
    try:
        import hypothesis  # noqa: F401
    except ImportError:  # pragma: no cover - the test extras install it
        return {"skipped": "hypothesis is not installed: pip install -e '.[test]'"}
    tally = Tally("fuzz")
    begin = time.monotonic()
    known = _known_values(bench)
    kinds = strategies(known)
    names = fuzz_order(method_names())
    plain = [n for n in names if n not in EXECUTING]
    executing = [n for n in names if n in EXECUTING]
    deadline_all = begin + seconds
    deadline_systematic = begin + seconds * FUZZ_SPLIT["systematic"]
    deadline_plain = deadline_systematic + seconds * FUZZ_SPLIT["methods"]
    deadline_ws = deadline_plain + seconds * FUZZ_SPLIT["ws"]
    deadline_envelopes = deadline_ws + seconds * FUZZ_SPLIT["envelopes"]
    skipped: list[str] = []
    systematic_skipped = 0
    error = None
    bench_errors: list[dict] = []
    looping_skipped: collections.Counter = collections.Counter()

    auth_only = auth_only_methods(bench, names)
    auth_methods = [f"(auth) {n}" for n in auth_only]
    plain += auth_methods

    def fuzz(label: str, until: float, methods_left: int) -> None:
        """This method's share of the time left until `until` (a slow one shortens the later ones' shares)."""
        slot = max(0.05, (until - time.monotonic()) / methods_left)
        deadline = time.monotonic() + slot
        method = label.removeprefix("(auth) ")
        on_auth = label != method

        def body(params: Any) -> None:
            if time.monotonic() >= deadline or bench.abort.is_set():
                raise SlotOver
            if method in EXECUTING and may_loop(params):
                looping_skipped[method] += 1  # LOOP_CALLS covers these, all at once
                return
            try:
                target: dict[str, Any] = {}
                if on_auth:
                    auth = bench.node.auth()
                    if auth is None:
                        raise SlotOver
                    target = {"port": auth[0], "headers": auth[1]}
                bench.send(tally, label, request_body(method, params), params, deadline=deadline, **target)
            except (Aborted, SlotOver):
                raise
            except Exception as exc:  # noqa: BLE001 - a benchmark bug must not stop the run: note it
                bench_errors.append({"method": method, "params": show(params, 300),
                                     "error": "".join(traceback.format_exception(exc))[-1500:]})

        _hypothesis_run(params_strategy(method, kinds), EXAMPLES_PER_METHOD, seed, body, bench.abort.is_set)

    try:
        systematic_skipped = systematic(bench, tally, names, known, deadline_systematic)
        for index, method in enumerate(plain):
            fuzz(method, deadline_plain, len(plain) - index)
        fuzz_ws(bench, tally, max(1.0, deadline_ws - time.monotonic()), kinds, seed)
        for name, case in envelopes():
            if time.monotonic() >= max(deadline_envelopes, deadline_ws + 2.0):
                skipped.append(name)
                continue
            send_envelope(bench, tally, name, case)
        auth_attacks(bench, tally, auth_only)
        loop_calls(bench, tally)
        for index, method in enumerate(executing):
            fuzz(method, deadline_all, len(executing) - index)
    except Aborted:
        pass
    except Exception as exc:  # noqa: BLE001 - a bug of the benchmark: keep what was measured
        error = f"{type(exc).__name__}: {exc}"[:500]
    report = tally.report()
    if error:
        report["error"] = error
    report["methods"] = names
    report["auth_only_methods"] = auth_only
    report["ws_methods"] = list(WS_METHODS)
    report["envelopes_skipped"] = skipped
    report["systematic_skipped"] = systematic_skipped
    report["benchmark_errors"] = bench_errors[:10]
    report["generated_looping_params_skipped"] = dict(looping_skipped)
    return report


def systematic(bench: Bench, tally: Tally, names: list[str], known: Known, deadline: float) -> int:
    """Every method with each hostile leaf in each slot and object field; returns how many were left unsent."""
    per_method = [[(m, p) for p in systematic_cases(m, known)] for m in names if m not in WS_METHODS]
    # round-robin over the methods, so a short phase still reaches every one of them
    cases = [case for row in itertools.zip_longest(*per_method) for case in row if case is not None]
    sent = 0
    for method, params in cases:
        if time.monotonic() >= deadline:
            break
        if method in EXECUTING and may_loop(params):
            continue
        bench.send(tally, method, request_body(method, params), params)
        sent += 1
    return len(cases) - sent



def loop_calls(bench: Bench, tally: Tally) -> None:
    """The infinite-loop calls of LOOP_CALLS, all at once: each should end at the node's EVM timeout."""
    threads = []
    for method, params in LOOP_CALLS:
        label = f"(loop, concurrent) {method}"
        thread = threading.Thread(target=bench.send, args=(tally, label, request_body(method, params), params),
                                  kwargs={"timeout": LOOP_CALL_TIMEOUT}, daemon=True)
        threads.append(thread)
        thread.start()
    for thread in threads:
        thread.join(LOOP_CALL_TIMEOUT + RECOVERY_WAIT + 2)



def fuzz_ws(bench: Bench, tally: Tally, seconds: float, kinds: dict[str, Any], seed: int) -> None:
    """eth_subscribe / eth_unsubscribe with generated params, and raw hostile frames, over WebSocket."""
    if seconds <= 0:
        return
    messages: list[tuple[str, Any, bool]] = []
    for method in WS_METHODS:
        collected: list[Any] = []
        _hypothesis_run(params_strategy(method, kinds), WS_EXAMPLES, seed, collected.append)
        messages += [(method, request_body(method, p).decode("utf-8", errors="surrogatepass"), False)
                     for p in collected]
    messages += [("(ws frame) " + name, frame, name.startswith("11 MB")) for name, frame in WS_RAW]
    asyncio.run(_ws_session(bench, tally, messages, time.monotonic() + seconds))


async def _ws_session(bench: Bench, tally: Tally, messages: list[tuple[str, Any, bool]], deadline: float) -> None:
    import aiohttp

    ws = None
    async with aiohttp.ClientSession() as session:
        try:
            for method, frame, close_ok in messages:
                if time.monotonic() >= deadline or bench.abort.is_set():
                    break
                begin = time.monotonic()
                try:
                    if ws is None or ws.closed:
                        ws = await session.ws_connect(bench.node.ws_url, max_msg_size=0,
                                                      timeout=aiohttp.ClientWSTimeout(ws_close=REQUEST_TIMEOUT))
                    await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
                    outcome, code, message = await _ws_answer(ws, close_ok)
                except TimeoutError:
                    outcome, code, message = TIMEOUT, None, "no answer within the timeout"
                    with contextlib.suppress(Exception):
                        await ws.close()
                except (aiohttp.ClientError, OSError, ConnectionError) as exc:
                    outcome, code, message = bench.transport_failure(exc), None, str(exc)[:200]
                    if outcome == CONNECTION and close_ok:
                        outcome = HANDLED
                tally.add(method, frame if len(frame) < 2000 else frame[:300], outcome, code, message,
                          time.monotonic() - begin)
        finally:
            if ws is not None:
                await ws.close()


async def _ws_answer(ws: Any, close_ok: bool) -> tuple[str, Any, str]:
    from aiohttp import WSMsgType

    while True:
        msg = await asyncio.wait_for(ws.receive(), REQUEST_TIMEOUT)
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING, WSMsgType.ERROR):
            return (HANDLED if close_ok else CONNECTION), None, f"closed: {ws.close_code}"
        data = msg.data if isinstance(msg.data, bytes) else str(msg.data).encode()
        if b'"eth_subscription"' in data[:200]:
            continue  # a notification, not the answer
        return classify(data)

