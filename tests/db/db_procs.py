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


class BarrierError(AssertionError):
    """A process never reported ready: the "concurrent" run would not have been concurrent."""


def run_together(script: str, arg_sets: list[list[str]], go: Path, timeout: float = 120) -> list[tuple[int, str, str]]:
    """Start one process per argument list, release them at once (see BARRIER), and collect (code, out, err).

    Every process must reach its ``wait()`` first: one that exits before, or a barrier still short
    of processes after ``timeout`` seconds, fails the test with what the processes printed (they
    would otherwise run one after the other, and a test of concurrency would pass without any).
    """
    procs = [start_python(BARRIER + textwrap.dedent(script), str(go), *args) for args in arg_sets]
    deadline = time.monotonic() + timeout
    try:
        while (ready := len(list(go.parent.glob(go.name + ".ready-*")))) < len(procs):
            gone = [p for p in procs if p.poll() is not None]
            if gone or time.monotonic() > deadline:
                why = (f"{len(gone)} process(es) exited before reaching the barrier" if gone
                       else f"only {ready} of {len(procs)} processes reached the barrier in {timeout:g} s")
                raise BarrierError(f"{why}:\n" + "\n".join(_output(p) for p in procs))
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


def _output(process: subprocess.Popen) -> str:
    """What a process printed so far (it is stopped first if it still runs)."""
    if process.poll() is None:
        process.kill()
    out, err = process.communicate()
    return f"[exit {process.returncode}] {out.strip()[-500:]} {err.strip()[-1500:]}"
