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


#: The generated tables: (page, marker name, the table's rows in nst.config).
GENERATED = (("configuration.md", "settings", "SETTINGS"), ("testing.md", "test-settings", "TEST_SETTINGS"))


def generated_block(text: str, marker: str) -> str:
    """What stands between ``<!-- marker -->`` and ``<!-- /marker -->`` (ValueError when either is missing)."""
    start, end = f"<!-- {marker} -->\n", f"<!-- /{marker} -->"
    return text[text.index(start) + len(start):text.index(end)]


def write_generated() -> None:
    """Write each generated table into its page (``python -m tests.docs``)."""
    from nst import config

    for page, marker, table in GENERATED:
        path = DOCS / page
        text = path.read_text(encoding="utf-8")
        old = generated_block(text, marker)
        path.write_text(text.replace(f"<!-- {marker} -->\n{old}", f"<!-- {marker} -->\n"
                                     + config.markdown(getattr(config, table))), encoding="utf-8")


if __name__ == "__main__":
    write_generated()
