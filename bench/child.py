"""A whole ``python -m nst`` command in a child process: its wall time and its own peak RSS.

The child prints its VmHWM line on stderr before it leaves (the command leaves through ``os._exit``, which
skips ``atexit``; and ``wait4``'s counts would include the parent's pages the child had before exec).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: ``python -m nst ARGS`` (as the command runs them), then the process's peak RSS (its VmHWM line) on stderr.
PEAK_THEN_NST = ("import os, sys\n"
                 "sys.argv[0] = 'nst'\n"
                 "from studio.cli import main\n"
                 "code = main(sys.argv[1:])\n"
                 "sys.stdout.flush()\n"
                 "sys.stderr.write([l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0])\n"
                 "sys.stderr.flush()\n"
                 "os._exit(code)\n")


def nst_command(arguments: list[str], data_dir: Path, digits: int = 1) -> dict:
    """Run ``python -m nst *arguments`` with its library in ``data_dir``: ``seconds`` (wall, rounded to
    ``digits``) and ``peak_rss_mb`` (None when the child did not report it). A failed command raises with its
    stderr's end."""
    command = [sys.executable, "-c", PEAK_THEN_NST, *arguments]
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2", NST_DATA_DIR=str(data_dir))
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, _ = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    stderr = child.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"python -m nst {' '.join(arguments)} failed: {stderr.strip()[-2000:]}")
    peak = [int(line.split()[1]) for line in stderr.splitlines() if line.startswith("VmHWM:")]
    return {"seconds": round(seconds, digits), "peak_rss_mb": round(peak[-1] / 1024) if peak else None}
