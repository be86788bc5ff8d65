"""A value the browser sends is never sent back over it (ui/widgets.py).

The browser applies a widget's value from the server (an element with ``set_value``) as it arrives, over
anything the user did meanwhile. A run that sent back every value therefore undid a change made while it
was still going: on a loaded machine, the Size slider moved Home then ArrowRight sent 32, then 64, the
run of 32 sent 32 back after the browser had sent 64, the slider jumped back to 32 and the render was
painted at 32 px (43x32 for a 4:3 photo). The page now assigns a value only when it changes it itself (a
preset chosen); otherwise the element carries the value as its default, for a browser that mounts it
afresh. The browser side of the race is ``test_browser.py`` under load.
"""

from __future__ import annotations

from tests.app.test_param_widgets import STYLIZE, drawn, quick_app, widgets_of  # noqa: F401 (a fixture)

PREFIX = "stylize:style_transfer"


def echoed(at) -> list[str]:
    """The Stylize widgets whose element carries a value for the browser to apply."""
    widgets = {**widgets_of(at, PREFIX), "styles": at.multiselect(key="stylize:styles")}
    return sorted(name for name, widget in widgets.items() if widget.proto.set_value)


def test_a_value_from_the_browser_is_not_sent_back_over_it(quick_app):  # noqa: F811
    at = quick_app().run()
    at.switch_page(STYLIZE).run()
    at.segmented_control(key=f"{PREFIX}:__preset").set_value("fast").run()
    assert not at.exception, at.exception
    assert "size" in echoed(at)  # the page changed the values itself: the browser is given them
    at.number_input(key=f"{PREFIX}:size").set_value(32).run()  # typed, then
    assert echoed(at) == []
    at.number_input(key=f"{PREFIX}:size").set_value(64).run()
    assert echoed(at) == []
    at.number_input(key=f"{PREFIX}:steps").set_value(2).run()
    assert echoed(at) == []
    styles = at.multiselect(key="stylize:styles")
    styles.select(styles.options[-1]).run()
    assert echoed(at) == []
    at.run()  # a run that changes nothing
    assert echoed(at) == []
    widgets = widgets_of(at, PREFIX)
    assert drawn(widgets["size"]) == 64 and drawn(widgets["steps"]) == 2  # a browser mounting afresh
    assert at.number_input(key=f"{PREFIX}:size").value == 64

