"""The command line: real renders at tiny sizes, and one-line errors for bad input."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from studio import cli
from tests.factories import make_painting, make_photo

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args, tmp_path, timeout=180):
    env = dict(os.environ, NST_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "nst", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=timeout)


@pytest.fixture
def files(tmp_path):
    photo, painting = tmp_path / "photo.png", tmp_path / "painting.jpg"
    make_photo(120, 90).save(photo)
    make_painting(100, 100).save(painting)
    return photo, painting


@pytest.mark.slow
def test_transfer_writes_an_image_and_a_summary(tmp_path, files):
    photo, painting = files
    out = tmp_path / "out.png"
    done = run_cli("transfer", photo, painting, "-o", out, "--size", "64", "--steps", "3", "--start-size", "64",
                   tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert Image.open(out).size == (64, 48)
    assert done.stdout.startswith(f"Wrote {out} (64x48) in ")
    assert "loss" in done.stdout and "style" in done.stdout and "content" in done.stdout
    assert "VGG19" in done.stderr and "3/3" in done.stderr  # weights in use, and the progress bar
    assert "Traceback" not in done.stderr and "I0000" not in done.stderr


def test_texture_with_snapshots(tmp_path, files, engine, monkeypatch, capsys):
    """In this process (the program itself is run above), with this process's engine."""
    monkeypatch.setattr(cli, "make_engine", lambda open_library: engine)
    _, painting = files
    out = tmp_path / "texture.jpg"
    code = cli.main([str(a) for a in ("texture", painting, "-o", out, "--size", "160x128", "--steps", "4",
                                      "--start-size", "128", "--stroke-scale", "0.125", "--crop", "10,0,80,90",
                                      "--snapshots", tmp_path / "snaps", "--snapshot-every", "2")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.startswith(f"Wrote {out} (160x128) in ")
    assert Image.open(out).size == (160, 128)
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == ["step_00002.png", "step_00004.png"]


@pytest.mark.parametrize("make_args, message", [
    (lambda p, s, t: ["transfer", t / "missing.jpg", s, "-o", t / "o.png"], "missing.jpg: no such file"),
    (lambda p, s, t: ["transfer", p, t / "nostyle.png", "-o", t / "o.png"], "no such file, and no saved style"),
    (lambda p, s, t: ["transfer", t / "notes.txt", s, "-o", t / "o.png"], "not an image"),
    (lambda p, s, t: ["transfer", t / "tiny.png", s, "-o", t / "o.png"], "1x1"),
    (lambda p, s, t: ["transfer", p, s, "-o", t / "nowhere" / "o.png"], "does not exist"),
    (lambda p, s, t: ["transfer", p, s, "-o", t / "o.tga"], "use one of"),
    (lambda p, s, t: ["transfer", p, s, "-o", t / "o.png", "--size", "10"], "size must be between 32"),
    (lambda p, s, t: ["transfer", p, s, "-o", t / "o.png", "--content-weight", "lots"], "not a number"),
    (lambda p, s, t: ["texture", s, "-o", t / "o.png", "--style-weights", "1,2"], "2 values for 1 style."),
    (lambda p, s, t: ["texture", s, "-o", t / "o.png", "--size", "4096x512"], "each side between 128 and 2048"),
    (lambda p, s, t: ["texture", s, "-o", t / "o.png", "--size", "100"], "each side between 128 and 2048"),
    (lambda p, s, t: ["texture", s, "-o", t / "o.png", "--crop", "50,50,64,64"],
     "painting.jpg (100x100 px)"),
    (lambda p, s, t: ["texture", s, "-o", t / "o.png", "--crop", "0,0,16,64"], "smaller than 32x32 px"),
    (lambda p, s, t: ["texture", s, "-o", t / "o.png", "--stroke-scale", "9"], "stroke_scale must be between"),
])
def test_bad_input_is_one_line_and_a_nonzero_exit(tmp_path, files, make_args, message, capsys, monkeypatch):
    photo, painting = files
    (tmp_path / "notes.txt").write_text("hello")
    Image.new("RGB", (1, 1)).save(tmp_path / "tiny.png")

    def no_work(*args, **kwargs):
        raise AssertionError("bad input must be refused before the engine is built")

    monkeypatch.setattr(cli, "make_engine", no_work)
    code = cli.main([str(a) for a in make_args(photo, painting, tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_help_does_not_load_tensorflow(tmp_path):
    done = subprocess.run([sys.executable, "-c", "import sys; from studio import cli; cli.build_parser(); "
                           "print('tensorflow' in sys.modules)"], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip() == "False"


def test_preserve_colors_reaches_the_render(tmp_path, files, engine, monkeypatch, capsys):
    """``--preserve-colors`` against the same command without it (this process's engine, the CLI's own path)."""
    import numpy as np

    from nst import images
    from tests.nst.quality import chroma_distance, luma

    monkeypatch.setattr(cli, "make_engine", lambda open_library: engine)
    photo, painting = files
    common = ["transfer", str(photo), str(painting), "--size", "64", "--start-size", "64", "--steps", "8", "-q"]
    assert cli.main([*common, "-o", str(tmp_path / "kept.png"), "--preserve-colors"]) == 0
    # The control starts where --preserve-colors does, from the photo itself (the preset's start is the
    # photo in the painting's colours, which colour preservation leaves aside).
    assert cli.main([*common, "-o", str(tmp_path / "plain.png"), "--init", "content"]) == 0
    assert capsys.readouterr().out.count("Wrote ") == 2
    kept, plain = (images.to_array(images.load(tmp_path / name)) for name in ("kept.png", "plain.png"))
    content = images.to_array(images.resize(images.load(photo), (64, 48)))
    assert chroma_distance(plain, content) > 0.06 and chroma_distance(kept, content) < 0.03
    assert np.abs(luma(kept) - luma(plain)).mean() < 0.03


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stream_type", [io.StringIO, _Terminal], ids=["pipe", "terminal"])
def test_the_progress_bar_shows_step_scale_loss_and_eta_and_is_silent_when_quiet(stream_type):
    from nst.progress import Progress
    from studio.cli_support import ProgressBar

    def steps(bar):
        for step in (1, 2, 3):
            bar(Progress(step=step, total=3, elapsed=0.5 * step, scale=1, scales=2, size=(64, 48),
                         losses={"total": 0.25}, eta=12.0 / step))
        bar.close()

    stream = stream_type()
    steps(ProgressBar(stream))
    shown = stream.getvalue()
    assert "3/3" in shown and "scale 2/2 64x48" in shown and "loss 0.25" in shown and "eta 4s" in shown
    assert ("\x1b[" in shown) == (stream_type is _Terminal)  # a live bar on a terminal; plain lines in a pipe
    quiet = stream_type()
    steps(ProgressBar(quiet, quiet=True))
    assert quiet.getvalue() == ""


def test_the_live_bar_fills_by_the_engines_fraction_of_the_work_not_by_steps():
    """Coarse scales take many cheap steps: at step 5 of 10 the work may be a tenth done."""
    from nst.progress import Progress
    from studio.cli_support import ProgressBar

    bar = ProgressBar(_Terminal())
    try:
        bar(Progress(step=5, total=10, elapsed=1.0, scale=0, scales=3, size=(64, 48), losses={"total": 1.0},
                     fraction=0.1))
        assert bar._bar.tasks[0].percentage == pytest.approx(10.0)
    finally:
        bar.close()


def test_transfer_offers_the_filters_presets_and_resolves_them_at_the_registry(tmp_path, files, monkeypatch, capsys):
    """The CLI renders with the built-in filter's presets, resolved by the registry's one resolution: a
    preset the filter declares is offered (with its description) and its values reach the engine."""
    from nst.errors import NSTError
    from nst.plugin import Preset

    flt = cli.builtin("transfer")
    monkeypatch.setattr(flt, "presets", {**flt.presets, "thumb": Preset({"size": 96, "steps": 2}, "A thumbnail.")})
    seen = []

    class Engine:
        def style_grams(self, style, size, layers):  # the filter measures the style before the render
            return {}

        def transfer(self, content, styles, settings, **kwargs):
            seen.append(settings)
            raise NSTError("seen")

    monkeypatch.setattr(cli, "make_engine", lambda open_library: Engine())
    photo, painting = files
    args = ["transfer", str(photo), str(painting), "-o", str(tmp_path / "o.png"), "-q", "--preset", "thumb"]
    assert cli.main([*args, "--seed", "4"]) == 2 and "error: seen" in capsys.readouterr().err
    assert (seen[0].size, seen[0].steps, seen[0].seed) == (96, 2, 4)
    with pytest.raises(SystemExit):
        cli.main(["transfer", "--help"])
    assert "thumb: A thumbnail." in " ".join(capsys.readouterr().out.split())
