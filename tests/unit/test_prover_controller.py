"""The prover controller against real child processes: a tiny fake prover whose request says what to do.

The fake prover reads its request (`exit`, `large_exit`, `sleep`, `no_output`, `kill_self`), appends
"<request file> <large>" to the log file the request names, and exits as told. Everything else —
locking, renames, reruns, signals — is the real controller.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from linen.config import load_config
from linen.errors import ConfigError
from linen.prover.controller import Controller
from linen.prover.files import (
    ProofKind,
    aggregation_name,
    compression_request_name,
    compression_response_name,
    execution_request_name,
    kind_folders,
    locked_name,
    write_request,
)
from linen.prover.settings import ControllerSettings, load_controller_settings, load_prover_settings

pytestmark = pytest.mark.slow  # every job runs as a process

REPO = Path(__file__).resolve().parents[2]

FAKE_PROVER = """
import json, os, signal, sys, time

args = sys.argv[1:]
request_path, output = args[args.index("--in") + 1], args[args.index("--out") + 1]
large = "--large" in args
request = json.load(open(request_path))
with open(request["log"], "a") as log:
    log.write(f"{os.path.basename(request_path).split('.inprogress.')[0]} {large}\\n")
if request.get("started"):
    with open(request["started"], "w") as marker:
        marker.write(str(os.getpid()))
time.sleep(request.get("sleep", 0))
if request.get("kill_self"):
    os.kill(os.getpid(), signal.SIGKILL)
code = request.get("large_exit" if large else "exit", 0)
if code == 0 and not request.get("no_output"):
    json.dump({"request": os.path.basename(request_path), "large": large}, open(output, "w"))
sys.exit(code)
"""


@pytest.fixture
def env(tmp_path):
    script = tmp_path / "fake_prover.py"
    script.write_text(FAKE_PROVER)
    root = tmp_path / "shared"
    log = tmp_path / "jobs.log"
    command = f"{sys.executable} -S {script} --in {{input}} --out {{output}}"
    return root, log, command


def _settings(root, command, local_id="prover-a", **kw) -> ControllerSettings:
    kw.setdefault("retry_delays", (0.01,))
    return ControllerSettings(requests_root=root, local_id=local_id, command=command, **kw)


def _request(root, kind, name, log, **behaviour) -> Path:
    return write_request(root, kind, name, {"log": str(log), **behaviour})


def _jobs(log: Path) -> list[tuple[str, bool]]:
    if not log.exists():
        return []
    return [(line.split()[0], line.split()[1] == "True") for line in log.read_text().splitlines()]


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_success_files_the_response_and_the_request(env):
    root, log, command = env
    controller = Controller(_settings(root, command))
    shnarf = bytes(range(32))
    requests = {
        ProofKind.EXECUTION: (execution_request_name(1, 3), execution_request_name(1, 3)),
        ProofKind.COMPRESSION: (compression_request_name(1, 3, shnarf), compression_response_name(1, 3, shnarf)),
        ProofKind.AGGREGATION: (aggregation_name(1, 3, ["c"], ["e"]),) * 2,
    }
    for kind, (request, _) in requests.items():
        _request(root, kind, request, log)
    assert [controller.run_once() for _ in range(4)] == [True, True, True, False]
    for kind, (request, response) in requests.items():
        folders = kind_folders(root, kind)
        assert _names(folders.requests) == []
        assert _names(folders.done) == [request + ".success"]
        assert _names(folders.responses) == [response]
        assert json.loads((folders.responses / response).read_text()) == {
            "request": locked_name(request, "prover-a"),
            "large": False,
        }
    assert [r.outcome for r in controller.results] == ["success"] * 3
    assert controller.health()["current"] is None


def test_requests_are_taken_by_end_block_then_kind(env):
    root, log, command = env
    names = {
        "agg": (ProofKind.AGGREGATION, aggregation_name(1, 10, [], [])),
        "comp": (ProofKind.COMPRESSION, compression_request_name(1, 10, bytes(32))),
        "exec-late": (ProofKind.EXECUTION, execution_request_name(11, 12)),
        "exec-5-10": (ProofKind.EXECUTION, execution_request_name(5, 10)),
        "exec-1-4": (ProofKind.EXECUTION, execution_request_name(1, 4)),
    }
    for kind, name in names.values():
        _request(root, kind, name, log)
    controller = Controller(_settings(root, command))
    while controller.run_once():
        pass
    order = [name for name, _ in _jobs(log)]
    assert order == [names[k][1] for k in ("exec-1-4", "exec-5-10", "comp", "agg", "exec-late")]


def test_disabled_kinds_are_left_alone(env):
    root, log, command = env
    _request(root, ProofKind.EXECUTION, execution_request_name(1, 1), log)
    controller = Controller(_settings(root, command, kinds=(ProofKind.AGGREGATION,)))
    assert not controller.run_once()
    assert _names(kind_folders(root, "execution").requests) == [execution_request_name(1, 1)]


@pytest.mark.parametrize(
    ("kind", "exit_code"),
    [
        (ProofKind.EXECUTION, 78),
        (ProofKind.EXECUTION, 79),
        (ProofKind.EXECUTION, 14),
        (ProofKind.COMPRESSION, 77),  # only execution is rerun large
        (ProofKind.COMPRESSION, 137),  # only execution is deferred to a large prover
        (ProofKind.AGGREGATION, 2),
        (ProofKind.AGGREGATION, 137),
    ],
)
def test_failures_go_to_requests_done(env, kind, exit_code):
    root, log, command = env
    name = {
        ProofKind.EXECUTION: execution_request_name(4, 6),
        ProofKind.COMPRESSION: compression_request_name(4, 6, bytes(32)),
        ProofKind.AGGREGATION: aggregation_name(4, 6, [], []),
    }[kind]
    _request(root, kind, name, log, exit=exit_code)
    controller = Controller(_settings(root, command))
    assert controller.run_once()
    folders = kind_folders(root, kind)
    assert _names(folders.done) == [f"{name}.failure.code_{exit_code}"]
    assert _names(folders.requests) == _names(folders.responses) == []
    assert _jobs(log) == [(name, False)]


def test_old_failure_suffixes_are_replaced(env):
    root, log, command = env
    name = execution_request_name(1, 2)
    _request(root, ProofKind.EXECUTION, name + ".failure.code_79.failure.code_14", log, exit=78)
    assert Controller(_settings(root, command)).run_once()
    assert _names(kind_folders(root, "execution").done) == [name + ".failure.code_78"]


def test_exit_zero_without_output_is_a_fatal_failure(env):
    root, log, command = env
    name = execution_request_name(1, 2)
    _request(root, ProofKind.EXECUTION, name, log, no_output=True)
    assert Controller(_settings(root, command)).run_once()
    assert _names(kind_folders(root, "execution").done) == [name + ".failure.code_14"]


@pytest.mark.parametrize("exit_code", [77, 333, 2])
def test_too_big_for_normal_reruns_large_at_once(env, exit_code):
    root, log, command = env
    name = execution_request_name(7, 9)
    _request(root, ProofKind.EXECUTION, name, log, exit=exit_code)
    controller = Controller(_settings(root, command))
    assert controller.run_once()
    assert _jobs(log) == [(name, False), (name, True)]
    folders = kind_folders(root, "execution")
    assert _names(folders.done) == [name + ".success"]
    assert json.loads((folders.responses / name).read_text())["large"] is True
    assert controller.results[-1].large


def test_large_rerun_failure_is_filed(env):
    root, log, command = env
    name = execution_request_name(7, 9)
    _request(root, ProofKind.EXECUTION, name, log, exit=77, large_exit=78)
    assert Controller(_settings(root, command)).run_once()
    assert _names(kind_folders(root, "execution").done) == [name + ".failure.code_78"]


def test_out_of_memory_goes_to_a_large_prover(env):
    root, log, command = env
    name = execution_request_name(1, 5)
    _request(root, ProofKind.EXECUTION, name, log, kill_self=True)  # killed by SIGKILL, as the OOM killer does
    folders = kind_folders(root, "execution")
    normal = Controller(_settings(root, command, local_id="prover-small", accept_large=False))
    assert normal.run_once()
    deferred = name + ".large.failure.code_137"
    assert _names(folders.requests) == [deferred]
    assert normal.results[-1].exit_code == 137 and normal.results[-1].outcome == "deferred-large"
    assert not normal.run_once()  # a normal prover does not take large jobs

    big = Controller(_settings(root, command, local_id="prover-big", accept_large=True))
    assert big.run_once()
    assert _jobs(log) == [(name, False), (deferred, True)]
    # the large prover was killed too: this time it is a failure, never a loop
    assert _names(folders.done) == [name + ".large.failure.code_137"]
    assert _names(folders.requests) == []


def test_large_prover_success_after_deferral(env):
    root, log, command = env
    name = execution_request_name(1, 5)
    _request(root, ProofKind.EXECUTION, name, log, exit=137, large_exit=0)
    controller = Controller(_settings(root, command))  # accepts large jobs by default
    assert controller.run_once() and controller.run_once()
    folders = kind_folders(root, "execution")
    assert _jobs(log) == [(name, False), (name + ".large.failure.code_137", True)]
    assert _names(folders.done) == [name + ".large.success"]
    assert _names(folders.responses) == [name]


def test_two_controllers_never_do_a_job_twice(env):
    root, log, command = env
    names = [execution_request_name(10 * i + 1, 10 * i + 10) for i in range(20)]
    for name in names:
        _request(root, ProofKind.EXECUTION, name, log, sleep=0.01)
    stop = threading.Event()
    controllers = [Controller(_settings(root, command, local_id=f"prover-{i}")) for i in range(2)]
    threads = [threading.Thread(target=c.run_forever, args=(stop,)) for c in controllers]
    for thread in threads:
        thread.start()
    folders = kind_folders(root, "execution")
    deadline = time.monotonic() + 60
    while len(list(folders.done.iterdir())) < len(names) and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads)
    jobs = [name for name, _ in _jobs(log)]
    assert sorted(jobs) == sorted(names)  # each exactly once
    assert _names(folders.done) == sorted(name + ".success" for name in names)
    assert _names(folders.responses) == sorted(names)
    assert _names(folders.requests) == []
    assert all(len(c.results) > 0 for c in controllers)  # both took part


def test_restart_puts_back_own_leftovers(env):
    root, log, command = env
    exec_folders = kind_folders(root, "execution").make()
    comp_folders = kind_folders(root, "compression").make()
    mine = execution_request_name(1, 2)
    finished = execution_request_name(3, 4)
    theirs = execution_request_name(5, 6)
    blob = compression_request_name(1, 2, bytes(32))
    for folder, name, owner in (
        (exec_folders, mine, "prover-a"),
        (exec_folders, finished, "prover-a"),
        (exec_folders, theirs, "prover-b"),
        (comp_folders, blob, "prover-a"),
    ):
        (folder.requests / locked_name(name, owner)).write_text(json.dumps({"log": str(log)}))
    (exec_folders.responses / finished).write_text("{}")  # it was proven before the crash
    (exec_folders.responses / "tmp-response-file.prover-a.json").write_text("half")
    (exec_folders.responses / ".tmp-response-file.prover-a.json.4242.tmp").write_text("half")
    controller = Controller(_settings(root, command))
    controller.recover_leftovers()
    # spec §4: an execution leftover comes back large; other kinds come back as they were
    assert _names(exec_folders.requests) == sorted([mine + ".large", locked_name(theirs, "prover-b")])
    assert _names(comp_folders.requests) == [blob]
    assert _names(exec_folders.done) == [finished + ".success"]
    assert _names(exec_folders.responses) == [finished]
    while controller.run_once():
        pass
    assert (mine + ".large", True) in _jobs(log)
    assert (locked_name(theirs, "prover-b"), False) not in _jobs(log)
    assert mine + ".large.success" in _names(exec_folders.done)


def test_stop_lets_the_running_job_finish(env):
    root, log, command = env
    name = execution_request_name(1, 1)
    started = root.parent / "started"
    _request(root, ProofKind.EXECUTION, name, log, sleep=0.5, started=str(started))
    controller = Controller(_settings(root, command, termination_grace_period=30))
    stop = threading.Event()
    thread = threading.Thread(target=controller.run_forever, args=(stop,))
    thread.start()
    _wait_for(started)
    controller.request_stop()
    thread.join(10)
    assert not thread.is_alive()
    assert _names(kind_folders(root, "execution").done) == [name + ".success"]


def test_idle_controller_stops_promptly(env):
    root, _, command = env
    controller = Controller(_settings(root, command, retry_delays=(0, 30)))
    stop = threading.Event()
    thread = threading.Thread(target=controller.run_forever, args=(stop,))
    thread.start()
    time.sleep(0.1)
    began = time.monotonic()
    stop.set()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - began < 1


def test_default_command_runs_linen_prove(tmp_path):
    settings = ControllerSettings(requests_root=tmp_path, local_id="prover-a", config_file=tmp_path / "c.toml")
    argv = Controller(settings).command(Path("/r/in.json"), Path("/r/out.json"), large=True)
    assert argv == [
        sys.executable,
        "-m",
        "linen.prover.prove",
        "--config",
        str(tmp_path / "c.toml"),
        "--in",
        "/r/in.json",
        "--out",
        "/r/out.json",
        "--large",
    ]
    templated = ControllerSettings(requests_root=tmp_path, local_id="prover-a", command="prover prove --in {input}")
    assert Controller(templated).command(Path("/a b"), Path("/o"), large=True) == [
        "sh",
        "-c",
        "prover prove --in '/a b' --large",
    ]


def test_settings_from_toml_and_environment(tmp_path, monkeypatch):
    config = tmp_path / "linen.toml"
    config.write_text(
        "[node]\ndata-dir = 'x'\n"
        "[prover]\n"
        "requests-root = '/srv/shared'\nlocal-id = 'prover-7'\nkinds = 'execution, aggregation'\n"
        "retry-delays = '0,0.5,2'\ntermination-grace-period = 60\naccept-large = false\n"
        "key = '0x01'\nl1-chain-id = 31337\nverifier-address = '0x" + "ab" * 20 + "'\n"
    )
    monkeypatch.setenv("LINEN_PROVER_LOCAL_ID", "prover-from-env")
    controller = load_controller_settings(config, {"command": "prove --in {input}", "kinds": None})
    assert controller.requests_root == Path("/srv/shared") and controller.local_id == "prover-from-env"
    assert controller.kinds == (ProofKind.EXECUTION, ProofKind.AGGREGATION)
    assert controller.retry_delays == (0, 0.5, 2) and controller.termination_grace_period == 60
    assert not controller.accept_large and controller.command == "prove --in {input}"
    assert controller.config_file == config
    prover = load_prover_settings(config)
    assert (prover.key, prover.l1_chain_id, prover.verifier_address) == ("0x01", 31337, "0x" + "ab" * 20)
    assert prover.traces_dir is None and prover.requests_root == Path("/srv/shared")
    assert load_config(config).data_dir == Path("x")  # the node's loader accepts the [prover] section
    monkeypatch.delenv("LINEN_PROVER_LOCAL_ID")
    assert load_controller_settings().local_id.startswith("prover-")  # default: prover-<hostname>
    for override, message in (
        ({"local-id": "worker-1"}, "must start with 'prover'"),
        ({"local-id": "prover/1"}, "must start with 'prover'"),
        ({"kinds": "execution,invalidity"}, "unknown kind 'invalidity'"),
        ({"retry-delays": "1,x"}, "retry-delays"),
        ({"nope": 1}, "unknown prover setting"),
    ):
        with pytest.raises(ConfigError, match=message):
            load_controller_settings(None, override)
    config.write_text("[prover]\nlarge = true\n")
    with pytest.raises(ConfigError, match="unknown setting prover.large"):
        load_controller_settings(config)


# --- a controller process and real signals -----------------------------------------------------------------


def _wait_for(path: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def _start_controller(root: Path, command: str, grace: float) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "linen.prover.controller",
            "--requests-root",
            str(root),
            "--local-id",
            "prover-sig",
            "--kinds",
            "execution",
            "--command",
            command,
            "--retry-delays",
            "0.05",
            "--termination-grace-period",
            str(grace),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize(("signum", "grace"), [(signal.SIGTERM, 0.3), (signal.SIGUSR1, 600)])
def test_signal_requeues_a_long_job(env, signum, grace):
    root, log, command = env
    name = execution_request_name(1, 9)
    started = root.parent / "started"
    _request(root, ProofKind.EXECUTION, name, log, sleep=60, started=str(started))
    controller = _start_controller(root, command, grace)
    try:
        _wait_for(started)
        prover_pid = int(started.read_text())
        folders = kind_folders(root, "execution")
        assert _names(folders.requests) == [locked_name(name, "prover-sig")]
        controller.send_signal(signum)
        assert controller.wait(10) == 0, controller.stderr.read().decode()
    finally:
        if controller.poll() is None:
            controller.kill()
            controller.wait()
    assert _names(folders.requests) == [name]  # back in the queue, under its own name
    assert _names(folders.done) == [] and _names(folders.responses) == []
    assert not _running(prover_pid)  # the prover was killed with the job


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphaned grandchild may wait for a reaper that never comes)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")
