"""Run by tests/app/test_stylize_uploads.py in a process of its own: the app under AppTest, Stylize with
COUNT flat SIDE x SIDE PNG uploads and one click of Paint; prints one JSON line with the process's peak
memory (VmHWM: the largest resident size it ever had) and what the click did.

``python -m tests.app.paint_many COUNT SIDE`` (NST_DATA_DIR and NST_APP_WORKERS=0 set by the caller).
This process has no render threads, so it leaves decoded photos in the handoff as if it had
(``DECODED_PHOTOS.open()``): what the handoff keeps counts in the peak.
"""

from __future__ import annotations

import io
import json
import struct
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def memory_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def flat_pngs(count: int, side: int) -> list[bytes]:
    """``count`` distinct PNGs of one flat colour each, built without ever holding the pixels (a flat
    7000 x 7000 PNG is about 156 KiB; its pixels are 147 MB)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(9)
    row = b"\x00" + bytes((90, 120, 150)) * side
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
    # the same pixels, distinct files (the library stores each upload once, by its bytes)
    return [head + chunk(b"tEXt", b"Comment\x00photo %d" % i) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
            for i in range(count)]


def main(count: int, side: int) -> dict:
    from streamlit.testing.v1 import AppTest

    from studio.handoff import DECODED_PHOTOS

    uploads = [(f"flat-{i}.png", data, "image/png") for i, data in enumerate(flat_pngs(count, side))]
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=600).run()
    at.switch_page("ui/stylize.py").run()
    at.file_uploader(key="stylize:uploads").set_value(uploads).run()
    DECODED_PHOTOS.open()
    paint = next(b for b in at.button if b.label.startswith("Paint"))
    before = memory_kib("VmRSS")
    paint.click().run()
    from ui import services

    return {"peak_kib": memory_kib("VmHWM"), "before_kib": before, "upload_bytes": sum(len(u[1]) for u in uploads),
            "renders": len(services.library().list_renders(limit=1000)),
            "jobs": len(at.session_state["stylize:jobs"]) if "stylize:jobs" in at.session_state else 0,
            "held": list(DECODED_PHOTOS.held), "errors": [str(e.value) for e in at.error],
            "exception": str(at.exception) if at.exception else None}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))) + "\n")
