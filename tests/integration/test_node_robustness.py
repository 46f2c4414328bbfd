"""The smaller holes of the attack run (issue 13), each on a real node process.

Idle and slow connections are closed; a bad block number is a client error, not an internal one;
cast's log subscription (with fromBlock/toBlock) is accepted; an unusable data dir stops the node
with one line naming the path and the cause.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time

import pytest
from websockets.sync.client import connect

from tests.helpers import LINEN, ROOT, NodeProcess, rpc

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick_idle(tmp_path_factory):
    import os

    os.environ["LINEN_RPC_IDLE_TIMEOUT"] = "1"
    try:
        proc = NodeProcess(tmp_path_factory.mktemp("robust") / "node").start()
    finally:
        del os.environ["LINEN_RPC_IDLE_TIMEOUT"]
    yield proc
    proc.stop()


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed `sock` (reading what it sends first), None if still open."""
    sock.settimeout(0.2)
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - started
    return None


def test_idle_and_slow_connections_are_closed(quick_idle):
    idle = socket.create_connection(("127.0.0.1", quick_idle.port))
    dribbling = socket.create_connection(("127.0.0.1", quick_idle.port))
    dribbling.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # headers that never end
    slow_body = socket.create_connection(("127.0.0.1", quick_idle.port))
    slow_body.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
    for sock in (idle, dribbling, slow_body):
        assert closed_within(sock, 10) is not None
        sock.close()
    assert rpc(quick_idle.url, "eth_blockNumber")["result"].startswith("0x")  # and the node serves on


def test_bad_block_numbers_are_client_errors(quick_idle):
    for value in ("0x-1", "0x+1", "0x1_0", "0x 1", "-1"):
        error = rpc(quick_idle.url, "linen_getZkStateRoot", [value])["error"]
        assert error["code"] == -32602, (value, error)
        error = rpc(quick_idle.url, "eth_getBlockByNumber", [value, False])["error"]
        assert error["code"] == -32602, (value, error)


def test_a_log_subscription_with_from_and_to_block_is_accepted(quick_idle):
    with connect(quick_idle.ws_url) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe",
                            "params": ["logs", {"fromBlock": "latest", "toBlock": "latest", "address": []}]}))
        answer = json.loads(ws.recv(timeout=10))
    assert answer["result"].startswith("0x"), answer


@pytest.mark.parametrize("make", ["file", "under-a-file"])
def test_an_unusable_data_dir_stops_the_node_with_one_line(tmp_path, make):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    data_dir = blocker if make == "file" else blocker / "sub"
    result = subprocess.run(LINEN + ["node", "--data-dir", str(data_dir), "--rpc-port", "0"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(data_dir) in lines[0], result.stderr


def test_what_the_hostile_benchmark_found_is_answered_as_client_errors(quick_idle):
    """Three defects `linen bench hostile` found: each is now a clear client error, answered at once."""
    import gzip
    import urllib.error
    import urllib.request

    for value in ("18446744073709551616", "9" * 400):
        error = rpc(quick_idle.url, "linea_getBlockTracesCountersV2", [{"blockNumber": value}])["error"]
        assert error["code"] == -32602, error
    nested = b"\xc0"  # 30,000 nested empty lists: pyrlp took 6 s and 1.4 GB to refuse it
    for _ in range(29_999):
        size = len(nested)
        width = (size.bit_length() + 7) // 8
        nested = (bytes([0xC0 + size]) if size <= 55 else bytes([0xF7 + width]) + size.to_bytes(width, "big")) + nested
    started = time.monotonic()
    error = rpc(quick_idle.url, "eth_sendRawTransaction", ["0x02" + nested.hex()])["error"]
    assert error["code"] == -32003 and "nested deeper" in error["message"], error
    assert time.monotonic() - started < 1.0
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}).encode()
    for encoded, expected in ((body, 400), (gzip.compress(body), 200)):  # a header that lies, then a real gzip
        request = urllib.request.Request(quick_idle.url, encoded, {"Content-Type": "application/json",
                                                                  "Content-Encoding": "gzip"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, answer = response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            status, answer = err.code, json.loads(err.read())
        assert status == expected, (status, answer)
        assert answer.get("result") == "0xe703" or answer["error"]["code"] == -32700, answer


def test_client_faults_do_not_flood_the_log(quick_idle):
    """A body cut short and a 100 KB header were answered but logged at ERROR with tracebacks, by anyone."""
    before = quick_idle.log_path.read_text(errors="replace").count("Traceback")
    cut = socket.create_connection(("127.0.0.1", quick_idle.port))
    cut.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
    time.sleep(0.3)
    cut.close()
    long_header = socket.create_connection(("127.0.0.1", quick_idle.port))
    long_header.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + b"a" * 100_000 + b"\r\n\r\n")
    assert long_header.recv(64).startswith(b"HTTP/1.0 400")
    long_header.close()
    time.sleep(0.5)
    assert rpc(quick_idle.url, "eth_blockNumber")["result"].startswith("0x")
    assert quick_idle.log_path.read_text(errors="replace").count("Traceback") == before
