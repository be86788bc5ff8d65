"""Worker and client processes for the farm's tests, each a fresh interpreter with its own environment."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = Path(__file__).resolve().parent / "plugins"


def farm_env(data_dir: Path, database_url: str, queue_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of every process of one farm: the same library, queue and plugins."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), NST_DATA_DIR=str(data_dir), NST_DATABASE_URL=database_url,
               NST_PLUGIN_PATH=str(PLUGINS), NST_STALE_SECONDS="5", TF_CPP_MIN_LOG_LEVEL="2")
    env["NST_QUEUE_URL"] = queue_url or f"sqlite:///{data_dir / 'queue.db'}"
    env.setdefault("NST_QUEUE_NAME", f"nst-test-{uuid.uuid4().hex[:12]}")
    env.update(extra)
    return env


class Processes:
    """Started processes, stopped (SIGTERM, then SIGKILL) when the test ends; their logs in ``folder``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.started: list[tuple[subprocess.Popen, Path]] = []

    def start(self, command: list[str], env: dict[str, str], name: str) -> subprocess.Popen:
        log = self.folder / f"{name}-{len(self.started)}.log"
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.started.append((process, log))
        return process

    def worker(self, env: dict[str, str], name: str = "w1", workers: int = 1) -> subprocess.Popen:
        return self.start([sys.executable, "-m", "nst", "worker", "--no-warm-up", "--name", name, "--workers",
                           str(workers)], env, name)

    def python(self, script: str, env: dict[str, str], name: str, *args: str) -> subprocess.Popen:
        return self.start([sys.executable, "-c", textwrap.dedent(script), *args], env, name)

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for _, log in self.started if log.exists())

    def stop_all(self) -> None:
        for process, _ in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process, _ in self.started:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def wait_until(condition, timeout: float, what: str, logs=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{logs()}")
        time.sleep(0.1)


def port_answers(port: int) -> bool:
    """Whether something takes connections on 127.0.0.1:``port`` (a server the test started)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
