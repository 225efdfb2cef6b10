"""The import graphs stay as drawn: no cycle, the contracts in .importlinter, page modules owning their state."""

import graphlib
import re
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


# ---------------------------------------------------------------- the page's ES modules

STATIC = PROJECT / "static"
IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"([^"]+)";', re.MULTILINE)
EXPORT = re.compile(r"^export (?:async )?(function|class|const|let|var) (\w+)(?: = (.))?", re.MULTILINE)
LOOKUP = re.compile(r'getElementById\("([^"]+)"\)')


def _page_modules() -> dict[str, str]:
    """Return the source of every page module, by its path under static/."""
    return {path.relative_to(STATIC).as_posix(): path.read_text() for path in sorted(STATIC.rglob("*.js"))}


def _imports(name: str, source: str) -> list[tuple[str, list[str]]]:
    """Return (module, names) for each `import { … } from "…"` of the module `name`."""
    folder = (STATIC / name).parent
    found = []
    for names, target in IMPORT.findall(source):
        module = (folder / target).resolve().relative_to(STATIC.resolve()).as_posix()
        found.append((module, [part.strip() for part in names.split(",") if part.strip()]))
    return found


def test_page_modules_import_only_what_their_neighbours_export():
    modules = _page_modules()
    exported = {name: {match[1] for match in EXPORT.findall(source)} for name, source in modules.items()}
    missing = [
        f"{name} imports {imported} from {module}"
        for name, source in modules.items()
        for module, names in _imports(name, source)
        for imported in names
        if imported not in exported.get(module, ())
    ]
    assert missing == []


def test_page_modules_import_one_way():
    modules = _page_modules()
    graph = {name: {module for module, _ in _imports(name, source)} for name, source in modules.items()}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the circle


def test_page_modules_export_no_mutable_state():
    # State is changed through its owner's functions: an exported `let`, or an exported object or array, would let
    # any module change it behind its owner's back.
    mutable = [
        f"{name}: {kind} {exported}"
        for name, source in _page_modules().items()
        for kind, exported, opening in EXPORT.findall(source)
        if kind in ("let", "var") or (kind == "const" and opening in "{[n")
    ]
    assert mutable == []


def test_each_page_element_is_looked_up_by_one_module():
    # `app` carries the page's configuration (its URLs) for the entry module, beside the class the sidebar sets.
    owners: dict[str, set[str]] = {}
    for name, source in _page_modules().items():
        for element_id in LOOKUP.findall(source):
            owners.setdefault(element_id, set()).add(name)
    shared = {element_id: names for element_id, names in owners.items() if len(names) > 1}
    assert shared == {"app": {"chatapp/chat.js", "chatapp/sidebar.js"}}
