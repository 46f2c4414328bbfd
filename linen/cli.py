"""`linen …`: the command line. Each command loads one config and starts what it names."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import signal
import sys
from pathlib import Path

import click

from linen.config import load_config
from linen.errors import ConfigError


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """Linen: a ZK-rollup stack (Linea's architecture) on one machine."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _node_options(fn):  # type: ignore[no-untyped-def]
    options = [
        click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), help="TOML config file."),
        click.option("--data-dir", help="Where the chain is stored."),
        click.option("--rpc-port", type=int, help="JSON-RPC port (HTTP and WebSocket)."),
        click.option("--rpc-host", help="JSON-RPC listen address (default 127.0.0.1)."),
        click.option("--genesis", help="Genesis JSON (geth/besu style); default: the devnet genesis."),
        click.option("--block-period", type=float, help="Seconds between blocks (default 2)."),
        click.option("--create-empty-blocks/--no-create-empty-blocks", default=None, help="Seal blocks with no txs."),
        click.option("--sequencer-key", help="Clique signer private key (0x-hex); default: the dev sequencer key."),
        click.option("--traces-limits", help="Trace-limits TOML ([traces_limits], [traces_limits_large]); default: seed."),
        click.option("--traces-dir", help="Where conflated trace files are written; default: <data-dir>/traces."),
        click.option("--l1-rpc", help="L1 JSON-RPC URL (devnet); default: start anvil under <data-dir>/l1."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _load(  # type: ignore[no-untyped-def]
    config_file, data_dir, rpc_port, rpc_host, genesis, block_period, create_empty_blocks, sequencer_key,
    traces_limits, traces_dir, l1_rpc, default_dir, extra=None,
):
    overrides = {
        ("l1", "rpc-url"): l1_rpc,
        ("tracer", "limits-file"): traces_limits,
        ("tracer", "traces-dir"): traces_dir,
        ("node", "data-dir"): data_dir,
        ("node", "genesis"): genesis,
        ("rpc", "port"): rpc_port,
        ("rpc", "host"): rpc_host,
        ("sequencer", "block-period"): block_period,
        ("sequencer", "create-empty-blocks"): create_empty_blocks,
        ("sequencer", "key"): sequencer_key,
    }
    overrides.update(extra or {})
    if data_dir is None and config_file is None:
        overrides[("node", "data-dir")] = default_dir
    return load_config(config_file, overrides)


async def _run_node(config, on_started) -> None:  # type: ignore[no-untyped-def]
    from linen.node import Node

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    node = Node(config)
    await node.start()
    on_started(node)
    await stop.wait()
    click.echo("shutting down...", err=True)
    await node.stop()


async def _run_devnet(config, proofs: str = "exec", prover_workers: int = 0) -> None:  # type: ignore[no-untyped-def]
    from linen.devnet import Devnet

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    devnet = Devnet(config, config.l1_rpc_url or None, proofs=proofs, prover_workers=prover_workers)
    try:
        await devnet.start(lambda text: click.echo(text, err=True))
        _describe(devnet.node, config.data_dir / "devnet.json", devnet)
        await stop.wait()
        click.echo("shutting down...", err=True)
    finally:
        await devnet.stop()


def _describe(node, devnet_file: Path | None, devnet=None) -> None:  # type: ignore[no-untyped-def]
    from linen.devaccounts import dev_accounts

    info: dict = {
        "l2": {
            "rpc": node.rpc.url,
            "ws": node.rpc.ws_url,
            "chainId": node.chain_id,
            "head": node.store.head().block_number,
            "authRpc": node.rpc.auth_url,  # the write methods, with a JWT signed by jwtSecret
            "jwtSecret": str(node.config.jwt_secret),
            "health": node.rpc.url + "/health",  # every actor's report (JSON)
            "metrics": node.rpc.url + "/metrics",  # Prometheus text format
            "dashboard": node.rpc.url + "/dashboard",
        },
        "accounts": [{"address": a.address, "privateKey": a.private_key} for a in dev_accounts()],
    }
    if devnet is not None:
        deployment = devnet.deployment
        info["l1"] = {"rpc": devnet.l1.url, "chainId": deployment.l1_chain_id}
        info["contracts"] = {
            "rollup": deployment.rollup,
            "verifiers": {str(k): v for k, v in deployment.verifiers.items()},
            "l2MessageService": deployment.l2_message_service,
        }
        info["stateManager"] = {"rpc": node.rpc.url}
        info["prover"] = {"requestsRoot": str(devnet.config.data_dir / "prover")}
        network = getattr(devnet.pipeline, "prover_network", None)
        if network is not None:  # `linen prover worker --coordinator URL` joins it
            info["prover"]["coordinator"] = network.url
            click.echo(f"prover network {network.url}  ({len(network.workers.procs)} workers; more join with "
                       f"linen prover worker --coordinator {network.url} --zk-dir {devnet.config.data_dir / 'zk'})")
        postman = getattr(devnet.pipeline, "postman", None)
        if postman is not None:
            info["postman"] = {"rpc": postman.rpc.url, "address": postman.settings.l1_address}
        click.echo(f"L1 RPC      {devnet.l1.url}  (chain id {deployment.l1_chain_id})")
        click.echo(f"L1 rollup   {deployment.rollup}  (includes the L1 message service)")
        for proof_type, verifier in deployment.verifiers.items():
            click.echo(f"L1 verifier {verifier}  (proof type {proof_type})")
        if deployment.l2_message_service is not None:
            click.echo(f"L2 message service {deployment.l2_message_service}")
        else:
            click.echo("L2 message service: none (a zk-only chain: plain transfers, finalized on validity proofs)")
        info["proofs"] = devnet.proofs
        if "postman" in info:
            click.echo(f"postman RPC {info['postman']['rpc']}  (claims as {info['postman']['address']}, dev account 9)")
    click.echo(f"L2 RPC      {node.rpc.url}")
    click.echo(f"L2 WS       {node.rpc.ws_url}")
    click.echo(f"dashboard   {node.rpc.url}/dashboard   (health /health, Prometheus /metrics)")
    if node.rpc.auth_url:
        click.echo(f"L2 auth RPC {node.rpc.auth_url}  (write methods; JWT secret {node.config.jwt_secret})")
    click.echo(f"chain id    {node.chain_id}")
    click.echo(f"head block  {info['l2']['head']}")
    click.echo("funded dev accounts (10000 ETH each):")
    for i, acct in enumerate(info["accounts"]):
        click.echo(f"  ({i}) {acct['address']}  {acct['privateKey']}")
    if devnet_file is not None:
        from linen.jsonfile import write_json_atomically

        write_json_atomically(devnet_file, info)
        click.echo(f"written to {devnet_file}")
    sys.stdout.flush()


@main.command()
@_node_options
def node(**options) -> None:  # type: ignore[no-untyped-def]
    """Run the L2 sequencer node (JSON-RPC on --rpc-port)."""
    try:
        config = _load(**options, default_dir=".linen/node")
        asyncio.run(_run_node(config, lambda n: _describe(n, None)))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:  # a port in use, a disk that fails at start: one line, no traceback
        raise click.ClickException(f"the node cannot start: {exc}") from None


@main.command()
@_node_options
@click.option("--fresh", is_flag=True, help="Delete the data dir first and start a new chain.")
@click.option("--proofs", type=click.Choice(["exec", "zk"]), default="exec", show_default=True,
              help="exec: attested re-execution; zk: a zk-only chain of plain transfers finalized on validity proofs.")
@click.option("--prover-workers", type=int, default=0, show_default=True,
              help="zk: prove on a proof network of this many worker processes (its URL in devnet.json as "
                   "prover.coordinator); 0: in the prover's own processes.")
def devnet(fresh: bool, proofs: str, prover_workers: int, **options) -> None:  # type: ignore[no-untyped-def]
    """Run the devnet: an L1 (anvil, or --l1-rpc), the L2 node, and the rollup and messaging contracts."""
    try:
        config = _load(**options, default_dir=".linen/devnet",
                       extra={("sequencer", "provable"): "transfers"} if proofs == "zk" else None)
        if fresh and config.data_dir.exists():
            shutil.rmtree(config.data_dir)
        from linen.node import usable_data_dir

        usable_data_dir(config.data_dir)
        if prover_workers and proofs != "zk":
            raise click.UsageError("--prover-workers needs --proofs zk")
        asyncio.run(_run_devnet(config, proofs, prover_workers))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"the devnet cannot start: {exc}") from None


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path(".linen/devnet"),
              show_default=True, help="A devnet's data dir: its devnet.json names the node's RPC.")
@click.option("--rpc", "rpc_url", help="The node's JSON-RPC URL (instead of --data-dir).")
@click.option("--block", type=int, help="Also show where this L2 block has got to.")
@click.option("--watch", is_flag=True, help="Redraw every second until Ctrl-C.")
def status(data_dir: Path, rpc_url: str | None, block: int | None, watch: bool) -> None:
    """The pipeline in one screen: blocks, batches, blobs, proofs, finality on L1, actors, provers, bridge."""
    import json

    from rich.console import Console
    from rich.live import Live

    from linen.errors import OperationalError
    from linen.observe.terminal import render
    from linen.rpc.client import RpcClient

    if rpc_url is None:
        info_file = data_dir / "devnet.json"
        try:
            rpc_url = json.loads(info_file.read_text())["l2"]["rpc"]
        except (OSError, ValueError, KeyError) as exc:
            raise click.ClickException(f"no running devnet described in {info_file} ({exc}): pass --rpc URL") from None
    client = RpcClient(rpc_url)

    def picture():  # type: ignore[no-untyped-def]
        try:
            return render(client.call("linen_pipelineStatus", *([hex(block)] if block is not None else [])))
        except OperationalError as exc:
            raise click.ClickException(f"the node at {rpc_url} does not answer: {exc}") from None

    console = Console()
    if not watch:
        console.print(picture())
        return
    import time

    with Live(picture(), console=console, refresh_per_second=2, screen=True) as live:
        try:
            while True:
                time.sleep(1)
                live.update(picture())
        except KeyboardInterrupt:
            pass


@main.command("state-manager")
@click.option("--node-rpc", required=True, help="JSON-RPC URL of the node whose trielogs it follows.")
@click.option("--data-dir", default=".linen/state-manager", show_default=True, type=click.Path(path_type=Path))
@click.option("--rpc-host", default="127.0.0.1", show_default=True)
@click.option("--rpc-port", default=8889, show_default=True, type=int)
@click.option("--hasher", default="poseidon2-bn254", show_default=True, help="poseidon2-bn254 or mimc-bls12-377.")
@click.option("--finalized-only", is_flag=True, help="Import only up to the block rollup_forkChoiceUpdated names.")
@click.option("--auth-port", default=0, show_default=True, type=int,
              help="Local endpoint for the write methods (pushes, forkChoiceUpdated); 0 = any free port, -1 = none.")
@click.option("--jwt-secret", type=click.Path(dir_okay=False, path_type=Path),
              help="JWT secret file shared with the node and coordinator (default <data-dir>/jwt.hex, made if absent).")
def state_manager(node_rpc: str, data_dir: Path, rpc_host: str, rpc_port: int, hasher: str, finalized_only: bool,
                  auth_port: int, jwt_secret: Path | None) -> None:
    """Run the state manager apart from the node (Shomei's role): follows the node, serves zk proofs."""
    from linen.node import run_state_manager
    from linen.rpc.auth import load_or_create_secret
    from linen.rpc.server import AuthEndpoint

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)

        def started(server, manager) -> None:  # type: ignore[no-untyped-def]
            click.echo(f"state manager RPC {server.url}  (hasher {hasher}, following {node_rpc})")
            if server.auth_url:
                click.echo(f"state manager authenticated RPC {server.auth_url}  (JWT secret {secret_path})")
            sys.stdout.flush()

        secret_path = jwt_secret or data_dir / "jwt.hex"
        auth = None if auth_port < 0 else AuthEndpoint("127.0.0.1", auth_port, load_or_create_secret(secret_path))
        await run_state_manager(data_dir, hasher, node_rpc, rpc_host, rpc_port, stop, finalized_only, started, auth)

    try:
        asyncio.run(run())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _standalone_service(load, build, config_file, options):  # type: ignore[no-untyped-def]
    """Settings from the config file and the command line's options, and the service built from them."""
    overrides = {key.replace("_", "-"): value for key, value in options.items()}
    try:
        settings = load(config_file, overrides)
        return settings, build(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _stop_on_signals():  # type: ignore[no-untyped-def]
    """An event that SIGINT or SIGTERM sets, so a standalone service can close its stores before it exits."""
    import threading

    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    return stopping


@main.command("coordinator")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML file; its [coordinator] table (keys in linen/config.py).")
@click.option("--data-dir", help="Where the coordinator keeps coordinator.sqlite (default .linen/coordinator).")
@click.option("--node-rpc", help="The L2 node's JSON-RPC URL.")
@click.option("--state-manager-rpc", help="The state manager's JSON-RPC URL.")
@click.option("--l1-rpc", help="The L1 JSON-RPC URL.")
@click.option("--prover-root", help="Folder holding prover-{execution,compression,aggregation}/.")
@click.option("--traces-dir", help="The node's conflated-traces folder.")
def coordinator(config_file, **options) -> None:  # type: ignore[no-untyped-def]
    """Run the coordinator apart: conflation, proof requests, blob submission and finalization on L1."""
    from linen.coordinator.service import Coordinator
    from linen.coordinator.settings import load_coordinator_settings
    from linen.node import run_coordinator

    settings, service = _standalone_service(load_coordinator_settings, Coordinator, config_file, options)
    stopping = _stop_on_signals()
    click.echo(f"coordinator: node {settings.node_rpc}, state manager {settings.state_manager_rpc}, "
               f"L1 {settings.l1_rpc}, rollup {settings.rollup}, requests under {settings.prover_root}")
    run_coordinator(service, stopping, lambda url: click.echo(f"coordinator: /health and /metrics at {url}"))


@main.command("postman")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML file; its [postman] table (keys in linen/config.py).")
@click.option("--data-dir", help="Where the postman keeps postman.sqlite (default .linen/postman).")
@click.option("--l1-rpc", help="The L1 JSON-RPC URL.")
@click.option("--l2-rpc", help="The L2 node's JSON-RPC URL.")
@click.option("--rollup", help="The L1 rollup (L1 message service) address.")
@click.option("--l2-message-service", help="The L2 message service address.")
@click.option("--rpc-port", type=int, help="Port of the postman's JSON-RPC (default 8890).")
def postman(config_file, **options) -> None:  # type: ignore[no-untyped-def]
    """Run the postman: claims bridge messages on L2 and L1 when their fee pays for the claim."""
    from linen.node import run_postman
    from linen.postman.service import Postman
    from linen.postman.settings import load_postman_settings

    settings, service = _standalone_service(load_postman_settings, Postman, config_file, options)
    stopping = _stop_on_signals()

    def serving(url: str) -> None:
        click.echo(f"postman RPC {url}: L1 {settings.l1_rpc} (rollup {settings.rollup}), L2 {settings.l2_rpc} "
                   f"(message service {settings.l2_message_service}), store under {settings.data_dir}")
        sys.stdout.flush()

    try:
        run_postman(service, stopping, serving)
    except OSError as exc:
        raise click.ClickException(
            f"the postman's RPC cannot listen on {settings.rpc_host}:{settings.rpc_port}: {exc}") from None
    click.echo("shutting down...", err=True)


@main.group(invoke_without_command=True)
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML file with a [prover] table.")
@click.option("--requests-root", help="Folder holding prover-{execution,compression,aggregation}/.")
@click.option("--local-id", help="This controller's id (must start with 'prover').")
@click.pass_context
def prover(ctx, config_file, requests_root, local_id) -> None:  # type: ignore[no-untyped-def]
    """Run a prover controller: take requests from the folders, prove them, write responses."""
    if ctx.invoked_subcommand is not None:
        return
    from linen.node import run_prover_controller
    from linen.prover.settings import load_controller_settings

    try:
        settings = load_controller_settings(config_file, {"requests-root": requests_root, "local-id": local_id})
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    run_prover_controller(settings, lambda url: click.echo(f"prover controller: /health and /metrics at {url}"))


@prover.command("prove", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def prover_prove(ctx) -> None:  # type: ignore[no-untyped-def]
    """Prove one request file: --in REQUEST --out RESPONSE [--config FILE] [--large]."""
    from linen.prover.prove import run

    ctx.exit(run(list(ctx.args)))


def _register_network_commands() -> None:
    from linen.network.cli_commands import register

    register(prover)


_register_network_commands()


@main.group()
def bench() -> None:
    """Benchmarks (print figures and write JSON)."""


def _register_bench_commands() -> None:
    from linen.benchmarks.cli_commands import register

    register(bench)


_register_bench_commands()


class _ImportedGroup(click.Group):
    """The group called `name` in `module`, imported only when used: `linen bridge` needs web3, other commands not."""

    def __init__(self, name: str, module: str, help: str) -> None:
        super().__init__(name, help=help)
        self._module = module

    def _group(self) -> click.Group:
        import importlib

        return getattr(importlib.import_module(self._module), self.name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._group().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._group().get_command(ctx, name)


main.add_command(_ImportedGroup(
    "bridge", "linen.bridge.cli_commands",
    help="Move ETH (and calls) between L1 and L2 through the message services; follow and claim messages.",
))
main.add_command(_ImportedGroup(
    "setup", "linen.zk.cli_commands",
    help="The BN254 trusted setup (SRS) bb proves under: make, contribute, verify, import a .ptau.",
))


@bench.command("hashers")
def bench_hashers() -> None:
    """Hashes per second (Python and native) and sparse Merkle tree updates per second."""
    from linen.benchmarks.hashers import main as run_hashers

    run_hashers([])


@bench.command("throughput")
@click.option("--seconds", type=float, default=20.0, help="Length of the measured phase per target.")
@click.option("--senders", type=int, default=200)
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench/results/throughput.json"))
def bench_throughput(seconds: float, senders: int, out: Path) -> None:
    """Sustained inclusion rate and latency, Linen vs anvil."""
    from linen.benchmarks.throughput import run

    result = run(seconds=seconds, senders=senders, out=out)
    click.echo(json.dumps(result["summary"], indent=2))


@bench.command("state-lag")
@click.option("--seconds", type=float, default=20.0, help="Length of the measured phase per case.")
@click.option("--senders", type=int, default=200)
@click.option("--setups", default="no-state-manager,apart,in-node", show_default=True)
@click.option("--kinds", default="eth,erc20", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench/results/state_lag.json"))
def bench_state_lag(seconds: float, senders: int, setups: str, kinds: str, out: Path) -> None:
    """The state manager's lag behind the node under the throughput load (poseidon2-bn254)."""
    from linen.benchmarks.state_lag import run

    run(seconds=seconds, senders=senders, out=out, setups=tuple(s for s in setups.split(",") if s),
        kinds=tuple(k for k in kinds.split(",") if k))


if __name__ == "__main__":
    main()
