"""`linen setup …`: Linen's BN254 trusted setup (the SRS bb proves under). See linen/zk/srs.py."""

from __future__ import annotations

from pathlib import Path

import click

from linen.zk import srs as srs_tool


def _report(info: srs_tool.SrsInfo, verb: str) -> None:
    rate = f", {info.points / info.seconds:,.0f} points/s" if info.seconds and verb != "verified" else ""
    click.echo(f"{verb} {info.directory}: {info.points:,} G1 points, {info.contributions} contribution(s), "
               f"{info.seconds:.2f} s{rate}")
    click.echo(f"[tau]G2 (bb layout x.c0 x.c1 y.c0 y.c1): {info.g2.hex()}")
    click.echo(f"security: {info.security}")


def _fail(exc: Exception) -> None:
    raise click.ClickException(str(exc)) from None


@click.group()
def setup() -> None:
    """The BN254 structured reference string (powers of tau) bb proves under."""


@setup.command("srs")
@click.option("--points", type=int, default=srs_tool.DEFAULT_POINTS, show_default=True,
              help="G1 powers to make: at least the largest circuit's dyadic size.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for bn254_g1.dat, bn254_g2.dat and linen_srs.json.")
@click.option("--seed", help="Hex seed for tau (tests only: anyone with the seed can forge); default random.")
@click.option("--threads", type=int, default=0, help="Worker threads (0: one per core).")
def setup_srs(points: int, out_dir: Path, seed: str | None, threads: int) -> None:
    """Make a one-party SRS (insecure until others contribute)."""
    try:
        info = srs_tool.generate(out_dir, points, bytes.fromhex(seed.removeprefix("0x")) if seed else None,
                                 threads=threads)
    except (srs_tool.SrsError, ValueError) as exc:
        _fail(exc)
    _report(info, "made")


@setup.command("contribute")
@click.argument("src", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("dst", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", required=True, help="Who contributes (recorded in the manifest and the proof).")
@click.option("--entropy", help="Extra entropy text mixed with the OS's randomness.")
@click.option("--threads", type=int, default=0)
def setup_contribute(src: Path, dst: Path, name: str, entropy: str | None, threads: int) -> None:
    """Raise every point of SRC to a fresh secret, with a proof of knowledge, into DST."""
    try:
        srs_tool.verify(src, threads=threads)
        info = srs_tool.contribute(src, dst, name, entropy.encode() if entropy else None, threads=threads)
    except (srs_tool.SrsError, ValueError) as exc:
        _fail(exc)
    _report(info, "contributed")


@setup.command("verify")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--min-points", type=int, default=0, help="Refuse an SRS with fewer G1 points.")
@click.option("--threads", type=int, default=0)
def setup_verify(directory: Path, min_points: int, threads: int) -> None:
    """Check the contribution chain and the pairing checks of every pair of successive powers."""
    try:
        info = srs_tool.verify(directory, min_points, threads)
    except (srs_tool.SrsError, ValueError) as exc:
        _fail(exc)
    _report(info, "verified")


@setup.command("import-ptau")
@click.argument("ptau", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("dst", type=click.Path(file_okay=False, path_type=Path))
@click.option("--points", type=int, required=True, help="G1 powers to take from the .ptau.")
def setup_import_ptau(ptau: Path, dst: Path, points: int) -> None:
    """Take G1 powers and [tau]G2 from a snarkjs .ptau file (then verified like any SRS)."""
    try:
        info = srs_tool.import_ptau(ptau, dst, points)
    except (srs_tool.SrsError, ValueError) as exc:
        _fail(exc)
    _report(info, "imported")
