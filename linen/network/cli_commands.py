"""`linen prover worker`, `linen prover coordinator` and `linen prover dask-worker`."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
from pathlib import Path

import click

from linen.network.faults import FaultPlan
from linen.network.parent_watch import exit_with_parent


def _spec(zk_dir: Path | None, threads: int, simulate: str | None) -> dict:
    from linen.network.proofs import bb_spec, sim_spec

    if simulate:
        try:
            segment_s, merge_s = (float(x) for x in simulate.split(":"))
        except ValueError:
            raise click.UsageError(f"--simulate takes SEGMENT_S:MERGE_S, not {simulate!r}") from None
        return sim_spec(segment_s, merge_s)
    if zk_dir is None:
        raise click.UsageError("give --zk-dir (real bb proofs) or --simulate SEGMENT_S:MERGE_S")
    return bb_spec(zk_dir, threads)


def _faults(text: str | None) -> FaultPlan:
    if not text:
        return FaultPlan()
    try:
        return FaultPlan.from_text(text)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


_system_options = [
    click.option("--zk-dir", type=click.Path(file_okay=False, path_type=Path),
                 help="Where the SRS (srs/) and the circuits' keys (cache/) are, for real bb proofs."),
    click.option("--threads", default=1, show_default=True, help="bb threads per job."),
    click.option("--simulate", metavar="SEGMENT_S:MERGE_S",
                 help="Simulated jobs of these lengths instead of bb (benchmarks of the scheduler)."),
    click.option("--faults", metavar="Q:SEED[:KINDS]", hidden=True, help="Injected faults at rate Q (tests, benchmarks)."),
]


def _with_system_options(f):  # type: ignore[no-untyped-def]
    for option in reversed(_system_options):
        f = option(f)
    return f


def register(prover: click.Group) -> None:
    @prover.command("worker")
    @click.option("--coordinator", "url", required=True, help="The proof coordinator's URL.")
    @click.option("--memory", default="4GiB", show_default=True, help="Memory this worker offers (4GiB, 512MiB...).")
    @click.option("--name", default=None, help="A name for the coordinator's logs (default: host and pid).")
    @click.option("--max-jobs", type=int, default=None, help="Stop after this many jobs.")
    @_with_system_options
    def worker(url, memory, name, max_jobs, zk_dir, threads, simulate, faults) -> None:  # type: ignore[no-untyped-def]
        """Pull proof jobs from a coordinator, prove them, submit (docs/prover-protocol.md)."""
        from linen.network.worker import RemoteWorker, parse_memory

        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        exit_with_parent(stop)
        name = name or f"{socket.gethostname()}-{os.getpid()}"
        remote = RemoteWorker(url, _spec(zk_dir, threads, simulate), parse_memory(memory), name, _faults(faults))
        click.echo(f"prover worker {name}: pulling from {url}", err=True)
        report = remote.run(stop, max_jobs)
        click.echo(json.dumps(vars(report)))
        if report.stopped_because:
            raise click.ClickException(report.stopped_because)

    @prover.command("coordinator")
    @click.option("--tree", "tree_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
                  help="A proof tree (JSON: jobs, top, payloads).")
    @click.option("--store", "store_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
    @click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=0, show_default=True)
    @click.option("--lease", "lease_s", default=30.0, show_default=True, help="Lease seconds without a heartbeat.")
    @_with_system_options
    def coordinator(tree_file, store_dir, out, host, port, lease_s, zk_dir, threads, simulate, faults) -> None:  # type: ignore[no-untyped-def]
        """Prove one tree through independent workers; the top proof to --out (resumes from --store)."""
        from linen.network.service import prove_tree_file

        spec = _spec(zk_dir, threads, simulate)
        prior = {"segment": spec.get("segment_s", 30.0), "merge": spec.get("merge_s", 30.0)}

        def listening(url: str) -> None:
            click.echo(f"proof coordinator: {url}")
            sys.stdout.flush()

        result = prove_tree_file(tree_file, store_dir, out, spec, host, port, lease_s, prior, listening)
        click.echo(json.dumps(result["stats"]))

    @prover.command("network")
    @click.option("--store", "store_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
    @click.option("--host", default="127.0.0.1", show_default=True, help="The workers' port's address.")
    @click.option("--port", default=8897, show_default=True, help="The workers' port (the prover protocol).")
    @click.option("--admin-host", default="127.0.0.1", show_default=True)
    @click.option("--admin-port", default=8898, show_default=True, help="Where prover backends submit trees.")
    @click.option("--lease", "lease_s", default=30.0, show_default=True, help="Lease seconds without a heartbeat.")
    @_with_system_options
    def network(store_dir, host, port, admin_host, admin_port, lease_s, zk_dir, threads, simulate, faults) -> None:  # type: ignore[no-untyped-def]
        """A long-lived proof network: trees on the admin port, workers pull their jobs on the public one."""
        from linen.network.jobs import JobStore
        from linen.network.proofs import make_system
        from linen.network.tree_service import TreeService, run_tree_service

        spec = _spec(zk_dir, threads, simulate)
        prior = {"segment": spec.get("segment_s", 30.0), "merge": spec.get("merge_s", 30.0)}
        service = TreeService(JobStore(store_dir), make_system(spec), lease_s, prior)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        exit_with_parent(stop)

        def listening(public: str, admin: str) -> None:
            click.echo(f"proof network: workers {public}, admin {admin}")
            sys.stdout.flush()

        run_tree_service(service, host, port, admin_host, admin_port, listening, stop)

    @prover.command("dask-worker")
    @click.option("--scheduler", "address", required=True, help="The Dask scheduler (tcp://host:8786).")
    @click.option("--memory", default="4GiB", show_default=True, help="The MEMORY resource this worker offers.")
    def dask_worker(address, memory) -> None:  # type: ignore[no-untyped-def]
        """A Dask worker for Linen's proof jobs: one thread, its memory as the MEMORY resource."""
        from linen.network.worker import parse_memory

        args = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                "--nworkers", "1", "--memory-limit", "0", "--resources", f"MEMORY={parse_memory(memory)}"]
        os.execv(sys.executable, args)
