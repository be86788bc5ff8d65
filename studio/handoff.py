"""Photos decoded on their way into the library, handed to a render thread of the same process.

:meth:`studio.farm.Farm.submit` decodes a photo once, as it enters the library
(:func:`db.ingest.prepare_image`). When this process runs render threads of
its own (a started :class:`~studio.consumer.RenderThreads`), it leaves the decoded
picture here under the render's id, and the thread that runs the render takes
it instead of decoding the stored image again. A render run elsewhere (another
process, another machine) decodes the stored image, its one decode.

A picture leaves when its render is taken, finished, failed or cancelled here;
one nobody takes (its render ran elsewhere, or was claimed before the picture
was left) leaves when it is older than ``max_age`` seconds or when the pictures
kept pass ``max_bytes`` or ``max_count``, oldest first: a click that submits
twenty photos leaves at most a few of them here, never twenty full-size
decodes. Missing a picture only costs a decode of the stored image.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable

from PIL import Image

#: Bytes of decoded pictures kept at most (a 12-megapixel RGB photo takes 36 MB).
MAX_BYTES = 160 * 1024 * 1024
#: Seconds a picture is kept for a render that has not started.
MAX_AGE = 300.0
#: Pictures kept at most, whatever their size (a render thread takes one at a time).
MAX_PICTURES = 8


def picture_bytes(picture: Image.Image) -> int:
    """The memory a decoded picture holds."""
    return picture.width * picture.height * len(picture.getbands())


class Handoff:
    """Decoded pictures by render id, each taken once, bounded in bytes, count and age; thread-safe."""

    def __init__(self, max_bytes: int = MAX_BYTES, max_age: float = MAX_AGE,
                 clock: Callable[[], float] = time.monotonic, max_count: int = MAX_PICTURES):
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.max_count = max_count
        self.clock = clock
        self._pictures: OrderedDict[int, tuple[float, int, Image.Image]] = OrderedDict()
        self._bytes = 0
        self._takers = 0
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ who takes pictures here

    def open(self) -> None:
        """This process now runs render threads (a RenderThreads was started)."""
        with self._lock:
            self._takers += 1

    def close(self) -> None:
        """A RenderThreads of this process stopped; with none left, nothing is kept."""
        with self._lock:
            self._takers = max(0, self._takers - 1)
            if not self._takers:
                self._pictures.clear()
                self._bytes = 0

    @property
    def wanted(self) -> bool:
        """Whether a render thread of this process may take a picture left here."""
        with self._lock:
            return self._takers > 0

    # ------------------------------------------------------------------ pictures

    def put(self, render_id: int, picture: Image.Image) -> bool:
        """Leave ``picture`` for render ``render_id``; False when it is not kept (no render thread here,
        or larger than the bound)."""
        size = picture_bytes(picture)
        with self._lock:
            if not self._takers or size > self.max_bytes or self.max_count < 1:
                return False
            self._remove(render_id)
            self._pictures[render_id] = (self.clock(), size, picture)
            self._bytes += size
            self._evict()
            return render_id in self._pictures

    def take(self, render_id: int) -> Image.Image | None:
        """The picture left for ``render_id``, once; None when there is none (then decode the stored image)."""
        with self._lock:
            self._evict()
            entry = self._remove(render_id)
            return None if entry is None else entry[2]

    def drop(self, render_id: int) -> None:
        """Forget the picture of a render that ended, or will run elsewhere."""
        with self._lock:
            self._remove(render_id)

    @property
    def held(self) -> tuple[int, int]:
        """(pictures, bytes) kept now."""
        with self._lock:
            self._evict()
            return len(self._pictures), self._bytes

    def _remove(self, render_id: int):
        entry = self._pictures.pop(render_id, None)
        if entry is not None:
            self._bytes -= entry[1]
        return entry

    def _evict(self) -> None:
        oldest = self.clock() - self.max_age
        while self._pictures:
            render_id, (left, _, _) = next(iter(self._pictures.items()))
            if self._bytes <= self.max_bytes and len(self._pictures) <= self.max_count and left >= oldest:
                break
            self._remove(render_id)


#: This process's handoff, shared by its farm and its render threads.
DECODED_PHOTOS = Handoff()
