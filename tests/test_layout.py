"""The house's rules, read from the source: which package may import which, and no import cycles.

Every import counts, including the ones inside functions (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("nst", "db", "studio", "ui", "plugins", "bench")
#: What each package must never import (directly or lazily).
FORBIDDEN = {
    "nst": {"db", "studio", "ui", "plugins", "streamlit", "huey", "redis", "sqlalchemy", "alembic"},
    "db": {"studio", "ui", "plugins", "streamlit", "huey", "redis"},
    "studio": {"ui", "streamlit"},
    "plugins": {"db", "studio", "ui", "streamlit"},
}
#: ``python -m nst`` needs a file in nst/; it only hands over to the app shell, and nothing imports it.
DOORWAYS = {"nst.__main__"}


def _modules() -> dict[str, Path]:
    found = {"streamlit_app": ROOT / "streamlit_app.py"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(name: str, path: Path, modules=()) -> set[str]:
    """Every module ``name`` imports, as absolute dotted names (``from pkg import mod`` is ``pkg.mod``
    alone when ``pkg.mod`` is one of ``modules``)."""
    is_package = path.name == "__init__.py"
    base = name if is_package else name.rpartition(".")[0]
    result = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            result.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                module = ".".join(anchor + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                full = f"{module}.{alias.name}"
                result.add(full)
                if full not in modules:
                    result.add(module)
    return result


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(name, path, modules):
            while imported and imported not in modules:  # "pkg.mod.attr" -> "pkg.mod"
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_nothing_above_it(package):
    modules = _modules()
    offences = []
    for name, path in modules.items():
        if name.split(".")[0] != package or name in DOORWAYS:
            continue
        for imported in _imports(name, path):
            if imported.split(".")[0] in FORBIDDEN[package]:
                offences.append(f"{name} imports {imported}")
    assert offences == []


def test_nothing_imports_the_doorway():
    graph = _graph()
    assert [name for name, targets in graph.items() if DOORWAYS & targets] == []


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


def test_the_walk_sees_the_imports_it_checks():
    """The checks above are only as good as this reader: it must see lazy and relative imports."""
    graph = _graph()
    assert "nst.builtin_filters" in graph["plugins.style_transfer"]
    assert "nst.engine" in graph["nst.plugin"]  # an import inside a method (RunInputs.engine)
    assert "db.database" in graph["db.library"]  # a relative import
    assert "studio.consumer" in graph["studio.farm_cli"]  # an import inside a function


def test_the_library_modules_use_each_others_public_names_only():
    """db/'s modules meet through public names (a pack adds styles through the styles repository, not
    through another module's private helpers): no ``other._name`` and no ``from .x import _name``."""
    offences = []
    for name, path in _modules().items():
        if name.split(".")[0] != "db":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__") \
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                offences.append(f"{name}:{node.lineno} uses {ast.unparse(node)}")
            if isinstance(node, ast.ImportFrom):
                offences += [f"{name}:{node.lineno} imports {alias.name}" for alias in node.names
                             if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert offences == []
