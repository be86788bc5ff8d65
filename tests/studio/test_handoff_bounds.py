"""The handoff keeps a few decoded photos at most, by count as well as by bytes: a click of twenty small
photos does not leave twenty decoded pictures in memory; a render whose picture left decodes its stored
image instead."""

from PIL import Image

from studio.handoff import MAX_PICTURES, Handoff


def test_pictures_past_the_count_bound_go_oldest_first():
    handoff = Handoff(max_bytes=10 ** 9)
    handoff.open()
    for render_id in range(1, 21):
        assert handoff.put(render_id, Image.new("RGB", (10, 10))) is True
        assert handoff.held[0] <= MAX_PICTURES
    assert handoff.held[0] == MAX_PICTURES < 20
    assert handoff.take(1) is None  # gone: its render decodes the stored image
    assert handoff.take(20) is not None


def test_no_picture_is_kept_with_a_count_bound_of_zero():
    handoff = Handoff(max_count=0)
    handoff.open()
    assert handoff.put(1, Image.new("RGB", (10, 10))) is False and handoff.held == (0, 0)
