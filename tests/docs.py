"""The project's documentation as the tests read it: README.md and the pages of docs/."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def doc_files() -> list[Path]:
    """README.md, then every page of docs/ by name."""
    return [README, *sorted(DOCS.glob("*.md"))]


def read_doc(name: str) -> str:
    """One page of docs/ (``"presets.md"``), or the README (``"README.md"``)."""
    return (README if name == "README.md" else DOCS / name).read_text(encoding="utf-8")


def read_docs() -> str:
    """README.md and every page of docs/, one after the other."""
    return "\n".join(path.read_text(encoding="utf-8") for path in doc_files())
