"""Every relative link in README.md and docs/*.md leads to a file that exists, and to a heading of it when
the link names one (as GitHub makes a heading's anchor)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs import ROOT, doc_files

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
CODE = re.compile(r"`[^`\n]*`")


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {anchor(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def links(path: Path) -> list[str]:
    text = CODE.sub("", FENCE.sub("", path.read_text(encoding="utf-8")))
    return [m.group(1) for m in LINK.finditer(text)]


def broken(path: Path) -> list[str]:
    found = []
    for target in links(path):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:: not ours to check
            continue
        name, _, fragment = target.partition("#")
        where = (path.parent / name).resolve() if name else path
        if not where.exists():
            found.append(f"{target}: no such file")
        elif fragment and where.suffix == ".md" and fragment not in anchors(where):
            found.append(f"{target}: no heading #{fragment} in {where.name}")
    return found


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(path):
    assert not broken(path), broken(path)


def test_the_readme_links_every_page_of_the_docs_and_stays_short():
    readme = ROOT / "README.md"
    linked = {(readme.parent / t.partition("#")[0]).resolve() for t in links(readme)}
    unlinked = [p.name for p in doc_files()[1:] if p.resolve() not in linked]
    assert not unlinked, f"docs/ pages the README does not link: {unlinked}"
    assert len(readme.read_text(encoding="utf-8").splitlines()) < 200


def test_the_link_check_sees_a_missing_file_and_a_missing_heading(tmp_path):
    (tmp_path / "there.md").write_text("# A heading, with punctuation's marks\n")
    page = tmp_path / "page.md"
    page.write_text("[ok](there.md#a-heading-with-punctuations-marks) [web](https://example.org/x)\n"
                    "`[code](nowhere.md)`\n[gone](missing.md) [bad](there.md#nope)\n")
    assert broken(page) == ["missing.md: no such file", "there.md#nope: no heading #nope in there.md"]
