"""The gallery's tags are one box ("Filter by tag"): choosing tags shows the styles that carry them all."""

from __future__ import annotations

from tests.app.test_pages import texts


def test_choosing_tags_in_the_box_filters_the_cards(app):
    at = app().run()
    tags = at.multiselect(key="gallery:tags")
    assert tags.placeholder == "Filter by tag" and {"sea", "starter"} <= set(tags.options)
    tags.set_value(["sea"]).run()
    shown = texts(at)
    assert "**The Great Wave off Kanagawa**" in shown and "**The Wreck of a Transport Ship**" in shown
    assert "**The Scream**" not in shown and "2 of 10 styles" in shown
    at.multiselect(key="gallery:tags").set_value(["sea", "storm"]).run()
    shown = texts(at)
    assert "**The Wreck of a Transport Ship**" in shown and "**The Great Wave off Kanagawa**" not in shown
    assert not at.exception
