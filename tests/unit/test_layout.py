"""The layout's promises, read from the source: no import cycles, pure packages
that stay pure, and `newsdesk/` that does not reach into `tasks`."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import ROOT

# Folders and the package name each is installed under.
PACKAGES = {"newsdesk": ROOT / "newsdesk", "newsdesk.flows": ROOT / "flows", "newsdesk.tasks": ROOT / "tasks"}


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join((package, *parts)).removesuffix(".__init__")
            found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path, *, top_level_only: bool = False) -> set[str]:
    """Modules of newsdesk that `path` imports (`from a import b` counts a.b when it is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name in MODULES}


def _reaches(start: str, graph: dict[str, set[str]]) -> set[str]:
    seen, stack = set(), list(graph[start])
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(graph.get(name, ()))
    return seen


def test_every_module_is_found():
    assert {
        "newsdesk.cli",
        "newsdesk.flows.ingest",
        "newsdesk.tasks.extract.prepare",
        "newsdesk.tasks.store.load",
    } <= set(MODULES)


def test_no_import_cycles():
    # Imports under TYPE_CHECKING and inside functions count too: a cycle hidden in a function is still one.
    graph = {name: _imports(path) - {name} for name, path in MODULES.items()}
    # A package's __init__ importing its own submodules is not a cycle of the design.
    for name in graph:
        graph[name] = {m for m in graph[name] if not (m.startswith(name + ".") and MODULES[name].name == "__init__.py")}
    cycles = [name for name in graph if name in _reaches(name, graph)]
    assert cycles == []


def test_pure_packages_reach_neither_the_network_nor_the_database_nor_prefect():
    for name, path in MODULES.items():
        if name.startswith(("newsdesk.tasks.extract", "newsdesk.tasks.dedup")):
            reached = _imports(path)
            assert not {
                m for m in reached if m.startswith(("newsdesk.tasks.web", "newsdesk.tasks.store", "newsdesk.flows"))
            }, name
            text = path.read_text(encoding="utf-8")
            for library in ("import httpx", "import sqlalchemy", "from prefect", "import prefect", "newsdesk.database"):
                assert library not in text, (name, library)


def test_newsdesk_does_not_reach_into_tasks_from_inside_functions():
    for name, path in MODULES.items():
        if (
            name.startswith("newsdesk.")
            and name.count(".") == 1
            and not name.startswith(("newsdesk.tasks", "newsdesk.flows"))
        ):
            inner = _imports(path) - _imports(path, top_level_only=True)
            assert not {m for m in inner if m.startswith("newsdesk.tasks")}, name


def test_a_cycle_is_caught(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [name for name in graph if name in _reaches(name, graph)] == ["a", "b", "c"]
