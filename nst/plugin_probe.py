"""Trying a plugin file in a child process before the host imports it.

A plugin is trusted code with the host's rights (it is not sandboxed), but a
broken one must not end the app: a plugin that calls ``os._exit()`` or
``sys.exit()``, crashes the interpreter, or hangs while it is imported would
take the host with it. So a plugin file from outside the built-in folder
(``NST_PLUGIN_PATH``) is first imported in a child interpreter; only a file
whose import finished there is imported here. A file that passed is
remembered by its content's sha256 (``plugin-probes.json`` in the data
directory), so it is probed again only when it changes. Its top level runs
twice on that first load; plugins should do their work in ``run``, not at import.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from . import config

#: Longest a plugin may take to import in the child.
PROBE_SECONDS = 60.0
_MARK = "nst-plugin-probe-ok"
_CHILD = f"""
import runpy, sys
runpy.run_path(sys.argv[1], run_name="nst_plugin_probe")
sys.stdout.write({_MARK!r})
sys.stdout.flush()
"""


def _cache_file() -> Path:
    return config.data_dir() / "plugin-probes.json"


def _passed() -> set[str]:
    try:
        return set(json.loads(_cache_file().read_text()).get("passed", []))
    except (OSError, ValueError, AttributeError):
        return set()


def _remember(digest: str) -> None:
    passed = _passed() | {digest}
    try:
        partial = _cache_file().with_suffix(".part")
        partial.write_text(json.dumps({"passed": sorted(passed)}))
        partial.replace(_cache_file())
    except OSError:
        pass  # probed again next time: slower, never wrong


def probe_file(path: Path) -> str | None:
    """None when importing ``path`` ends normally in a child process; otherwise what went wrong."""
    try:
        digest = hashlib.sha256(path.read_bytes() + sys.version.encode()).hexdigest()
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if digest in _passed():
        return None
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], env=env, capture_output=True, text=True,
                              timeout=PROBE_SECONDS, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return f"took more than {PROBE_SECONDS:g} s to import; it was not loaded"
    if _MARK in done.stdout and done.returncode == 0:
        _remember(digest)
        return None
    if done.returncode == 0 or _MARK not in done.stdout and "Traceback" not in done.stderr:
        return (f"ended the program while it was imported (exit status {done.returncode}); "
                f"it was not loaded")
    return None  # an ordinary exception: importing it here reports it with its traceback, harmlessly
