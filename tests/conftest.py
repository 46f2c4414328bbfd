"""Fixtures: a real `linen node` process per test that needs one; and what `slow` means.

`slow` marks every test that starts a process (anvil, a node, a devnet, a prover or a tool): all of
tests/l1, tests/integration and tests/e2e, every test using the `node` fixture below, and the unit
tests marked by hand. Plain `pytest` runs the fast rest (pyproject's addopts: `-m "not slow"`);
`./run test`, which CI runs, runs everything.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import NodeProcess

PROCESS_DIRS = ("l1", "integration", "e2e")
TESTS = Path(__file__).resolve().parent


@pytest.fixture
def node(tmp_path):
    proc = NodeProcess(tmp_path / "node").start()
    yield proc
    proc.stop()


def _starts_a_node_process(item: pytest.Item) -> bool:
    """Whether the test uses this file's `node` fixture (modules may define their own, in-process, `node`)."""
    definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {}).get("node", ())
    return any(getattr(d.func, "__module__", "") == __name__ for d in definitions)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).resolve().relative_to(TESTS).parts
        if parts[0] in PROCESS_DIRS or _starts_a_node_process(item):
            item.add_marker(pytest.mark.slow)
