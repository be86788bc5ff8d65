"""The app answers on this machine only; a pack's cost is bounded; a read-only library can be browsed;
results of any positive size are kept."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from db import LibraryError, open_library

ROOT = Path(__file__).resolve().parents[1]
#: The stated bounds for a pack of at most 4 MB (docs/security.md).
PACK_DB_BOUND = 64 * 1024 * 1024
PACK_RSS_BOUND = 1024 * 1024 * 1024

# The peak resident memory of this process's own address space (VmHWM starts afresh at exec; getrusage's
# ru_maxrss would carry over the size of the test process that started it).
IMPORT = """
import sys
from pathlib import Path
from db import open_library
from db.packs import import_pack
library = open_library()
report = import_pack(library, sys.argv[1])
print(report.summary())
peak = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:"))
print("maxrss", int(peak.split()[1]) * 1024)
"""


def _png(width: int, height: int, color) -> bytes:
    """A PNG of one colour; a palette image (one byte a pixel to compress, three when decoded)."""
    buffer = io.BytesIO()
    image = Image.new("P", (width, height), 0)
    image.putpalette(list(color) + [0] * 765)
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def _costly_pack() -> bytes:
    """What a 4 MB pack can hold at worst: large images that compress to almost nothing, many names for
    them, and an image followed by a payload."""
    import hashlib
    import random

    big = {f"big{i}.png": _png(7000, 7000, (i * 40, 100, 200)) for i in range(4)}  # 196 megapixels decoded
    rng = random.Random(0)
    tailed = _png(64, 64, (5, 5, 5)) + rng.randbytes(3 * 1024 * 1024)  # a PNG and 3 MB of payload
    files = {**big, "tailed.png": tailed}
    styles = [{"name": f"Copy {n}", "image": f"big{n % 4}.png",
               "sha256": hashlib.sha256(big[f"big{n % 4}.png"]).hexdigest()} for n in range(2000)]
    styles.append({"name": "Tailed", "image": "tailed.png", "sha256": hashlib.sha256(tailed).hexdigest()})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("pack.json", json.dumps({"format": "nst-style-pack", "version": 1, "styles": styles}),
                         compress_type=zipfile.ZIP_DEFLATED)
        for name, data in files.items():
            archive.writestr(name, data, compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue()


@pytest.mark.slow
def test_a_4_mb_pack_costs_at_most_64_mb_of_database_and_1_gb_of_memory(tmp_path):
    data = _costly_pack()
    assert len(data) <= 4 * 1024 * 1024
    (tmp_path / "pack.zip").write_bytes(data)
    env = dict(os.environ, NST_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    (tmp_path / "data").mkdir()
    done = subprocess.run([sys.executable, "-c", IMPORT, str(tmp_path / "pack.zip")], env=env, capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "2001 styles imported" in done.stdout
    rss = int(done.stdout.split("maxrss")[1])
    database = sum(p.stat().st_size for p in (tmp_path / "data").glob("library.db*"))
    print(f"a {len(data) / 2**20:.1f} MB pack: peak RSS {rss / 2**20:.0f} MB, database {database / 2**20:.1f} MB")
    assert rss <= PACK_RSS_BOUND and database <= PACK_DB_BOUND


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _other_addresses() -> list[str]:
    """This machine's IPv4 addresses that are not loopback."""
    found = set()
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout
        found.update(a for a in out.split() if "." in a)
    except (OSError, subprocess.SubprocessError):
        pass
    return sorted(a for a in found if not a.startswith("127."))


def _listening(port: int) -> set[str]:
    """The local addresses with a socket listening on ``port`` (from /proc/net/tcp and tcp6)."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                addresses.add(address)
    return addresses


def test_the_app_started_with_the_readme_command_answers_on_127_0_0_1_only(tmp_path):
    port = _free_port()
    env = dict(os.environ, NST_DATA_DIR=str(tmp_path / "data"), NST_APP_WORKERS="0")
    # README: "streamlit run streamlit_app.py" (a free port, so as not to meet another app on 8501)
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port",
                                str(port), "--server.headless", "true"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("the app did not answer on 127.0.0.1")
        assert _listening(port) == {"0100007F"}, "listening on 127.0.0.1 and nothing else"
        others = _other_addresses()
        assert others, "no address of this machine other than loopback to try the app on"
        for address in others:
            with pytest.raises(OSError):
                socket.create_connection((address, port), timeout=2).close()
    finally:
        process.terminate()
        process.wait(20)


@pytest.fixture
def read_only_library(tmp_path):
    """A library on a read-only filesystem (a tmpfs remounted read-only; needs root, as in CI)."""
    mount = tmp_path / "ro"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        if os.environ.get("CI"):
            pytest.fail("cannot mount a read-only filesystem to test on")
        pytest.skip("mounting a read-only filesystem needs root")
    try:
        url = f"sqlite:///{mount / 'library.db'}"
        with open_library(url) as library:
            library.add_style(_png(64, 48, (1, 2, 3)), name="Kept")
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        yield url
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def test_a_library_on_a_read_only_disk_can_be_browsed_and_says_why_it_cannot_change(read_only_library):
    with open_library(read_only_library) as library:
        assert library.read_only
        assert [s.name for s in library.list_styles()] == ["Kept"]
        assert library.style_image("Kept").size == (64, 48)
        with pytest.raises(LibraryError, match="read-only .* browsed, not changed"):
            library.add_style(_png(64, 48, (9, 9, 9)), name="New")
        with pytest.raises(LibraryError, match="read-only"):
            library.delete_style("Kept")
    done = subprocess.run([sys.executable, "-m", "nst", "styles", "list"], capture_output=True, text=True,
                          cwd=ROOT, env=dict(os.environ, NST_DATABASE_URL=read_only_library), timeout=120)
    assert done.returncode == 0 and "Kept" in done.stdout, done.stderr


def test_results_of_any_positive_size_are_kept(library):
    """A 10000x50 photo through the palette filter used to fail on its 1024x5 result (upload rules)."""
    render = library.create_render("palette", {"size": 1024}, _png(640, 40, (1, 1, 1)))
    library.start_render(render.id, "host:1:w")
    done = library.finish_render(render.id, _png(1024, 5, (7, 7, 7)), owner="host:1:w")
    assert done.status == "done" and library.get_image(done.result_image_id).width == 1024


def test_the_app_accepts_uploads_as_large_as_the_library_does():
    import tomllib

    from nst import images

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert config["server"]["maxUploadSize"] * 1024 * 1024 == images.MAX_FILE_BYTES
