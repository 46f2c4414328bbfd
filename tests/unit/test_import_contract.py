"""DESIGN.md's layering as a contract import-linter checks (pyproject's [tool.importlinter]): it holds
for the package, and it breaks when a pure layer imports a service."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # lint-imports runs as a process

ROOT = Path(__file__).resolve().parents[2]


def lint_imports(cwd: Path, package_parent: Path) -> subprocess.CompletedProcess:
    # the same interpreter's lint-imports, on the package found first on PYTHONPATH
    script = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run([sys.executable, "-c", script, "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(package_parent), "PATH": "/usr/bin:/bin"}, timeout=120)


def test_the_package_keeps_its_import_contracts():
    result = lint_imports(ROOT, ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 kept, 0 broken" in result.stdout


def test_a_pure_layer_importing_a_service_breaks_the_contract(tmp_path):
    shutil.copytree(ROOT / "linen", tmp_path / "linen", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "linen" / "protocol" / "leak.py").write_text(
        '"""A deliberate violation: the spec layer reaching into the coordinator."""\n\n'
        "from linen.coordinator.store import CoordinatorStore  # noqa: F401\n")
    result = lint_imports(tmp_path, tmp_path)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "linen.protocol is not allowed to import linen.coordinator" in result.stdout
    assert "linen.protocol.leak -> linen.coordinator.store" in result.stdout
    assert "0 kept, 2 broken" in result.stdout
