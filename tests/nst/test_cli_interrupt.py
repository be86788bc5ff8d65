"""Ctrl-C during ``python -m nst transfer`` stops the render after its step and writes the best image so far.

The program runs as a user runs it, and gets a real SIGINT while it paints. What it was doing is read
from its snapshots (one a step) and from a log of every evaluation's loss, written by a wrapper around
the optimizer's evaluation; the program is the same ``nst`` module, started through runpy. So that the
Ctrl-C comes right after a step that made the image worse (where the best image and the last one
differ), the wrapper holds the first such step until the program's Ctrl-C handler has asked the render
to stop, and says so in its log.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from tests.factories import make_painting, make_photo
from tests.nst.test_cli import ROOT

#: Runs ``python -m nst ARGS`` with the optimizer's evaluation wrapped: every loss is logged, and the first
#: step worse than the best so far waits there until the render is asked to stop.
WATCHED = """
import os, runpy, time
from nst import optimize

log = open(os.environ["NST_TEST_LOSS_LOG"], "a", buffering=1)
evaluate = optimize.Run.evaluate

def watched(self, fun, image, budget_end):
    loss, grad = evaluate(self, fun, image, budget_end)
    log.write(f"{self.step} {float(loss)!r}\\n")
    best = min(loss for _, _, loss in self.history)
    if self.step >= 3 and loss > best and not watched.held:
        watched.held = True
        log.write("holding\\n")
        deadline = time.monotonic() + 120
        while not self.cancel.is_set() and time.monotonic() < deadline:
            time.sleep(0.02)  # the Ctrl-C handler runs here, in this (the main) thread
    return loss, grad

watched.held = False

optimize.Run.evaluate = watched
runpy.run_module("nst", run_name="__main__", alter_sys=True)
"""


def wait_for(condition, process, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the program ended first: {process.communicate()}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.slow
def test_ctrl_c_stops_a_transfer_and_writes_its_best_image_so_far(tmp_path):
    photo, painting, out, snaps = (tmp_path / "photo.png", tmp_path / "painting.png", tmp_path / "out.png",
                                   tmp_path / "snaps")
    make_photo(96, 72).save(photo)
    make_painting(96, 96).save(painting)
    losses_log = tmp_path / "losses.txt"
    env = dict(os.environ, NST_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT),
               NST_TEST_LOSS_LOG=str(losses_log))
    # The quick preset (L-BFGS), one 64-px scale, and a budget it never reaches: only Ctrl-C ends it. Its first
    # worse step (a rejected trial) comes after about 150 steps.
    args = ["transfer", photo, painting, "-o", out, "--preset", "fast", "--size", "64", "--start-size", "64",
            "--steps", "5000", "--tolerance", "0", "--snapshots", snaps, "--snapshot-every", "1"]
    process = subprocess.Popen([sys.executable, "-c", WATCHED, *map(str, args)], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: losses_log.exists() and "holding" in losses_log.read_text(), process)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, stderr
    assert "Stopping after this step; the best image so far will be saved" in stderr
    assert re.match(rf"Wrote {re.escape(str(out))} \(64x48\) in .*stopped early \(cancelled\)", stdout), stdout
    logged = losses_log.read_text().splitlines()
    assert logged[-1] == "holding", "cancelled right after the step it held, a worse one"
    losses = {int(step): float(loss) for step, loss in (line.split() for line in logged[:-1])}
    assert list(losses) == list(range(1, len(losses) + 1))
    best, last = min(losses, key=losses.get), len(losses)
    assert 1 < best < last and losses[last] > losses[best], "the best image is neither the first nor the last"
    written = np.asarray(Image.open(out))
    np.testing.assert_array_equal(written, np.asarray(Image.open(snaps / f"step_{best:05d}.png")))
    assert f"loss {losses[best]:.4g}" in stdout
