"""One table of every NST_* setting (nst/config.py): every name the code uses is a row, the product reads the
environment only through it, its bad values are one clear error, and the docs show it as it is."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from nst import config
from tests.app.conftest import app, components_scanned_once, first_start, fresh_app  # noqa: F401 - the app's fixtures
from tests.docs import GENERATED, ROOT, generated_block, read_doc

#: Where the product's code is (it reads settings only through nst.config).
PRODUCT = ("nst", "db", "studio", "ui", "plugins")
#: Every place an NST_ name may be written: the product, the benchmarks, the tests and CI.
EVERYWHERE = PRODUCT + ("bench", "tests")
NAME = re.compile(r"\bNST_[A-Z0-9_]*[A-Z0-9]\b")


def _python_files(folders) -> list[Path]:
    found = [ROOT / "streamlit_app.py"]
    for folder in folders:
        found += [p for p in sorted((ROOT / folder).rglob("*.py")) if "__pycache__" not in p.parts]
    return found


def _names_in(paths) -> dict[str, list[str]]:
    """NST_ name -> the files that write it."""
    names: dict[str, list[str]] = {}
    for path in paths:
        for name in set(NAME.findall(path.read_text(encoding="utf-8"))):
            names.setdefault(name, []).append(path.relative_to(ROOT).as_posix())
    return names


def test_every_nst_name_in_the_code_is_a_row_of_a_settings_table():
    names = _names_in(_python_files(EVERYWHERE) + [ROOT / ".ci" / "run"])
    unknown = {name: where for name, where in names.items()
               if name not in config.SETTINGS and name not in config.TEST_SETTINGS}
    assert not unknown, f"NST_ names in no table of nst/config.py: {unknown}"


def test_every_row_is_used():
    product = _names_in(p for p in _python_files(PRODUCT) if p != ROOT / "nst" / "config.py")
    everywhere = _names_in(_python_files(EVERYWHERE) + [ROOT / ".ci" / "run"])
    assert not [n for n in config.SETTINGS if n not in product], "a setting nothing in the product names"
    assert not [n for n in config.TEST_SETTINGS if n not in everywhere], "a test setting nothing names"
    assert not set(config.SETTINGS) & set(config.TEST_SETTINGS)


def _environment_reads(path: Path) -> list[tuple[int, str]]:
    """(line, key) of every read of os.environ / os.getenv in ``path``: the key's string, where a name bound
    to a string at the module's top level stands for that string; else the key as written, in brackets."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = {target.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                 and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
                 for target in node.targets if isinstance(target, ast.Name)}

    def key(node: ast.AST) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and node.id in constants:
            return constants[node.id]
        return f"[{ast.unparse(node)}]"

    def is_environ(node: ast.AST) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
            isinstance(node, ast.Name) and node.id == "environ")

    reads = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr in ("get", "pop") and is_environ(func.value)) or (
                    isinstance(func, (ast.Attribute, ast.Name)) and getattr(func, "attr", getattr(func, "id", ""))
                    == "getenv"):
                reads.append((node.lineno, key(node.args[0])))
        elif isinstance(node, ast.Subscript) and is_environ(node.value) and isinstance(node.ctx, ast.Load):
            reads.append((node.lineno, key(node.slice)))
        elif isinstance(node, ast.Compare) and any(is_environ(c) for c in node.comparators):
            reads.append((node.lineno, key(node.left)))
    return reads


def test_the_product_reads_nst_variables_only_through_the_table():
    offences = []
    for path in _python_files(PRODUCT):
        if path == ROOT / "nst" / "config.py":
            continue
        for line, name in _environment_reads(path):
            if name.startswith(("NST_", "[")):  # an NST_ name, or a key this test cannot read
                offences.append(f"{path.relative_to(ROOT)}:{line} reads {name}")
    assert not offences, "read these through nst.config.value: " + "; ".join(offences)


def test_the_read_finder_sees_every_way_of_reading(tmp_path):
    source = tmp_path / "reads.py"
    source.write_text('import os\nfrom os import environ, getenv\nVAR = "NST_' + 'A"\n'
                      'os.environ.get(VAR)\nos.environ["NST_' + 'B"]\ngetenv("NST_' + 'C")\n'
                      '"NST_' + 'D" in environ\nos.environ.get(name)\nos.environ.get("HOME")\n'
                      'os.environ["NST_' + 'E"] = "1"\n')
    prefix = "NST_"  # written apart, so that these made-up names are not names of this code
    assert _environment_reads(source) == [(4, prefix + "A"), (5, prefix + "B"), (6, prefix + "C"), (7, prefix + "D"),
                                          (8, "[name]"), (9, "HOME")]


@pytest.mark.parametrize("page, marker, table", GENERATED)
def test_the_docs_show_the_table_as_it_is(page, marker, table):
    expected = config.markdown(getattr(config, table))
    assert generated_block(read_doc(page), marker) == expected, (
        f"docs/{page} differs from nst.config.{table}: run python -m tests.docs")
    for name in getattr(config, table):
        assert f"| `{name}` |" in read_doc(page)


def test_the_least_stale_limit_is_three_heartbeats():
    from studio import worker

    assert config.SETTINGS["NST_STALE_SECONDS"].parse.minimum == 3 * worker.HEARTBEAT_SECONDS


@pytest.mark.parametrize("name, expected", [(name, s.default) for name, s in config.SETTINGS.items()])
def test_an_unset_or_blank_setting_takes_its_default(monkeypatch, name, expected):
    monkeypatch.delenv(name, raising=False)
    assert config.value(name) == expected
    monkeypatch.setenv(name, "  ")
    assert config.value(name) == expected


@pytest.mark.parametrize("name, raw, expected", [
    ("NST_APP_WORKERS", " 0 ", 0),
    ("NST_STALE_SECONDS", "3", 3.0),
    ("NST_RENDER_TIME_LIMIT", "1.5", 1.5),
    ("NST_PLUGIN_PROBE_SECONDS", "0.5", 0.5),
    ("NST_PLUGIN_PATH", "~/a::/b ", (Path.home() / "a", Path("/b"))),
    ("NST_DISABLED_PLUGINS", "one,two three", {"one", "two", "three"}),
    ("NST_STYLE_ANALYSIS", "0", False),
    ("NST_STYLE_ANALYSIS", "1", True),
    ("NST_VERBOSE_TF", "1", True),
    ("NST_VERBOSE_TF", "yes", False),
    ("NST_QUEUE_NAME", " gallery-1 ", "gallery-1"),
    ("NST_DATA_DIR", "~/x", Path.home() / "x"),
    ("NST_PRECISION", " float32 ", "float32"),
    ("NST_PRECISION", "bfloat16", "bfloat16"),
])
def test_a_setting_is_read_as_its_row_says(monkeypatch, name, raw, expected):
    monkeypatch.setenv(name, raw)
    got = config.value(name)
    assert (tuple(got) if isinstance(got, list) else got) == expected


@pytest.mark.parametrize("name, raw, message", [
    ("NST_APP_WORKERS", "two", "NST_APP_WORKERS must be a whole number of render threads (0 to 8), not 'two'."),
    ("NST_APP_WORKERS", "9", "NST_APP_WORKERS must be between 0 and 8, got 9."),
    ("NST_APP_WORKERS", "-1", "NST_APP_WORKERS must be between 0 and 8, got -1."),
    ("NST_STALE_SECONDS", "2.9", "NST_STALE_SECONDS must be at least 3 seconds, got 2.9."),
    ("NST_STALE_SECONDS", "nan", "NST_STALE_SECONDS must be at least 3 seconds, got nan."),
    ("NST_STALE_SECONDS", "30s", "NST_STALE_SECONDS must be a number of seconds, not '30s'."),
    ("NST_RENDER_TIME_LIMIT", "0", "NST_RENDER_TIME_LIMIT must be at least 1 seconds, got 0."),
    ("NST_RENDER_TIME_LIMIT", "inf", "NST_RENDER_TIME_LIMIT must be at least 1 seconds, got inf."),
    ("NST_PRECISION", "float16", "NST_PRECISION must be auto, float32 or bfloat16, not 'float16'."),
    ("NST_PRECISION", "BF16", "NST_PRECISION must be auto, float32 or bfloat16, not 'BF16'."),
])
def test_a_bad_setting_is_one_clear_error(monkeypatch, name, raw, message):
    monkeypatch.setenv(name, raw)
    with pytest.raises(config.SettingError) as error:
        config.value(name)
    assert str(error.value) == message


@pytest.mark.parametrize("raw", ["0", "-2", "nan", "soon"])
def test_a_bad_probe_limit_is_warned_about_and_the_default_used(monkeypatch, caplog, raw):
    monkeypatch.setenv("NST_PLUGIN_PROBE_SECONDS", raw)
    assert config.value("NST_PLUGIN_PROBE_SECONDS") == 20.0
    assert f"NST_PLUGIN_PROBE_SECONDS={raw!r} is not a positive number of seconds; using 20." in caplog.text


def test_a_setting_not_in_the_table_cannot_be_read():
    with pytest.raises(KeyError):
        config.value("NST_" + "NOT_A_SETTING")


def test_a_worker_with_a_bad_stale_limit_refuses_to_start(tmp_path, monkeypatch):
    from studio.queue import RenderQueue
    from studio.worker import StaleRenderSweeper

    monkeypatch.setenv("NST_STALE_SECONDS", "soon")
    queue = RenderQueue(f"sqlite:///{tmp_path / 'queue.db'}")
    with pytest.raises(config.SettingError, match=r"^NST_STALE_SECONDS must be a number of seconds, not 'soon'\.$"):
        StaleRenderSweeper(None, queue)  # reads the limit as it is made, before it touches the library


@pytest.mark.parametrize("name, raw, message", [
    ("NST_APP_WORKERS", "9", "NST_APP_WORKERS must be between 0 and 8, got 9."),
    ("NST_PRECISION", "fp16", "NST_PRECISION must be auto, float32 or bfloat16, not 'fp16'."),  # not at a render
])
def test_the_app_says_why_it_cannot_start_with_a_bad_setting(app, monkeypatch, name, raw, message):
    monkeypatch.setenv(name, raw)
    at = app().run()
    assert not at.exception
    shown = [e.value.replace("\\", "") for e in at.error]  # the message is escaped Markdown
    assert shown == [f"The app cannot start: {message}"]


def test_the_plugins_page_names_the_extra_plugin_folders(app, monkeypatch, tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir(), second.mkdir()
    monkeypatch.setenv("NST_PLUGIN_PATH", f" {first}::{second} ")
    at = app().run()
    at.switch_page("ui/plugins_page.py").run()
    assert not at.exception
    shown = " ".join(str(c.value) for c in at.caption)
    assert f"extra folders (NST_PLUGIN_PATH): {first}:{second}" in shown.replace("\\", ""), shown
