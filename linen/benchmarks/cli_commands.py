"""`linen bench blob-density`, `l1-costs`, `bridge-latency`, `hostile`, `zk` and `zk-finality`: click commands the `bench` group in cli.py adds.

Kept here so the benchmarks' options live beside the benchmarks; cli.py registers them with
`register(bench)`. The imports of the benchmarks themselves wait until a command runs.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("blob-density")
@click.option("--kinds", default="eth,erc20", show_default=True, help="Comma-separated: eth,erc20.")
@click.option("--txs-per-block", type=int, default=100, show_default=True)
@click.option("--senders", type=int, default=50, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench/results/blob_density.json"),
              show_default=True)
def blob_density(kinds: str, txs_per_block: int, senders: int, seed: int, out: Path) -> None:
    """Transactions per blob: Linen's blob v1 vs zstd-19 / brotli-11 of the same blocks' RLP."""
    from linen.benchmarks.blob_density import run

    run(tuple(k for k in kinds.split(",") if k), txs_per_block, senders, seed, out)


@click.command("l1-costs")
@click.option("--txs", type=int, default=200, show_default=True, help="ETH transfers sent.")
@click.option("--erc20", type=int, default=10, show_default=True, help="ERC-20 transfers sent among them.")
@click.option("--seconds", type=float, default=20.0, show_default=True, help="Time over which they are sent.")
@click.option("--finality-timeout", type=float, default=600.0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench/results/l1_costs.json"),
              show_default=True)
@click.option("--keep-workdir", is_flag=True, help="Keep the temp dir (devnet data and log).")
def l1_costs(txs: int, erc20: int, seconds: float, finality_timeout: float, out: Path, keep_workdir: bool) -> None:
    """One devnet run: L2 inclusion to L1 finalization (p50/p99) and L1 gas per L2 transaction."""
    from linen.benchmarks.l1_costs import run

    run(txs, erc20, seconds, out, finality_timeout, keep_workdir)


@click.command("bridge-latency")
@click.option("--messages", type=int, default=15, show_default=True, help="Deposits sent, and as many withdrawals.")
@click.option("--seconds", type=float, default=90.0, show_default=True, help="Time over which they are sent.")
@click.option("--claim-timeout", type=float, default=240.0, show_default=True,
              help="Seconds after the last send to wait for the postman's claims.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench/results/bridge_latency.json"),
              show_default=True)
@click.option("--keep-workdir", is_flag=True, help="Keep the temp dir (devnet data and log).")
def bridge_latency(messages: int, seconds: float, claim_timeout: float, out: Path, keep_workdir: bool) -> None:
    """One devnet run: deposits and withdrawals with fees, send to claimable and to claimed by the postman."""
    from linen.benchmarks.bridge_latency import run

    run(messages, seconds, out, claim_timeout, keep_workdir)


@click.command("hostile")
@click.option("--budget", type=float, default=120.0, show_default=True,
              help="Seconds for the whole run (each phase its share); a hard stop follows 30 s later.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--kills", type=int, default=5, show_default=True, help="kill -9s of the node under load (at most).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench/results/hostile.json"),
              show_default=True)
@click.option("--keep-workdir", is_flag=True, help="Keep the temp dir (node data and log).")
@click.option("--strict", is_flag=True, help="Exit 1 on crashes, lost receipts or internal errors.")
def hostile(budget: float, seed: int, kills: int, out: Path, keep_workdir: bool, strict: bool) -> None:
    """Attack a fresh node: fuzz every RPC method, send bad transactions, kill -9 it under load."""
    from linen.benchmarks.hostile import run, strict_failures

    result = run(budget, seed, kills, out, keep_workdir)
    if strict and strict_failures(result):
        raise click.ClickException("strict: " + ", ".join(strict_failures(result)))


@click.command("zk")
@click.option("--ks", default="1,4,8", show_default=True, help="Segment sizes to measure, comma-separated.")
@click.option("--batch", type=int, default=64, show_default=True, help="Transfers in the batch proven as a tree.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench/results/zk.json"), show_default=True)
@click.option("--workdir", type=click.Path(path_type=Path), default=None, help="Keep circuits, SRS and proofs here.")
def zk(ks: str, batch: int, out: Path, workdir: Path | None) -> None:
    """The proof tree's costs: gates, prove time and memory per circuit; a batch serial vs 2 workers."""
    from linen.benchmarks.zk_circuits import run

    run(tuple(int(k) for k in ks.split(",")), batch, out, workdir)


@click.command("zk-finality")
@click.option("--waves", default="16,64", show_default=True, help="Transfers per wave, comma-separated, in order.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench/results/zk_finality.json"),
              show_default=True)
@click.option("--keep-workdir", is_flag=True, help="Keep the temp dir (devnet data and log).")
def zk_finality(waves: str, out: Path, keep_workdir: bool) -> None:
    """Inclusion to L1 finality on `linen devnet --proofs zk` for waves of plain transfers."""
    from linen.benchmarks.zk_finality import run

    run(tuple(int(w) for w in waves.split(",")), out, keep_workdir)


COMMANDS = (blob_density, l1_costs, bridge_latency, hostile, zk, zk_finality)  # prover_network is added below


@click.command("prover-network")
@click.option("--scale", type=float, default=0.01, show_default=True,
              help="Simulated job length as a fraction of the zk benchmark's measured segment and merge times.")
@click.option("--segments", type=int, default=16, show_default=True, help="Segments of the overhead tree.")
@click.option("--widths", default="1,2,4,8", show_default=True, help="Worker counts W.")
@click.option("--executors", default="local,dask,network", show_default=True)
@click.option("--fault-segments", type=int, default=32, show_default=True)
@click.option("--fault-workers", type=int, default=8, show_default=True)
@click.option("--q", type=float, default=0.2, show_default=True, help="Fault rate per attempt.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--repeats", type=int, default=3, show_default=True, help="Runs of each fault case (medians).")
@click.option("--parts", default="overhead,faults,simulator", show_default=True,
              help="Which parts to run (also `kinds`: each fault kind alone; `real`: the 64-transfer tree of real bb proofs, about 20 minutes); the others are kept from the JSON file.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench/results/prover_network.json"),
              show_default=True)
def prover_network(scale, segments, widths, executors, fault_segments, fault_workers, q, seed, repeats, parts,  # type: ignore[no-untyped-def]
                   out) -> None:
    """The scheduler's executors at W = 1..8, and q = 0.2 faults: Linen's speculation vs static 1:4."""
    from linen.benchmarks.prover_network import run

    run(out, scale, segments, [int(w) for w in widths.split(",")], executors.split(","), fault_segments,
        fault_workers, q, seed, repeats, tuple(parts.split(",")))


def register(group: click.Group) -> None:
    """Add the commands to `group` (cli.py's `bench`)."""
    for command in (*COMMANDS, prover_network):
        group.add_command(command)
