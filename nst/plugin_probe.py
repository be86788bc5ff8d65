"""Trying plugin files in a child process before the host imports them.

A plugin is trusted code with the host's rights (it is not sandboxed), but a
broken one must not end the app: a plugin that calls ``os._exit()``, crashes
the interpreter, or hangs while it is imported would take the host with it.
So every plugin file, the built-in folder's too, is first imported in a child
interpreter, and the host imports it only when the child reported the import's
end and then exited with status 0. What the plugin prints counts for nothing:
the child reports on a pipe of its own, each line marked with a token read
from its stdin before any plugin runs (a guard against accidents, not against
a plugin written to deceive: that one runs with the host's rights anyway).

The host imports the very bytes that were judged (:attr:`Probed.source`), not
the file as it is by then. One folder's files are tried in one child, one after
the other; when that child ends badly, the file it was importing is tried alone,
and the others again, so a verdict is always one file's own. Each import has a
hard time limit (``NST_PLUGIN_PROBE_SECONDS``, default 20 s): past it the
child's whole process group is killed.

Verdicts, failures as well as passes, are remembered in ``plugin-probes.json``
in the data directory, one entry per path, valid while the file keeps its
identity (device, inode, size, modification time) and content (sha256) and the
same Python and ``nst`` run it. A file edited, replaced or merely touched is
probed again: ``touch`` retries one that failed. A time-out is remembered with
the limit it ran under and tried again when the limit is longer (forgetting
time-outs would cost every start the whole limit again). Only a regular file of
at most 1 MB is read (opened without blocking: a FIFO or a device named
``*.py`` is refused, it never hangs the host). A pass cannot vouch for what a
file's top level does with things outside it (another file, the network); a
file that hangs only on some starts still hangs the host then. A plugin's top
level runs twice on its first load; plugins should do their work in ``run``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.machinery
import importlib.util
import json
import logging
import os
import secrets
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from . import __version__, config, files
from .errors import NSTError

#: Longest a plugin may take to import in the child (and the child to end after its last import): see
#: :func:`time_limit`.
SECONDS_VAR = "NST_PLUGIN_PROBE_SECONDS"
#: Largest plugin file read (the built-in ones are a few KB).
MAX_PLUGIN_BYTES = 1024 * 1024
_CACHE_VERSION = 2
_DETAILS_CHARS = 4000

log = logging.getLogger(__name__)

_CHILD = "from nst.plugin_probe import _child_main; _child_main()"


@dataclass(frozen=True)
class Probed:
    """What became of one plugin file in the probe."""

    source: bytes | None  # the bytes judged: the host imports these and no others (None: unreadable)
    problem: str | None = None  # why it must not be imported; None when it may be
    details: str = ""  # what the child wrote to stderr, when it failed

    @property
    def ok(self) -> bool:
        return self.problem is None


class ProbedLoader(importlib.machinery.SourceFileLoader):
    """Imports the given bytes as the file at ``path`` (the bytes that were probed), with no bytecode cache,
    which could hold code from another version of the file."""

    def __init__(self, fullname: str, path: str, source: bytes) -> None:
        super().__init__(fullname, path)
        self.source = source

    def get_data(self, path: str) -> bytes:
        return self.source if path == self.path else super().get_data(path)

    def path_stats(self, path: str):
        raise OSError("a probed plugin is compiled from the bytes probed")


def spec_for(module_name: str, path: Path, source: bytes):
    """An import spec that runs ``source`` as the file at ``path`` under ``module_name``."""
    return importlib.util.spec_from_file_location(module_name, path,
                                                  loader=ProbedLoader(module_name, str(path), source))


def time_limit() -> float:
    """Seconds an import may take in the child (``NST_PLUGIN_PROBE_SECONDS``, 20 unless set: a value that is
    not a positive number is warned about and the default used)."""
    return config.value(SECONDS_VAR)


def probe_file(path: Path, module_name: str = "nst_plugin_probe") -> Probed:
    """The verdict on one plugin file (see :func:`probe_files`)."""
    return probe_files([(module_name, Path(path))])[0]


def probe_files(items: Sequence[tuple[str, Path]]) -> list[Probed]:
    """Verdicts on plugin files given as (module name, path), in order. Remembered verdicts are reused;
    the other files are tried in one child process, together."""
    runtime = f"{sys.executable} {sys.version} nst {__version__}"
    limit = time_limit()
    cache = _load()
    verdicts: list[Probed | None] = []
    keys: dict[int, dict] = {}
    for index, (_, path) in enumerate(items):
        try:
            source, key = _read(Path(path), runtime)
        except OSError as exc:
            verdicts.append(Probed(None, f"cannot be read ({exc.strerror or exc})"))
            continue
        keys[index] = key
        known = cache.get(key["path"])
        if isinstance(known, dict) and all(known.get(k) == v for k, v in key.items()) and not _outgrown(known, limit):
            problem = known.get("problem") or None
            if problem:
                problem = f"{problem} (remembered from an earlier start: touch the file to probe it again)"
            verdicts.append(Probed(source, problem, str(known.get("details", ""))))
        else:
            verdicts.append(Probed(source, "not probed yet"))
    todo = [i for i in keys if verdicts[i].problem == "not probed yet"]
    if not todo:
        return verdicts  # type: ignore[return-value]
    try:
        found = _judge([(i, items[i][0], Path(items[i][1]), verdicts[i].source) for i in todo], limit)
    except OSError as exc:  # no child could be started: not the plugin's fault, so nothing is remembered
        for i in todo:
            verdicts[i] = Probed(verdicts[i].source, f"could not be probed ({exc.strerror or exc}); it was not loaded")
        return verdicts  # type: ignore[return-value]
    for i, (problem, details, _, _) in found.items():
        verdicts[i] = Probed(verdicts[i].source, problem, details)
    _remember({keys[i]["path"]: {**keys[i], "problem": problem, "details": details,
                                 **({"timed_out_under": limit} if timed_out else {})}
               for i, (problem, details, the_files_own, timed_out) in found.items() if the_files_own})
    return verdicts  # type: ignore[return-value]


# ---------------------------------------------------------------------- the verdicts' memory


def _outgrown(known: dict, limit: float) -> bool:
    """Whether a remembered time-out was under a shorter limit than today's (it is tried again under this
    one: a plugin too slow for a 1 s trial may import in 2 s, well within the usual 20)."""
    under = known.get("timed_out_under")
    return isinstance(under, (int, float)) and limit > under


def _read(path: Path, runtime: str) -> tuple[bytes, dict]:
    """The file's bytes and the key its verdict is remembered under (a FIFO, a device or a file of more
    than :data:`MAX_PLUGIN_BYTES` is refused without blocking)."""
    source, stat = files.read_regular(path, MAX_PLUGIN_BYTES)
    return source, {"path": os.path.abspath(path), "device": stat.st_dev, "inode": stat.st_ino,
                    "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                    "sha256": hashlib.sha256(source).hexdigest(), "runtime": runtime}


def _cache_file() -> Path:
    return config.data_dir() / "plugin-probes.json"


def _load() -> dict:
    try:
        saved = json.loads(_cache_file().read_bytes())
    except (OSError, ValueError, NSTError):
        return {}
    if not isinstance(saved, dict) or saved.get("version") != _CACHE_VERSION or not isinstance(saved.get("files"), dict):
        return {}
    return saved["files"]


def _remember(entries: dict[str, dict]) -> None:
    try:
        known = {**_load(), **entries}  # read again just before writing: another process may have added some
        files.write_atomic(_cache_file(), json.dumps({"version": _CACHE_VERSION, "files": known}, indent=1).encode(),
                           private=True)
    except (OSError, NSTError) as exc:
        log.info("The plugin probes' verdicts were not saved (%s); they are probed again next time.", exc)


# ---------------------------------------------------------------------- the child


def _judge(batch: list[tuple[int, str, Path, bytes]], limit: float) -> dict[int, tuple[str | None, str, bool, bool]]:
    """(problem, details, whether the verdict is the file's own, whether it is a time-out) for every file of
    ``batch`` (index, module name, path, source). A child that ended before it began importing says nothing
    about the files."""
    found: dict[int, tuple[str | None, str, bool, bool]] = {}
    waiting = [batch]
    while waiting:
        group = waiting.pop(0)
        run = _run_child([(name, path, source) for _, name, path, source in group], limit)
        if run.clean(len(group)):
            found.update((i, (None, "", True, False)) for i, *_ in group)
        elif not run.begun:
            why = f"did not start within {limit:g} s" if run.timed_out else f"ended with {_status(run.status)}"
            problem = f"could not be probed (the probe's child {why}); it was not loaded"
            found.update((i, (problem, run.stderr, False, run.timed_out)) for i, *_ in group)
        elif len(group) == 1:
            found[group[0][0]] = (run.problem(limit), run.stderr, True, run.timed_out)
        elif run.stopped_in is not None and run.stopped_in < len(group):  # that file alone, the others again
            waiting.append([group[run.stopped_in]])
            waiting.append([item for k, item in enumerate(group) if k != run.stopped_in])
        else:  # it ended badly after the imports (or before any): each file alone
            waiting.extend([item] for item in group)
    return found


@dataclass
class _Run:
    ended: dict[int, str]  # index -> "ok" or "raised"
    begun: bool  # the first import began (the child started)
    stopped_in: int | None  # the import under way when the child ended or was killed
    done: bool  # every import reported its end
    status: int | None  # the child's exit status (negative: the signal that ended it)
    timed_out: bool
    stderr: str

    def clean(self, count: int) -> bool:
        return self.done and not self.timed_out and self.status == 0 and len(self.ended) == count

    def problem(self, limit: float) -> str:
        """Why one file failed (the run was of that file alone)."""
        if self.timed_out and self.done:
            return (f"was imported but then kept the program from ending for more than {limit:g} s "
                    f"(a thread left running?); it was not loaded")
        if self.timed_out:
            return f"took more than {limit:g} s to import; it was not loaded"
        if self.done:
            return f"was imported but the program then ended with {_status(self.status)}; it was not loaded"
        return f"ended the program while it was imported ({_status(self.status)}); it was not loaded"


def _status(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def _run_child(files_: list[tuple[str, Path, bytes]], limit: float) -> _Run:
    """Import ``files_`` (module name, path, source) one after the other in a child; what it reported."""
    token = secrets.token_hex(16)
    read_fd, write_fd = os.pipe()
    request = json.dumps({"token": token, "fd": write_fd,
                          "files": [[name, str(path), base64.b64encode(source).decode()]
                                    for name, path, source in files_]}).encode()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as stderr:
        stdin.write(request)
        stdin.seek(0)
        try:
            try:
                child = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=stdin, stdout=subprocess.DEVNULL,
                                         stderr=stderr, env=env, pass_fds=(write_fd,), start_new_session=True)
            finally:
                os.close(write_fd)
            try:
                run = _watch(child, read_fd, token, limit)
            finally:
                with contextlib.suppress(OSError):  # whatever it left behind goes too (it is not reaped yet)
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        finally:
            os.close(read_fd)
        run.status = child.returncode
        stderr.seek(0)
        run.stderr = stderr.read()[-_DETAILS_CHARS:].decode(errors="replace")
    return run


def _watch(child: subprocess.Popen, read_fd: int, token: str, limit: float) -> _Run:
    """Read the child's reports until it exits or an import (or its end) overruns ``limit``."""
    run = _Run(ended={}, begun=False, stopped_in=None, done=False, status=None, timed_out=False, stderr="")
    deadline = time.monotonic() + limit
    pending = b""
    try:
        exit_fd = os.pidfd_open(child.pid)  # readable once the child exits
    except (AttributeError, OSError):
        exit_fd = None
    watched = select.poll()  # not select(): the host may have more than 1024 files open
    watched.register(read_fd, select.POLLIN)
    if exit_fd is not None:
        watched.register(exit_fd, select.POLLIN)
    mark = token.encode()

    def take(chunk: bytes) -> None:
        nonlocal pending, deadline
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            words = line.split()
            if len(words) < 2 or words[0] != mark or not all(w.isdigit() for w in words[2:3]):
                continue
            if words[1] == b"begin" and len(words) == 3:
                run.begun, run.stopped_in = True, int(words[2])
            elif words[1] == b"end" and len(words) == 4:
                run.ended[int(words[2])] = words[3].decode(errors="replace")
                run.stopped_in = None
            elif words[1] == b"done":
                run.done = True
            else:
                continue
            deadline = time.monotonic() + limit  # each import, and the exit after the last, has its own limit

    try:
        while not _exited(child):
            left = deadline - time.monotonic()
            if left <= 0:
                run.timed_out = True
                break
            ready = {fd for fd, _ in watched.poll(1000 * (left if exit_fd is not None else min(left, 0.05)))}
            if read_fd in ready:
                chunk = os.read(read_fd, 65536)
                if chunk:
                    take(chunk)
                else:
                    watched.unregister(read_fd)  # every writer closed it: the child is ending
        os.set_blocking(read_fd, False)
        with contextlib.suppress(BlockingIOError):
            for _ in range(64):  # what it wrote before it ended (bounded: something it left may write on)
                chunk = os.read(read_fd, 65536)
                if not chunk:
                    break
                take(chunk)
    finally:
        if exit_fd is not None:
            os.close(exit_fd)
    return run


def _exited(child: subprocess.Popen) -> bool:
    """Whether the child has ended, without reaping it (so its process group stays its own to kill)."""
    try:
        result = os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:  # reaped already (SIGCHLD ignored by the host): the handshake still decides
        return True
    return result is not None and result.si_pid != 0


def _child_main() -> None:
    """The child: import each file of the request on stdin, reporting each one's begin and end on the pipe."""
    request = json.loads(sys.stdin.buffer.read())
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)  # a plugin that reads stdin gets nothing, not the request
    os.close(null)
    token, report = request["token"], request["fd"]
    os.set_inheritable(report, False)

    def tell(text: str) -> None:
        os.write(report, f"{token} {text}\n".encode())

    for index, (name, path, source) in enumerate(request["files"]):
        tell(f"begin {index}")
        spec = spec_for(name, Path(path), base64.b64decode(source))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except (Exception, SystemExit):  # the host reports these itself, harmlessly
            sys.modules.pop(name, None)
            tell(f"end {index} raised")
        else:
            tell(f"end {index} ok")
    tell("done")
