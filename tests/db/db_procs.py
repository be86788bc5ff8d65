"""Running Python snippets in other processes (the library must work across processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _env() -> dict[str, str]:
    """The repository and these helpers (``import db_images``) are importable."""
    paths = (str(ROOT), str(HERE), os.environ.get("PYTHONPATH"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def run_python(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a snippet to the end in a fresh interpreter with the repository importable."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script), *map(str, args)], capture_output=True,
                          text=True, env=_env(), timeout=timeout, cwd=ROOT)


def start_python(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)


#: Prepended to a snippet: wait() blocks until the parent creates the "go" file given as argv[1].
BARRIER = """
import sys, time
from pathlib import Path
_go = Path(sys.argv[1])
def wait(tag):
    Path(f"{_go}.ready-{tag}").touch()
    deadline = time.monotonic() + 60
    while not _go.exists():
        if time.monotonic() > deadline:
            raise SystemExit("the parent never said go")
        time.sleep(0.002)
"""


def run_together(script: str, arg_sets: list[list[str]], go: Path, timeout: float = 120) -> list[tuple[int, str, str]]:
    """Start one process per argument list, release them at once (see BARRIER), and collect (code, out, err)."""
    procs = [start_python(BARRIER + textwrap.dedent(script), str(go), *args) for args in arg_sets]
    deadline = time.monotonic() + timeout
    try:
        while len(list(go.parent.glob(go.name + ".ready-*"))) < len(procs):
            if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        go.touch()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=timeout)
            results.append((p.returncode, out, err))
        return results
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
