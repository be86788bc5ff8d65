"""Where the pages list filters and styles, a plugin file added to ``plugins/`` is named as such (it was
"builtin" once): the filter's caption on Stylize and Texture, and a style's page."""

from __future__ import annotations

import shutil
import textwrap

import nst.registry
from tests.app.conftest import ROOT
from tests.app.test_pages import plain, texts
from tests.plugins.test_registry import INVERT

STYLE = '''
from PIL import Image
from nst.plugin import StyleContribution

STYLES = [StyleContribution("Dropped grey", make=lambda: Image.new("RGB", (96, 96), (120, 120, 120)))]
'''


def test_a_plugin_file_added_to_plugins_is_labelled_so_on_stylize_and_on_its_styles_page(app, tmp_path, monkeypatch):
    from ui import services

    builtin = tmp_path / "plugins"
    builtin.mkdir()
    shutil.copy(ROOT / "plugins" / "example_palette.py", builtin)
    (builtin / "dropped.py").write_text(textwrap.dedent(INVERT.format(id="dropped")) + STYLE)
    monkeypatch.setattr(nst.registry, "BUILTIN_DIR", builtin.resolve())
    at = app().run()
    at.switch_page("ui/stylize.py").run()
    at.selectbox(key="stylize:filter").select(next(o for o in at.selectbox(key="stylize:filter").options
                                                     if "Invert" in str(o))).run()
    assert not at.exception, at.exception
    assert "· Plugin dropped, added to plugins/" in texts(at)

    library = services.library()
    for name, origin in (("Dropped grey", "from plugin dropped (added to plugins/)"),
                         ("Blue waves", "from plugin example_palette (built in)")):
        at.session_state["style:id"] = library.get_style(name).id
        at.switch_page("ui/style.py").run()
        assert not at.exception, at.exception
        assert any(plain(str(c.value)).endswith(origin) for c in at.caption), [str(c.value) for c in at.caption]
