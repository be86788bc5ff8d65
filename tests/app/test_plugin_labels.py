"""The Plugins page says where each plugin came from: a file someone added to ``plugins/`` is not "builtin"."""

import shutil
import textwrap

import nst.registry
from tests.app.conftest import ROOT
from tests.plugins.test_registry import INVERT


def test_a_plugin_added_to_the_plugins_folder_is_labelled_as_such(app, tmp_path, monkeypatch):
    builtin = tmp_path / "plugins"
    builtin.mkdir()
    shutil.copy(ROOT / "plugins" / "example_palette.py", builtin)
    (builtin / "dropped.py").write_text(textwrap.dedent(INVERT.format(id="dropped")))
    monkeypatch.setattr(nst.registry, "BUILTIN_DIR", builtin.resolve())
    at = app().run()
    at.switch_page("ui/plugins_page.py").run()
    assert not at.exception
    shown = [str(c.value) for c in at.caption]
    assert shown.count("added to plugins/") == 1 and shown.count("built in") == 1
