"""Several processes on one library: first start, concurrent writers, a writer killed mid-transaction."""

from __future__ import annotations

import signal

import pytest

from db import open_library

import db_images
from db_procs import run_python, run_together

pytestmark = pytest.mark.slow  # every test here starts processes

ADD = """
import sys
from db import DuplicateStyleError, open_library
import db_images
url, name, seed, when = sys.argv[2:6]
data = db_images.png(seed=int(seed))
if when == "before-open":
    wait(name + seed)
library = open_library(url)
if when == "before-add":
    wait(name + seed)
try:
    style = library.add_style(data, name=name)
    print("added", style.id)
except DuplicateStyleError as exc:
    print("duplicate:", exc)
"""


def _outputs(results):
    for code, out, err in results:
        assert code == 0, err
    return sorted(out.strip() for _, out, _ in results)


def test_first_start_from_two_processes(db_url, tmp_path):
    """Both processes migrate the new database at once: neither fails."""
    results = run_together(ADD, [[db_url, "Alpha", "1", "before-open"], [db_url, "Beta", "2", "before-open"]],
                           tmp_path / "go")
    assert [line.split()[0] for line in _outputs(results)] == ["added", "added"]
    with open_library(db_url) as library:
        assert [s.name for s in library.list_styles()] == ["Alpha", "Beta"]


WRITER = """
import sys
from db import open_library
import db_images
url, prefix = sys.argv[2:4]
library = open_library(url)
wait(prefix)
for n in range(5):
    library.add_style(db_images.png(seed=len(prefix) * 100 + n), name=f"{prefix} {n}", tags=["shared", prefix])
    library.list_styles("shared")
print("done")
"""


def test_concurrent_writers_all_land(db_url, tmp_path):
    """Two processes each add five styles (sharing a new tag) at the same moment."""
    open_library(db_url).close()
    results = run_together(WRITER, [[db_url, "Left"], [db_url, "Right"]], tmp_path / "go")
    assert _outputs(results) == ["done", "done"]
    with open_library(db_url) as library:
        assert len(library.list_styles(tag="shared")) == 10
        assert library.tags() == ["left", "right", "shared"]


def test_same_name_from_two_processes(db_url, tmp_path):
    open_library(db_url).close()
    results = run_together(ADD, [[db_url, "Starry Night", "1", "before-add"],
                                 [db_url, "starry night", "2", "before-add"]], tmp_path / "go")
    lines = _outputs(results)
    assert lines[0].startswith("added")
    assert lines[1].startswith("duplicate:") and "already exists." in lines[1]
    with open_library(db_url) as library:
        assert library.stats().styles == 1 and library.stats().images == 1


KILLED = """
import os, signal, sys
from sqlalchemy import func, select
from db import open_library
from db.styles import Styles
from db.models import Image
import db_images

def killed_after_the_image(self, session):
    count = session.scalar(select(func.count()).select_from(Image))
    print("images in the transaction:", count, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

Styles._after_image_stored = killed_after_the_image
library = open_library(sys.argv[1])
library.add_style(db_images.png(seed=3), name="Doomed")
print("not reached")
"""


def test_a_writer_killed_inside_the_transaction_leaves_nothing(db_url):
    with open_library(db_url) as library:
        library.add_style(db_images.png(seed=1), name="Existing")
        before = library.stats()
    result = run_python(KILLED, db_url)
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert result.stdout.strip() == "images in the transaction: 2"
    with open_library(db_url) as library:
        assert library.stats() == before, "neither the style nor a dangling image"
        assert [s.name for s in library.list_styles()] == ["Existing"]
        library.add_style(db_images.png(seed=3), name="Doomed")  # the database is not locked or damaged
        assert library.stats().styles == 2


def test_the_barrier_fails_when_a_process_never_gets_there(tmp_path):
    """A process that dies before the barrier, or one that never reaches it, fails the test: the others
    are not released to run alone (a "concurrent" test would pass without any concurrency)."""
    from db_procs import BarrierError

    dies = "import sys\nif sys.argv[2] == 'die':\n    raise SystemExit('broken before the barrier')\nwait(sys.argv[2])\n"
    with pytest.raises(BarrierError, match=r"(?s)exited before reaching the barrier.*broken before the barrier"):
        run_together(dies, [["ok"], ["die"]], tmp_path / "go-1")
    assert not (tmp_path / "go-1").exists(), "nobody was released"
    hangs = "import sys, time\nif sys.argv[2] == 'late':\n    time.sleep(60)\nwait(sys.argv[2])\n"
    with pytest.raises(BarrierError, match="only 1 of 2 processes reached the barrier in 3 s"):
        run_together(hangs, [["ok"], ["late"]], tmp_path / "go-2", timeout=3)
    assert not (tmp_path / "go-2").exists()
    together = run_together("import sys\nwait(sys.argv[2])\nprint('released', sys.argv[2])\n",
                            [["a"], ["b"]], tmp_path / "go-3")
    assert sorted(out.strip() for _, out, _ in together) == ["released a", "released b"]
