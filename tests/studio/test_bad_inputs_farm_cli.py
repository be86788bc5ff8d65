"""Bad inputs for ``nst renders``: a render number is ASCII digits (the library's one id parser, not
``int``, which reads "١" as 1 and "1_0" as 10), and ``renders show`` tells a render's story even when
its stored events were written by other means."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from db import open_library
from studio import cli


@pytest.fixture
def renders():
    """Eleven queued renders in the default library (this test's data directory); their ids."""
    with open_library() as library:
        return [library.create_render("palette", {"colors": 4}, None, []).id for _ in range(11)]


@pytest.mark.parametrize("argv", [["renders", "cancel", "١"], ["renders", "show", "1_0"],
                                  ["renders", "show", "²"], ["renders", "cancel", " 1 0"],
                                  ["renders", "list", "--limit", "١٠"], ["renders", "list", "--limit", "1_0"]])
def test_a_number_not_in_ascii_digits_is_refused_and_nothing_changes(renders, argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and ("not a render number" in err or "not a whole number" in err), err
    with open_library() as library:
        assert [r.status for r in library.list_renders()] == ["queued"] * len(renders)


def test_ascii_digits_still_name_a_render(renders, capsys):
    assert cli.main(["renders", "show", f" {renders[9]} "]) == 0
    assert capsys.readouterr().out.startswith(f"render {renders[9]}: queued")


@pytest.mark.parametrize("events", ['[1, "x"]', '[null, [], {"event": "queued"}]', '["started"]'])
def test_show_skips_story_entries_that_are_not_objects(renders, events, capsys):
    with open_library() as library:
        with library.session() as s:
            s.execute(text("UPDATE renders SET events = :e WHERE id = :i"), {"e": events, "i": renders[0]})
    assert cli.main(["renders", "show", str(renders[0])]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"render {renders[0]}: queued")
    assert ("queued" in out.split("parameters:")[1]) == ("queued" in events)


@pytest.mark.parametrize("progress", ['{"step": "a", "total": 5, "size": 7}', '[1, "x"]',
                                      '{"step": 1, "total": 5, "size": [1], "losses": [1]}'])
def test_watching_a_render_with_tampered_progress_follows_it_to_its_end(renders, progress):
    """``nst transfer --queue`` watches the render's record: a progress it cannot read draws no bar."""
    import io

    from studio.farm import Farm
    from studio.farm_cli import watch

    with open_library() as library:
        with library.session() as s:
            s.execute(text("UPDATE renders SET status = 'running', owner = 'w', progress = :p WHERE id = :i"),
                      {"p": progress, "i": renders[0]})
        looks = []
        real = library.get_render

        def get_render(render_id):  # the real record; cancelled in the database after the first look
            looks.append(render_id)
            if len(looks) == 2:
                library.request_cancel(render_id)
                library.cancel_render(render_id)
            return real(render_id)

        library.get_render = get_render
        record = watch(Farm(library, None, None), renders[0], io.StringIO(), quiet=True)
        assert record.status == "cancelled" and len(looks) == 2
