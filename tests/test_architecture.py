"""The import graph stays as DESIGN.md draws it: no cycle anywhere, and the contracts in .importlinter."""

import subprocess
import sys
from pathlib import Path

import grimp

from tests.support import PROJECT

PACKAGES = ("chatapp", "core", "security", "billing", "accounts", "fakes", "bench")


def _cycles(graph: grimp.ImportGraph) -> list[set[str]]:
    """Return every set of two or more modules that import each other, directly or not (Tarjan's SCCs)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = set()
            while (member := stack.pop()) != module:
                component.add(member)
            if component:
                cycles.append({module, *component})

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


def test_no_module_imports_itself_through_others():
    assert _cycles(grimp.build_graph(*PACKAGES)) == []


def test_the_layer_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"  # the console script; the module has no __main__
    lint = subprocess.run(
        [str(lint_imports), "--config", str(PROJECT / ".importlinter")],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout
    assert "Contracts: 6 kept, 0 broken." in lint.stdout
