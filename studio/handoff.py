"""Photos decoded on their way into the library, handed to a worker in the same process.

:meth:`studio.farm.Farm.submit` decodes a photo once, as it enters the library
(:func:`db.ingest.prepare_image`), and leaves the decoded picture here under its
pixel digest. A worker of the same process (the app's own render threads) that
takes the render finds it here and does not decode the stored image again; a
worker in another process or on another machine decodes the stored image, its
one decode. Only the last few are kept, so a render taken elsewhere costs little.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from PIL import Image

#: Pictures kept at most (a 12-megapixel photo takes 36 MB).
KEEP = 4


class Handoff:
    """Decoded pictures by pixel digest, each taken once; thread-safe."""

    def __init__(self, keep: int = KEEP):
        self.keep = keep
        self._pictures: OrderedDict[str, Image.Image] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, digest: str, picture: Image.Image) -> None:
        with self._lock:
            self._pictures[digest] = picture
            self._pictures.move_to_end(digest)
            while len(self._pictures) > self.keep:
                self._pictures.popitem(last=False)

    def take(self, digest: str) -> Image.Image | None:
        """The picture left under ``digest``, once; None when there is none (then decode the stored image)."""
        with self._lock:
            return self._pictures.pop(digest, None)


#: This process's handoff, shared by its farm and its workers.
PICTURES = Handoff()
