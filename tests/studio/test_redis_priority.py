"""Previews go first on Redis too: the queue docs/farm.md promises for several machines honours priorities.

On the real Redis server (``NST_TEST_REDIS_URL``), each test under a queue name of its own. huey's plain
``RedisHuey`` refuses every message with a priority ("Task priorities are not supported"), so a preview
would never be queued there; ``PriorityRedisHuey`` hands it out before finals queued earlier.
"""

from __future__ import annotations

from pathlib import Path

from db import open_library
from nst.registry import Registry
from studio.consumer import RenderThreads
from studio.farm import Farm
from studio.queue import PREVIEW_PRIORITY, RenderQueue
from tests.app.conftest import png_bytes
from tests.factories import make_photo

PLUGINS = Path(__file__).resolve().parent / "plugins"


def test_a_preview_is_queued_on_redis_and_handed_out_before_earlier_finals(redis_queue):
    queue = RenderQueue()
    try:
        assert queue.url == redis_queue
        for render_id in (1, 2, 3):
            queue.enqueue(render_id)
        queue.enqueue(4, PREVIEW_PRIORITY)
        queue.enqueue(5)
        assert queue.pending_ids() == {1, 2, 3, 4, 5}
        taken = [queue.huey.dequeue().args[0] for _ in range(5)]
        assert taken == [4, 1, 2, 3, 5]
        assert queue.huey.dequeue() is None
    finally:
        queue.close()


def test_a_farm_on_redis_paints_a_preview_before_the_finals_queued_before_it(redis_queue, tmp_path):
    library = open_library(f"sqlite:///{tmp_path / 'lib.db'}")
    registry = Registry.discover([PLUGINS], entry_points=False)
    farm = Farm(library, registry, RenderQueue())
    render_threads = None
    try:
        photo = png_bytes(make_photo(96, 72))
        finals = [farm.submit("slow", {"steps": 2, "delay": 0.0}, photo, []) for _ in range(3)]
        preview = farm.submit("slow", {"preset": "fast", "delay": 0.0}, photo, [])
        assert library.get_render(preview).priority == PREVIEW_PRIORITY
        assert farm.queue.pending_ids() == {*finals, preview}, "every render reached the queue"
        render_threads = RenderThreads(library, registry, lambda: None, warm=False).start()
        assert render_threads.wait_idle(library, 60)
        records = {i: library.get_render(i) for i in [*finals, preview]}
        assert all(r.status == "done" for r in records.values()), records
        assert records[preview].started_at < min(records[i].started_at for i in finals)
    finally:
        if render_threads is not None:
            render_threads.stop(timeout=5)
        farm.queue.close()
        library.close()
