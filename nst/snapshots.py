"""Snapshots: every ``every``-th step's image of a render, written as ``step_00005.png`` into a folder.

A progress listener (see :class:`nst.progress.Listener`): the render hands it the image it shows (colours
already kept when the render keeps the photo's), and it writes the file. Unlike a caller's progress
callback it is not best effort: a snapshot that cannot be written ends the render with the error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import images
from .errors import ParameterError
from .progress import Progress


@dataclass(frozen=True)
class Snapshots:
    folder: Path
    every: int

    @classmethod
    def into(cls, folder, every: int) -> "Snapshots":
        """Snapshots into ``folder``, made now if it does not exist (refused with the reason if it cannot be)."""
        try:
            Path(folder).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ParameterError(f"Cannot make the snapshot folder {folder} ({exc.strerror or exc}).") from None
        return cls(Path(folder), every)

    def wants_image(self, step: int) -> bool:
        return step % self.every == 0

    def __call__(self, report: Progress) -> None:
        if report.image is not None and self.wants_image(report.step):
            images.save(report.image, self.folder / f"step_{report.step:05d}.png")
