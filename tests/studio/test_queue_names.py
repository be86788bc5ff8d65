"""Queue names: each NST_QUEUE_NAME is a queue of its own on one Redis server (huey cleans a name for
its keys by dropping every character but letters, digits and _, so ``gallery-1`` and ``gallery1``
were one queue: two galleries took each other's renders), and a name is ASCII letters, digits, - or _."""

from __future__ import annotations

import uuid

import pytest

from studio.queue import QueueError, RenderQueue, queue_name


def _queue(monkeypatch, url: str, name: str) -> RenderQueue:
    monkeypatch.setenv("NST_QUEUE_NAME", name)
    return RenderQueue(url)


@pytest.mark.parametrize("backend", ["redis", "sqlite"])
def test_names_that_differ_only_by_a_dash_are_two_queues(redis_server_url, tmp_path, monkeypatch, backend):
    url = redis_server_url if backend == "redis" else f"sqlite:///{tmp_path / 'queue.db'}"
    tag = uuid.uuid4().hex[:10]
    queues = [_queue(monkeypatch, url, name) for name in (f"gallery-{tag}", f"gallery{tag}", f"gal-lery-{tag}")]
    try:
        for index, queue in enumerate(queues, 1):
            queue.enqueue(index)
        assert [queue.pending_ids() for queue in queues] == [{1}, {2}, {3}]
        assert [queue.huey.dequeue().args[0] for queue in queues] == [1, 2, 3]
    finally:
        for queue in queues:
            queue.huey.flush()
            queue.close()


@pytest.mark.parametrize("name", ["gällery", "gallery²", "gallery 1", "a" * 65, "gallery.1", "٣"])
def test_a_name_beyond_ascii_letters_digits_dash_and_underscore_is_refused(monkeypatch, name):
    monkeypatch.setenv("NST_QUEUE_NAME", name)
    with pytest.raises(QueueError, match="NST_QUEUE_NAME must be"):
        queue_name()
