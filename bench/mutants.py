"""The mutation check: ``python -m bench mutants [--only NAME] [--list] [--limit SECONDS]``.

Each mutation in :mod:`bench.mutant_list` breaks one claim of the docs (README.md, docs/) with a small, plausible
change. One at a time, the tracked files (as they are in the working tree) are copied into a
temporary folder, the mutation is applied there (never in the checkout), and the tests of that area
run in the copy with ``python -m pytest -x -q -n 0 -p no:cacheprovider`` (one process: the test that died is known), with this process's environment
(so ``NST_TEST_POSTGRES_URL`` and ``NST_TEST_REDIS_URL`` pass through). A mutation is **killed** when
a test fails, **survived** when they all pass, **timeout** when they outrun the limit, and **error**
when its original snippet does not occur exactly once in its file (the run then ends with status 1).

Prints a Markdown table and writes it, with the details, to ``bench/results/mutants-<time>.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from nst.files import write_atomic

from .mutant_list import MUTANTS, Mutant

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
_FAILED = re.compile(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", re.M)
_SUMMARY = re.compile(r"(?:passed|failed|errors?|skipped|no tests ran)\b.* in [\d.]+s", re.M)


@dataclass
class Outcome:
    name: str
    claim: str
    result: str  # killed | survived | timeout | error
    killed_by: str
    seconds: float
    detail: str = ""


def snippet_count(mutant: Mutant, root: Path = ROOT) -> int:
    """How often the mutation's original snippet occurs in its file (it must be exactly once)."""
    path = root / mutant.file
    if not path.is_file():
        return 0
    return path.read_text(encoding="utf-8").count(mutant.original)


def tracked_files(root: Path = ROOT) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=root, check=True, capture_output=True).stdout
    return [name for name in out.decode().split("\0") if name]


def copy_tree(dest: Path, root: Path = ROOT) -> None:
    """The tracked files, as they are in the working tree, copied under ``dest``."""
    for name in tracked_files(root):
        source = root / name
        if not source.is_file() or source.is_symlink():
            continue  # deleted in the working tree, or a link: not part of what is tested
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def apply(mutant: Mutant, tree: Path) -> None:
    path = tree / mutant.file
    text = path.read_text(encoding="utf-8")
    count = text.count(mutant.original)
    if count != 1:
        raise ValueError(f"{mutant.name}: the original snippet occurs {count} times in {mutant.file} (must be once)")
    path.write_text(text.replace(mutant.original, mutant.replacement), encoding="utf-8")


#: A pytest plugin (written beside the copy, not into it) that notes the test running, so a mutation that
#: ends the test process itself (a plugin's sys.exit obeyed, a crash) is still put down to its test.
_CURRENT_PLUGIN = """
import os

def pytest_runtest_logstart(nodeid, location):
    with open(os.environ["NST_MUTANT_CURRENT"], "w") as handle:
        handle.write(nodeid)
"""


def run_tests(tree: Path, tests: tuple[str, ...], limit: float) -> tuple[str, str, str]:
    """(result, killing test, output tail) of the tests run in ``tree`` (a folder inside a temporary one)."""
    (tree.parent / "nst_mutant_current.py").write_text(_CURRENT_PLUGIN)
    current = tree.parent / "current-test"
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(tree.parent),
               NST_MUTANT_CURRENT=str(current))
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-n", "0", "-p", "no:cacheprovider", "-p", "nst_mutant_current",
               *tests]
    child = subprocess.Popen(command, cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        output, _ = child.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)  # the child's own process group: pytest and what it started
        output, _ = child.communicate()
        return "timeout", "", output.decode(errors="replace")[-2000:]
    text = output.decode(errors="replace")
    if child.returncode == 0:
        return "survived", "", text[-2000:]
    failed = _FAILED.findall(text)
    if failed:  # a test failed (the process may have ended otherwise afterwards: a plugin's atexit, say)
        return "killed", failed[0], text[-2000:]
    started = current.read_text() if current.exists() else ""
    if started and not _SUMMARY.search(text):  # the test process was ended before pytest could report
        return "killed", f"{started} (ended the test process: status {child.returncode})", text[-2000:]
    # 2..5 without a failed test: interrupted, internal or usage error, nothing collected: no verdict.
    return "error", "", f"pytest exited with {child.returncode}\n" + text[-3000:]


def check(mutant: Mutant, limit: float) -> Outcome:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nst-mutant-") as folder:
        tree = Path(folder) / "repo"
        copy_tree(tree)
        try:
            apply(mutant, tree)
        except ValueError as error:
            return Outcome(mutant.name, mutant.claim, "error", "", time.perf_counter() - started, str(error))
        result, killer, tail = run_tests(tree, mutant.tests, limit)
    return Outcome(mutant.name, mutant.claim, result, killer, time.perf_counter() - started,
                   "" if result == "killed" else tail)


def _short(node_id: str) -> str:
    """A test's name without its file, and its parameters cut short."""
    name = node_id.split("::", 1)[-1]
    if "[" in name:
        base, params = name.split("[", 1)
        params = params.split("]", 1)[0]
        name = f"{base}[{params[:20]}{'...' if len(params) > 20 else ''}]"
    return name.replace("|", "/")


def table(outcomes: list[Outcome]) -> str:
    lines = ["| mutation | claim it breaks | result | killed by | s |", "|---|---|---|---|---:|"]
    for o in outcomes:
        killer = f"`{_short(o.killed_by)}`" if o.killed_by else "-"
        lines.append(f"| `{o.name}` | {o.claim} | {o.result} | {killer} | {o.seconds:.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench mutants", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only this mutation (repeat, or separate names by commas)")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--limit", type=float, default=900.0, help="seconds the tests of one mutation may take")
    parser.add_argument("--out", type=Path, default=None, help="folder for the table and JSON")
    args = parser.parse_args(argv)
    if args.list:
        for m in MUTANTS:
            print(f"{m.name}: {m.claim} ({m.file}; {len(m.tests)} tests)")
        return 0
    names = {n for item in args.only for n in item.split(",") if n}
    unknown = names - {m.name for m in MUTANTS}
    if unknown:
        parser.error("no mutation named " + ", ".join(sorted(unknown)))
    chosen = [m for m in MUTANTS if not names or m.name in names]
    bad = [m.name for m in chosen if snippet_count(m) != 1]
    if bad:  # loudly, before anything runs
        print("ERROR: the original snippet does not occur exactly once for: " + ", ".join(bad), file=sys.stderr)
    started = time.perf_counter()
    outcomes = []
    for i, mutant in enumerate(chosen, 1):
        print(f"[{i}/{len(chosen)}] {mutant.name} ...", end=" ", flush=True)
        outcome = check(mutant, args.limit)
        outcomes.append(outcome)
        print(f"{outcome.result} {outcome.killed_by} ({outcome.seconds:.0f} s)", flush=True)
        if outcome.result in ("survived", "error", "timeout"):
            print(outcome.detail, flush=True)
    total = time.perf_counter() - started
    killed = sum(o.result == "killed" for o in outcomes)
    text = (table(outcomes) + f"\n\n{killed} of {len(outcomes)} killed; {total / 60:.1f} min "
            f"({time.strftime('%Y-%m-%d %H:%M')}).\n")
    print("\n" + text)
    out = args.out or RESULTS / time.strftime("mutants-%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "mutants.md", text.encode())
    write_atomic(out / "mutants.json", json.dumps({"seconds": total, "outcomes": [asdict(o) for o in outcomes]},
                                                  indent=2).encode())
    print(f"Wrote {out / 'mutants.md'}")
    return 0 if killed == len(outcomes) else 1
