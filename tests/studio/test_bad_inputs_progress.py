"""A filter's progress report that the render's record cannot hold (a stage that is not text, a preview
image of no picture's shape) is left out with one log line, and the heartbeat still beats: it raised on
every beat, so the render looked silent and was taken back from a worker that was running it."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from nst.progress import Progress
from studio.farm import Farm


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("report", [Progress(0, 0, 0.1, fraction=0.5, stage=5),
                                    Progress(1, 10, 0.1, image=np.zeros((4,), np.float32))],
                         ids=["a-stage-not-text", "an-image-of-no-shape"])
def test_a_report_the_record_cannot_hold_does_not_stop_the_heartbeat(library, report, caplog):
    from studio.worker import Lease

    render_id = library.create_render("palette", {"colors": 4}, None, []).id
    library.start_render(render_id, "w")
    lease = Lease(library, render_id, "w", threading.Event())
    before = library.get_render(render_id).heartbeat_at
    lease.report(report)
    lease.beat_once()  # raised here
    assert library.get_render(render_id).heartbeat_at >= before
    assert "a progress report was not written" in caplog.text
    lease.report(Progress(2, 10, 0.2))  # the next sound report is written
    lease.beat_once()
    assert Farm(library, None, None).view(render_id).step == 2
