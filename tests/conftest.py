"""Fixtures: a real `linen node` process per test that needs one."""

from __future__ import annotations

import pytest

from tests.helpers import NodeProcess


@pytest.fixture
def node(tmp_path):
    proc = NodeProcess(tmp_path / "node").start()
    yield proc
    proc.stop()
