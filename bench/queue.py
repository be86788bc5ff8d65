"""``python -m bench queue``: what the render farm's queue costs.

* **Cancel**: from Cancel in one process to the render stopped (with its image) in a worker's process.
* **Latency**: from submitting a render to a worker starting it, with one idle worker process, on the
  default SQLite queue and on Redis (the library is a SQLite file in both cases); renders are
  submitted one at a time, each after the previous one ended.
* **Throughput** of 1, 2 and 4 worker processes on renders that wait (a filter that sleeps), so the
  two cores of a small machine do not hide how the farm scales.
* **The cost the queue adds to a real render**: the default 512-px transfer run in this process, and
  the same render handed through the queue to a warm worker process, alternately, in the same run.
* **A refresh of the live panel** with thousands of renders queued: what the panel reads each second
  for the renders it shows (their views, each with its place in the queue), against reading the list
  of every queued record for each of them, as the panel did before.
  And a refresh of the History page's "Now": the running renders and the queue's first ten, each
  viewed (twice, as the page does), against every queued render shown, as the page did before.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


class Farm:
    """A library, a queue and worker processes in a temporary folder."""

    def __init__(self, folder: Path, queue_url: str | None):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ, PYTHONPATH=str(ROOT), NST_DATA_DIR=str(folder),
                        NST_DATABASE_URL=f"sqlite:///{folder / 'library.db'}",
                        NST_QUEUE_URL=queue_url or f"sqlite:///{folder / 'queue.db'}",
                        NST_QUEUE_NAME=f"nst-bench-{uuid.uuid4().hex[:10]}",
                        NST_PLUGIN_PATH=str(HERE / "plugins"), TF_CPP_MIN_LOG_LEVEL="2")
        self.workers: list[subprocess.Popen] = []
        os.environ.update({k: self.env[k] for k in ("NST_DATA_DIR", "NST_DATABASE_URL", "NST_QUEUE_URL",
                                                      "NST_QUEUE_NAME", "NST_PLUGIN_PATH")})
        from db import open_library
        from nst.registry import Registry
        from studio.farm import Farm as Client
        from studio.queue import RenderQueue

        self.library = open_library()
        self.client = Client(self.library, Registry.discover(), RenderQueue())

    def start_workers(self, count: int, warm: bool = False) -> None:
        for index in range(count):
            command = [sys.executable, "-m", "nst", "worker", "--name", f"b{index + 1}"]
            if not warm:
                command.append("--no-warm-up")
            log = (self.folder / f"worker-{index + 1}.log").open("w")
            self.workers.append(subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=log,
                                                 stderr=subprocess.STDOUT))

    def wait_ready(self, count: int, timeout: float = 120) -> None:
        """Until every worker has said it takes renders (and, when warm, built its engine)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            logs = [p.read_text() for p in self.folder.glob("worker-*.log")]
            if sum("takes renders" in text for text in logs) >= count:
                return
            time.sleep(0.1)
        raise RuntimeError("workers did not start:\n" + "\n".join(p.read_text() for p in self.folder.glob("*.log")))

    def wait(self, render_ids, timeout: float = 600, poll: float = 0.02):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            records = [self.library.get_render(i) for i in render_ids]
            if all(not r.active for r in records):
                return records
            time.sleep(poll)
        raise RuntimeError(f"renders {render_ids} did not end in {timeout} s")

    def close(self) -> None:
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            try:
                worker.wait(60)
            except subprocess.TimeoutExpired:
                worker.kill()
        self.client.queue.huey.flush()
        self.client.queue.close()
        self.library.close()


def _photo_bytes() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 80, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def latency(folder: Path, queue_url: str | None, count: int) -> dict:
    farm = Farm(folder, queue_url)
    try:
        farm.start_workers(1)
        farm.wait_ready(1)
        photo = _photo_bytes()
        seconds = []
        for _ in range(count + 2):
            render_id = farm.client.submit("bench_wait", {"seconds": 0.0}, photo, [])
            record, = farm.wait([render_id])
            seconds.append((record.started_at - record.created_at).total_seconds())
            time.sleep(1.0)  # an idle worker, as when a user clicks after a pause
        seconds = seconds[2:]  # the first renders also load the filter
        ordered = sorted(seconds)
        return {"count": count, "median": statistics.median(seconds),
                "p95": ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))],
                "max": ordered[-1]}
    finally:
        farm.close()


def cancel_latency(folder: Path, count: int) -> dict:
    """From Cancel (in this process) to the render ending in the worker's process, with its image."""
    farm = Farm(folder, None)
    try:
        farm.start_workers(1)
        farm.wait_ready(1)
        photo = _photo_bytes()
        seconds = []
        for _ in range(count):
            render_id = farm.client.submit("bench_wait", {"seconds": 30.0}, photo, [])
            while (farm.library.get_render(render_id).progress or {}).get("step", 0) < 3:
                time.sleep(0.02)
            time.sleep(0.5)  # somewhere between two heartbeats
            asked = time.perf_counter()
            farm.client.cancel(render_id)
            record, = farm.wait([render_id])
            seconds.append(time.perf_counter() - asked)
            assert record.status == "cancelled" and record.result_image_id is not None
        return {"count": count, "median": statistics.median(seconds), "max": max(seconds)}
    finally:
        farm.close()


def throughput(folder: Path, workers: int, renders: int, wait_seconds: float) -> dict:
    farm = Farm(folder, None)
    try:
        farm.start_workers(workers)
        farm.wait_ready(workers)
        photo = _photo_bytes()
        started = time.perf_counter()
        ids = [farm.client.submit("bench_wait", {"seconds": wait_seconds}, photo, []) for _ in range(renders)]
        records = farm.wait(ids)
        elapsed = time.perf_counter() - started
        assert all(r.status == "done" for r in records)
        return {"workers": workers, "renders": renders, "seconds": elapsed, "per_second": renders / elapsed,
                "ideal_per_second": workers / wait_seconds}
    finally:
        farm.close()


def render_cost(folder: Path, content: Path, style: Path, rounds: int) -> dict:
    """The default transfer in this process and through the queue, alternately; seconds of each."""
    from db.gram_store import GramStore
    from nst import images
    from nst.engine import Engine
    from nst.plugin import RunInputs
    from nst.targets import StyleInput

    farm = Farm(folder, None)
    try:
        farm.start_workers(1, warm=True)
        photo = images.read_file(content)
        painting = farm.library.add_style(images.read_file(style), name="bench style")
        registry = farm.client.registry
        engine = Engine(store=GramStore(farm.library))
        inputs = lambda: RunInputs(content=images.load(photo), style_weights=[1.0],  # noqa: E731
                                   styles=[StyleInput(farm.library.style_image(painting.id), painting.pixel_digest)],
                                   engine_provider=lambda: engine, preview_every=3)
        farm.wait_ready(1)

        def here() -> float:
            started = time.perf_counter()
            registry.run("style_transfer", inputs(), {"preset": "quality"}, progress=lambda p: None)
            return time.perf_counter() - started

        def queued() -> float:
            """Submit (decode, check, record, queue) plus the record's time from queued to stored result;
            this process polls slowly, so that it takes no CPU from the worker."""
            started = time.perf_counter()
            render_id = farm.client.submit("style_transfer", {"preset": "quality"}, photo, [(painting.id, 1.0)])
            submitted = time.perf_counter() - started
            record, = farm.wait([render_id], poll=0.5)
            assert record.status == "done", record.error
            return submitted + (record.finished_at - record.created_at).total_seconds()

        here(), queued()  # warm-up: each process traces its functions and computes the style's targets once
        results = {"in_process": [], "queued": []}
        for _ in range(rounds):
            results["in_process"].append(here())
            results["queued"].append(queued())
        median_here, median_queued = statistics.median(results["in_process"]), statistics.median(results["queued"])
        # Rounds alternate, so each queued render is compared with the in-process one just before it:
        # the machine's drift over the run (it is seconds per round here) cancels out of the ratio.
        paired = statistics.median(q / h for h, q in zip(results["in_process"], results["queued"]))
        return {**results, "median_in_process": median_here, "median_queued": median_queued,
                "overhead_percent": 100 * (paired - 1),
                "best_overhead_percent": 100 * (min(results["queued"]) / min(results["in_process"]) - 1)}
    finally:
        farm.close()


def panel(folder: Path, queued: int, shown: int, refreshes: int) -> dict:
    """Seconds of one refresh of the live panel's reads for ``shown`` renders at the back of a queue of
    ``queued`` (a SQLite library), now and the way it read before (every queued record, for each)."""
    farm = Farm(folder, None)
    try:
        library, photo = farm.library, _photo_bytes()
        ids = [library.create_render("bench_wait", {"seconds": 0.0}, photo, []).id for _ in range(queued)]
        watched = ids[-shown:]  # the last ones: each has the whole queue ahead of it

        def now() -> list:
            return [farm.client.view(render_id) for render_id in watched]

        def before() -> list:  # the record of each, and the list of every queued record for its place
            views = []
            for render_id in watched:
                record = library.get_render(render_id)
                order = [r.id for r in library.queued_renders()]
                views.append((record, order.index(render_id) + 1))
            return views

        assert [v.queue_position for v in now()] == [p for _, p in before()] == list(range(queued - shown + 1,
                                                                                            queued + 1))

        def timed(read, rounds: int) -> list[float]:
            read()  # warm: the statements compiled, the pages of the database file cached
            seconds = []
            for _ in range(rounds):
                started = time.perf_counter()
                read()
                seconds.append(time.perf_counter() - started)
            return seconds

        def history() -> list:  # History's "Now": the queue's head read, then each shown viewed twice (the
            head = farm.client.now(queued_shown=10)  # page's "is any active?" pass, then the panel's)
            return [farm.client.view(render_id) for _ in range(2) for render_id in head.render_ids]

        def history_before() -> list:  # every running and queued record, then each viewed twice
            active = library.list_renders(limit=50, status="running") + library.queued_renders()
            return [farm.client.view(record.id) for _ in range(2) for record in active]

        fast, slow = timed(now, refreshes), timed(before, max(3, refreshes // 10))
        pages = timed(history, refreshes)
        return {"queued": queued, "shown": shown, "median": statistics.median(fast), "max": max(fast),
                "before_median": statistics.median(slow), "refreshes": refreshes,
                "history_median": statistics.median(pages), "history_max": max(pages),
                "history_before": min(timed(history_before, 1))}
    finally:
        farm.close()


def _redis_answers(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
        client.close()
        return True
    except redis.RedisError:
        return False


def run(args) -> int:
    out: Path = args.out
    work = Path(tempfile.mkdtemp(prefix="nst-bench-queue-"))
    result: dict = {"latency": {}, "throughput": [], "render": None}
    parts = set(args.parts.split(","))
    backends = [("SQLite (default)", None)] if "latency" in parts else []
    if backends and _redis_answers(args.redis):
        backends.append((f"Redis ({args.redis})", args.redis))
    elif backends:
        print(f"[queue] Redis does not answer at {args.redis}: its row is left out", flush=True)
    for label, url in backends:
        print(f"[queue] latency on {label}...", flush=True)
        result["latency"][label] = latency(work / f"latency-{len(result['latency'])}", url, args.latency_renders)
    if "cancel" in parts:
        print("[queue] cancel from another process...", flush=True)
        result["cancel"] = cancel_latency(work / "cancel", 5)
    for workers in (1, 2, 4) if "throughput" in parts else ():
        print(f"[queue] throughput with {workers} worker(s)...", flush=True)
        result["throughput"].append(throughput(work / f"throughput-{workers}", workers, 8 * workers, 1.0))
    if "panel" in parts:
        for queued in (200, 2000):
            print(f"[queue] a refresh of the live panel, 5 renders shown, {queued} queued...", flush=True)
            result.setdefault("panel", []).append(panel(work / f"panel-{queued}", queued, 5, 50))
    if "render" in parts and args.content and args.style:
        print("[queue] a default 512-px transfer here and through the queue...", flush=True)
        result["render"] = render_cost(work / "render", Path(args.content), Path(args.style), args.rounds)
    text = report(result)
    print("\n" + text + "\n")
    (out / "queue.json").write_text(json.dumps(result, indent=2, default=str))
    (out / "queue.md").write_text(text + "\n")
    print(f"Wrote {out / 'queue.json'}")
    return 0


def report(result: dict) -> str:
    lines = ["## The render queue", "", "Submit to start, one idle worker process:", "",
             "| queue | renders | median | 95th percentile | max |", "|---|---:|---:|---:|---:|"]
    for label, row in result["latency"].items():
        lines.append(f"| {label} | {row['count']} | {1000 * row['median']:.0f} ms | {1000 * row['p95']:.0f} ms | "
                     f"{1000 * row['max']:.0f} ms |")
    cancel = result.get("cancel")
    if cancel:
        lines += ["", f"Cancel in one process to the render stopped, with its image, in the worker's process "
                  f"({cancel['count']} renders): median {cancel['median']:.2f} s, at most {cancel['max']:.2f} s."]
    lines += ["", "Throughput on renders that wait 1 s each (SQLite queue and library):", "",
              "| workers | renders | seconds | renders/s | ideal |", "|---:|---:|---:|---:|---:|"]
    for row in result["throughput"]:
        lines.append(f"| {row['workers']} | {row['renders']} | {row['seconds']:.1f} | {row['per_second']:.2f} | "
                     f"{row['ideal_per_second']:.2f} |")
    if result.get("panel"):
        lines += ["", "A refresh of the live panel (what it reads each second for the renders it shows; a SQLite "
                  "library; the renders shown are the last in the queue):", "",
                  "| renders queued | shown | one refresh, median | max | before: every queued record for each |",
                  "|---:|---:|---:|---:|---:|"]
        for row in result["panel"]:
            lines.append(f"| {row['queued']} | {row['shown']} | {1000 * row['median']:.1f} ms | "
                         f"{1000 * row['max']:.1f} ms | {1000 * row['before_median']:.0f} ms |")
        lines += ["", "A refresh of History's \"Now\" (the running renders and the first 10 queued, each viewed "
                  "twice; the others counted):", "",
                  "| renders queued | one refresh, median | max | before: every queued render shown |",
                  "|---:|---:|---:|---:|"]
        for row in result["panel"]:
            lines.append(f"| {row['queued']} | {1000 * row['history_median']:.1f} ms | "
                         f"{1000 * row['history_max']:.1f} ms | {1000 * row['history_before']:,.0f} ms |")
    render = result.get("render")
    if render:
        rounds = len(render["in_process"])
        lines += ["", f"A default 512-px transfer, {rounds} rounds each way, alternating (medians; through the queue: "
                  "from submit to the stored result; the cost is the median of each round's ratio):", "",
                  "| in this process | through the queue to a warm worker | cost of the queue | best against best |",
                  "|---:|---:|---:|---:|",
                  f"| {render['median_in_process']:.2f} s | {render['median_queued']:.2f} s | "
                  f"{render['overhead_percent']:+.1f}% | {render['best_overhead_percent']:+.1f}% |"]
    return "\n".join(lines)
