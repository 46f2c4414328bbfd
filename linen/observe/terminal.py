"""`linen status`: the dashboard's picture in a terminal, one screen, drawn with rich."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

_STYLE = {"ok": "green", "starting": "dim", "failing": "yellow", "stopped": "yellow", "stalled": "bold red"}


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s ago"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def _range(r: list[int]) -> str:
    return str(r[0]) if r[0] == r[1] else f"{r[0]}–{r[1]}"


def _stage(picture: dict, key: str) -> tuple[str, str, str]:
    stage = picture.get(key)
    if not stage:
        return "–", "", ""
    counts = " ".join(f"{k} {v}" for k, v in sorted(stage["counts"].items()))
    if not stage["recent"]:
        return "none yet", "", counts
    row = stage["recent"][0]
    return _range(row["range"]), f"{row['status']}, {_age(row['age'])}", counts


def render(picture: dict) -> Group:
    """The picture `linen_pipelineStatus` answers, as rich renderables."""
    health = picture["health"]
    status = health.get("status", "ok")
    head = picture["head"]
    title = Text.assemble(("Linen ", "bold"), (f"L2 chain {picture['endpoints'].get('l2ChainId', '?')}  ", ""),
                          (f"pipeline {status}", _STYLE.get(status, "")))
    stages = Table(title="blocks → batches → blobs → proofs → finalized on L1", expand=True)
    for column in ("stage", "latest", "state", "counts"):
        stages.add_column(column)
    blocks = picture["timeline"]["blocks"]
    stages.add_row("blocks", f"#{head['number']}", f"sealed {_age(head['age'])}",
                   f"{len(blocks)} blocks, {sum(b[2] for b in blocks)} txs in the last hour")
    for key, name in (("batches", "batches"), ("blobs", "blobs"), ("aggregations", "proofs")):
        stages.add_row(name, *_stage(picture, key))
    finalized = picture.get("finalized")
    if finalized is not None:
        stages.add_row("finalized on L1", f"#{finalized['block']}", _age(finalized["age"]), finalized["tx"] or "")
    parts: list[Any] = [title, stages]
    tracked = picture.get("tracked")
    if tracked is not None:
        steps = " → ".join(s["step"] for s in tracked["steps"]) or "–"
        parts.append(Panel(f"block {tracked['block']}: [bold]{tracked['stage']}[/bold]\n{steps}", title="followed"))
    actors = Table(title="actors", expand=True)
    for column in ("actor", "status", "last success", "last error"):
        actors.add_column(column)
    now = picture.get("time", time.time())
    for name, report in health.get("actors", {}).items():
        busy = report.get("busySeconds") or 0
        state = report["status"] + (f" (busy {busy:.0f} s)" if busy > 1 else "")
        last = _age(now - report["lastSuccess"]) if report.get("lastSuccess") else "–"
        actors.add_row(name, Text(state, style=_STYLE.get(report["status"], "")), last,
                       (report.get("lastError") or "")[:80])
    parts.append(actors)
    provers = picture.get("provers")
    if provers is not None:
        jobs = ", ".join(f"{j['kind']} {j['outcome']} {j['seconds']} s" for j in provers["recent"][:4])
        parts.append(Text(f"prover {provers['id']}: {provers['current'] or 'idle'}; {provers['done']} done; {jobs}"))
    bridge = picture.get("bridge")
    if bridge is not None:
        counts = "; ".join(f"{d}: " + ", ".join(f"{s} {n}" for s, n in sorted(c.items()))
                           for d, c in sorted(bridge["counts"].items()))
        parts.append(Text(f"bridge: {counts or 'no messages'}"))
    return Group(*parts)
