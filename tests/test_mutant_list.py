"""The mutation check's list (``python -m bench mutants``) cannot rot silently: every original snippet
occurs exactly once in its file, and every test it names exists (read from the test files' source, so
this runs in well under a second)."""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

import pytest

from bench.mutant_list import MUTANTS
from bench.mutants import snippet_count

ROOT = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=None)
def _defined(path: Path) -> frozenset[str]:
    """``name`` and ``Class::name`` for every test function and class in a test file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            names.update(f"{node.name}::{item.name}" for item in node.body
                         if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)))
    return frozenset(names)


def node_exists(node_id: str) -> bool:
    path, _, name = node_id.partition("::")
    file = ROOT / path
    if not (file.is_file() and file.name.startswith("test_") and file.suffix == ".py"):
        return False
    return not name or name.split("[", 1)[0] in _defined(file)


def test_every_mutation_applies_exactly_once_and_names_tests_that_exist():
    names = [m.name for m in MUTANTS]
    assert len(names) == len(set(names)), "two mutations share a name"
    assert len(MUTANTS) >= 25
    for mutant in MUTANTS:
        assert snippet_count(mutant) == 1, f"{mutant.name}: its snippet must occur exactly once in {mutant.file}"
        assert mutant.replacement != mutant.original, mutant.name
        assert mutant.claim and mutant.tests, mutant.name
        for node_id in mutant.tests:
            assert node_exists(node_id), f"{mutant.name}: no test {node_id}"


@pytest.mark.parametrize("node_id, exists", [
    ("tests/test_layout.py::test_no_import_cycles", True),
    ("tests/test_layout.py", True),
    ("tests/test_layout.py::test_no_such_test", False),
    ("tests/no_such_file.py::test_x", False),
])
def test_the_node_check_tells_a_missing_test_from_a_present_one(node_id, exists):
    assert node_exists(node_id) is exists
