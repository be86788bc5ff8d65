"""The live panel shows a render's stage before its first step ("Measuring the style: 2 of 5 sizes") with its
share done, in place of one static line (see tests/studio/test_style_measuring.py for where it comes from)."""

from __future__ import annotations

from nst.progress import Progress
from studio.worker import progress_record


def test_the_live_panel_shows_the_stage_and_its_share_as_text(app):
    """Escaped like every text from a record: a stage cannot bring its own Markdown or links."""
    from ui import services
    from ui.text import md

    at = app().run()
    library = services.library()
    shown = []
    for stage in ("Measuring the style: 2 of 5 sizes", "**bold** [link](http://example.com)"):
        render_id = library.create_render("palette", {"colors": 4}, None, []).id
        library.start_render(render_id, "elsewhere")
        library.update_render_progress(render_id, progress_record(Progress(0, 0, 3.0, fraction=0.4, stage=stage)))
        shown.append(render_id)
    at.session_state["texture:jobs"] = shown[:1]
    at.session_state["stylize:jobs"] = shown[1:]
    at.switch_page("ui/texture.py").run()
    assert not at.exception, at.exception
    bars = [(p.value, p.text) for p in at.get("progress")]
    assert (40, md("Measuring the style: 2 of 5 sizes")) in [(round(v * 100) if v <= 1 else v, t)
                                                                       for v, t in bars], bars
    at.switch_page("ui/stylize.py").run()
    texts = [p.text for p in at.get("progress")]
    assert any("\\*\\*bold\\*\\*" in t and "\\[link\\]" in t for t in texts), texts
