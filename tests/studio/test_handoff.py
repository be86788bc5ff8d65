"""Decoded photos left for this process's render threads: only when there are some, by render id,
taken once, and bounded in bytes and age."""

from PIL import Image

from studio.handoff import Handoff, picture_bytes


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def picture(side: int = 10) -> Image.Image:
    return Image.new("RGB", (side, side))


def test_nothing_is_kept_without_a_render_thread_here():
    handoff = Handoff()
    assert not handoff.wanted and handoff.put(1, picture()) is False
    assert handoff.held == (0, 0) and handoff.take(1) is None


def test_a_picture_is_taken_once_by_its_render():
    handoff = Handoff()
    handoff.open()
    left = picture()
    assert handoff.put(7, left)
    assert handoff.take(8) is None
    assert handoff.take(7) is left and handoff.take(7) is None
    assert handoff.held == (0, 0)


def test_a_dropped_picture_is_gone_and_closing_the_last_render_threads_forgets_all():
    handoff = Handoff()
    handoff.open()
    handoff.open()
    handoff.put(1, picture())
    handoff.put(2, picture())
    handoff.drop(1)
    assert handoff.held == (1, picture_bytes(picture()))
    handoff.close()
    assert handoff.held[0] == 1  # one RenderThreads still runs
    handoff.close()
    assert handoff.held == (0, 0) and not handoff.wanted


def test_pictures_past_the_byte_bound_go_oldest_first():
    one = picture_bytes(picture())  # 300 bytes
    handoff = Handoff(max_bytes=2 * one)
    handoff.open()
    for render_id in (1, 2, 3):
        assert handoff.put(render_id, picture())
    assert handoff.held == (2, 2 * one)
    assert handoff.take(1) is None and handoff.take(2) is not None and handoff.take(3) is not None
    assert handoff.put(4, picture(20)) is False, "a picture larger than the bound is not kept"
    assert handoff.held == (0, 0)


def test_pictures_nobody_takes_leave_when_they_are_too_old():
    clock = Clock()
    handoff = Handoff(max_age=60.0, clock=clock)
    handoff.open()
    handoff.put(1, picture())
    clock.now += 30
    handoff.put(2, picture())
    clock.now += 31
    assert handoff.held == (1, picture_bytes(picture()))
    assert handoff.take(1) is None and handoff.take(2) is not None
