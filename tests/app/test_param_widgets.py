"""The parameter widgets (ui/widgets.py) under AppTest: every run of a page hands every parameter's value
to the browser, so a browser that missed an earlier run (a run cut short by an upload, a page left
through a run cut short) still shows, and sends back, the page's values and never a widget's minimum.

A browser draws a widget from the element a run sends: the value in it when ``set_value`` is set, else
the element's default (for a number input or slider built without ``value=``, its minimum). ``drawn``
below reads an element as a browser that never saw an earlier run would. The browser test of the same
race is ``test_browser_params.py``.
"""

from __future__ import annotations

import pytest

STYLIZE, TEXTURE, GALLERY = "ui/stylize.py", "ui/texture.py", "ui/gallery.py"


@pytest.fixture
def quick_app(app, monkeypatch):
    """The app without the starter collection's paintings (the example plugin's patterns are styles enough)."""
    monkeypatch.setenv("NST_DISABLED_PLUGINS", "starter_collection")
    return app


def drawn(widget):
    """What a browser that mounts this element afresh shows in it."""
    proto = widget.proto
    kind = type(widget).__name__
    if kind == "Slider":
        values = list(proto.value if proto.set_value else proto.default)
        return values[0] if len(values) == 1 else values
    if kind == "Selectbox":  # labels: a choice's label is the choice
        return proto.raw_value if proto.set_value else widget.options[proto.default]
    if kind == "ButtonGroup":  # labels: a preset's label is its name, capitalised
        return list(proto.raw_values) if proto.set_value else [widget.options[i] for i in proto.default]
    return proto.value if proto.set_value else proto.default


def widgets_of(at, prefix: str) -> dict:
    """The page's parameter widgets under ``prefix``, by parameter name (the preset row as "__preset")."""
    found = {}
    for kind in ("number_input", "slider", "text_input", "toggle", "selectbox", "button_group"):
        for widget in getattr(at, kind):
            if widget.key and widget.key.startswith(prefix + ":") and not widget.key.endswith(("width", "height")):
                found[widget.key[len(prefix) + 1:]] = widget
    return found


def preset_values(filter_id: str, preset: str) -> dict:
    from nst.plugin import preset_of
    from ui import services

    return dict(preset_of(services.registry().get(filter_id).presets[preset]).values)


def assert_drawn(at, prefix: str, filter_id: str, preset: str, changed: dict | None = None):
    expected = {**preset_values(filter_id, preset), **(changed or {})}
    widgets = widgets_of(at, prefix)
    assert widgets, "no parameter widget on the page"
    preset_row = widgets.pop("__preset")
    from nst.params import TEXT_KINDS
    from ui import services

    declared = {p.name: p for p in services.registry().get(filter_id).params}
    for name, widget in widgets.items():
        p = declared[name]  # a typed value (layers, boxes) is shown as its text
        want = p.text(p.coerce(expected[name])) if p.kind in TEXT_KINDS else expected[name]
        assert drawn(widget) == pytest.approx(want), name
    assert drawn(preset_row) == [preset.capitalize()]


@pytest.mark.parametrize("page, filter_id", [(STYLIZE, "style_transfer"), (TEXTURE, "texture_synthesis")])
def test_every_run_hands_every_value_to_the_browser(quick_app, page, filter_id):
    prefix = f"{page[3:-3]}:{filter_id}"
    at = quick_app().run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert_drawn(at, prefix, filter_id, "quality")  # the first run
    at.run()
    assert_drawn(at, prefix, filter_id, "quality")  # a run that sets nothing: once drawn from the minimums
    at.segmented_control(key=f"{prefix}:__preset").set_value("fast").run()
    assert_drawn(at, prefix, filter_id, "fast")
    at.run()
    assert_drawn(at, prefix, filter_id, "fast")


def test_the_preset_and_values_are_kept_across_pages(quick_app):
    prefix = "stylize:style_transfer"
    at = quick_app().run()
    at.switch_page(STYLIZE).run()
    at.segmented_control(key=f"{prefix}:__preset").set_value("fast").run()
    at.number_input(key=f"{prefix}:steps").set_value(50).run()
    at.switch_page(GALLERY).run()
    at.switch_page(STYLIZE).run()
    assert not at.exception, at.exception
    assert at.segmented_control(key=f"{prefix}:__preset").value == "fast"
    assert at.number_input(key=f"{prefix}:steps").value == 50
    assert_drawn(at, prefix, "style_transfer", "fast", {"steps": 50})


def test_paint_waits_for_a_complete_form():
    from nst.builtin_filters import builtin_filter
    from ui.widgets import values_complete

    flt = builtin_filter("transfer")
    values = {p.name: p.default for p in flt.params if not p.hidden}
    assert values_complete(flt, values)
    assert not values_complete(flt, {k: v for k, v in values.items() if k != "steps"})  # one not there yet
    assert not values_complete(flt, {**values, "steps": 0})  # below its minimum
    assert values_complete(flt, {k: v for k, v in values.items() if k != "seed"}, hidden=("seed",))
