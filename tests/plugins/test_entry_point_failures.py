"""A plugin installed as a package (an ``nst.plugins`` entry point) that ends the interpreter while it is
imported (``sys.exit``, a BaseException, not an Exception) is reported as failed; the host goes on and
the other plugins load. Entry points are faked with a ``.dist-info`` folder on the import path, as
importlib.metadata finds an installed package's."""

from __future__ import annotations

import textwrap

from nst.registry import Registry

from tests.plugins.test_registry import INVERT


def installed(tmp_path, monkeypatch, modules: dict[str, str], entry_points: dict[str, str]) -> None:
    """Install ``modules`` (name -> source) as one distribution declaring ``entry_points`` (name -> module)."""
    for name, source in modules.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    dist = tmp_path / "exiting_filters-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: exiting-filters\nVersion: 1.0\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (dist / "entry_points.txt").write_text(f"[nst.plugins]\n{lines}")
    monkeypatch.syspath_prepend(str(tmp_path))


def test_an_entry_point_plugin_calling_sys_exit_is_reported_not_fatal(tmp_path, monkeypatch):
    installed(tmp_path, monkeypatch,
              {"exits_at_import": "import sys\nsys.exit(3)\n",
               "exits_quietly": "raise SystemExit\n",
               "steady_filters": INVERT.format(id="steady_invert")},
              {"exits": "exits_at_import", "quiet": "exits_quietly", "steady": "steady_filters"})
    registry = Registry.discover([], builtin=False)  # returns: the interpreter was not ended
    by_id = {p.id: p for p in registry.plugins}
    assert by_id["exits"].status == "failed" and by_id["exits"].origin == "entry point"
    assert by_id["exits"].error == "SystemExit: 3"
    assert by_id["quiet"].status == "failed" and by_id["quiet"].error.startswith("SystemExit")
    assert by_id["steady"].ok and by_id["steady"].filters == ["steady_invert"]
    assert [f.id for f in registry.filters()] == ["steady_invert"]
