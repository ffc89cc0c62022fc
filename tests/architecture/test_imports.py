"""The layering is a test: import-linter's contracts (``[tool.importlinter]`` in
pyproject.toml) must all hold, and no package may have an import cycle.

grimp, the graph import-linter builds, reads every import statement in a module — at
the top, inside functions and under ``TYPE_CHECKING`` — so a lazy import can't hide an
upward dependency. The last two tests show that on a throwaway package.

``lint-imports`` runs in a subprocess: its CLI reconfigures logging with ``dictConfig``,
which would silence every logger of the test process (and with them the tests that read
log lines).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cloud", "edge", "firmware_sim", "kywash", "launchers")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(config: Path, *, path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(path)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache", "--no-logo"],
        cwd=path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_every_import_linter_contract_is_kept() -> None:
    result = lint_imports(ROOT / "pyproject.toml", path=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's algorithm over the module graph: the groups of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in graph.find_modules_directly_imported_by(module):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return groups


def test_no_module_is_part_of_an_import_cycle() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    assert strongly_connected(graph) == []


@pytest.fixture
def layered_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``demo_layers``: ``low`` imports ``high`` only lazily, inside a function and under TYPE_CHECKING."""
    package = tmp_path / "demo_layers"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "high.py").write_text("from demo_layers import low\n")
    (package / "low.py").write_text(
        textwrap.dedent(
            """
            from typing import TYPE_CHECKING

            if TYPE_CHECKING:
                from demo_layers.high import Thing


            def later():
                from demo_layers import high

                return high
            """
        )
    )
    config = tmp_path / "layers.toml"
    config.write_text(
        textwrap.dedent(
            """
            [tool.importlinter]
            root_packages = ["demo_layers"]

            [[tool.importlinter.contracts]]
            name = "high above low"
            type = "layers"
            layers = ["demo_layers.high", "demo_layers.low"]
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))  # for grimp, in this process
    return config


def test_a_lazy_upward_import_breaks_a_layers_contract(layered_package: Path) -> None:
    result = lint_imports(layered_package, path=layered_package.parent)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "demo_layers.low -> demo_layers.high (l.5, l.9)" in result.stdout


def test_a_lazy_import_cycle_is_found(layered_package: Path) -> None:
    graph = grimp.build_graph("demo_layers", cache_dir=None)
    assert strongly_connected(graph) == [["demo_layers.high", "demo_layers.low"]]
