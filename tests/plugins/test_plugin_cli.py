"""python -m nst plugins list / run: failures listed with reasons; parameters checked with bounds."""

from PIL import Image

from studio import cli
from tests.factories import make_painting, make_photo


def test_plugins_list_shows_failures_and_their_reasons(plugin_dir, monkeypatch, capsys):
    plugin_dir.write("broken.py", "def broken(:\n")
    monkeypatch.setenv("NST_PLUGIN_PATH", str(plugin_dir.path))
    assert cli.main(["plugins", "list"]) == 0
    out = capsys.readouterr().out
    assert "FAILED broken" in out and "reason: syntax error at line 1" in out
    assert "filter style_transfer (Style transfer" in out and "style  Mosaic" in out
    assert "1 failed to load" in out


def test_run_any_filter_with_parameters(tmp_path, capsys):
    make_photo(120, 90).save(tmp_path / "photo.png")
    make_painting(80, 80).save(tmp_path / "style.png")
    out = tmp_path / "poster.png"
    code = cli.main(["run", "palette", "--content", str(tmp_path / "photo.png"), "--style",
                     str(tmp_path / "style.png"), "--param", "colors=3", "--param", "dither=false",
                     "--param", "size=96", "-o", str(out), "-q"])
    assert code == 0
    image = Image.open(out)
    assert image.size == (96, 72) and len(image.convert("RGB").getcolors()) <= 3
    assert capsys.readouterr().out.startswith(f"Wrote {out} (96x72) with Palette")


def test_run_refuses_out_of_bounds_parameters_naming_them(tmp_path, capsys):
    make_photo(120, 90).save(tmp_path / "photo.png")
    make_painting(80, 80).save(tmp_path / "style.png")
    code = cli.main(["run", "palette", "--content", str(tmp_path / "photo.png"), "--style",
                     str(tmp_path / "style.png"), "--param", "colors=1000", "-o", str(tmp_path / "o.png")])
    err = capsys.readouterr().err
    assert code == 2 and "colors must be between 2 and 64; got '1000'" in err
    assert not (tmp_path / "o.png").exists()
    assert cli.main(["run", "nope", "-o", str(tmp_path / "o.png")]) == 2
    assert "No filter 'nope'" in capsys.readouterr().err


def test_run_lists_a_filters_parameters(capsys):
    assert cli.main(["run", "style_transfer", "--list-params"]) == 0
    out = capsys.readouterr().out
    assert "content_weight" in out and "between 32 and 2048" in out and "Presets (--preset NAME): quality, best, fast, tutorial" in out
