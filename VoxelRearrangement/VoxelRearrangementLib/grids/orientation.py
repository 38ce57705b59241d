"""Canonical orientation: the index axes of a volume reordered and flipped (no resampling) so
that i, j and k point as close as possible to left, posterior and superior (LPS), as in the
SkullFix scans the networks were trained on. A volume stored with another axis order or
direction is seen by a network the way it was trained, as far as its header is right: the
header is all this reads. A header that calls the face's side posterior (the SkullBreak file
in ../shared/data does: it says j points anterior, while the face lies at j = 0) shows the network a skull
facing backwards, which costs its implants about 0.1 DSC (README, "Skull completion");
:data:`FACES` names where the face lies in the input's frame, and the completion turns the
canonical view round along j when it lies posterior (``learned/completion/facing.py`` checks).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np

from .geometry import Mask

#: Where the face lies in the input's frame: ``auto`` (a check decides), ``anterior`` (the
#: header is right), ``posterior`` (the header swaps anterior and posterior).
FACES = ("auto", "anterior", "posterior")


@dataclass(frozen=True)
class Reorientation:
    """``array.transpose(perm)`` then flipping the axes in ``flips`` turns an array into its
    canonical view; :meth:`undo` turns a canonical array back."""

    perm: Tuple[int, int, int]
    flips: Tuple[int, ...]

    @classmethod
    def of(cls, ijk_to_lps: np.ndarray) -> "Reorientation":
        """The reorientation that brings the grid of ``ijk_to_lps`` closest to LPS axes."""
        lin = np.asarray(ijk_to_lps, dtype=np.float64)[:3, :3]
        directions = lin / np.linalg.norm(lin, axis=0)  # column a: world direction of axis a
        perm = [-1, -1, -1]
        free = [0, 1, 2]
        for world in np.argsort(-np.abs(directions).max(axis=1)):  # most decided first
            axis = max(free, key=lambda a: abs(directions[world, a]))
            perm[world] = axis
            free.remove(axis)
        flips = tuple(w for w in range(3) if directions[w, perm[w]] < 0)
        return cls(tuple(perm), flips)

    @property
    def is_identity(self) -> bool:
        return self.perm == (0, 1, 2) and not self.flips

    def apply(self, array: np.ndarray) -> np.ndarray:
        """The canonical view of ``array`` (a view, no copy)."""
        out = np.transpose(array, self.perm)
        return np.flip(out, self.flips) if self.flips else out

    def undo(self, array: np.ndarray) -> np.ndarray:
        """The original-orientation view of a canonical ``array``."""
        out = np.flip(array, self.flips) if self.flips else array
        return np.transpose(out, np.argsort(self.perm))

    def matrix(self, ijk_to_lps: np.ndarray, shape) -> np.ndarray:
        """IJK-to-LPS matrix of the canonical view of a volume of ``shape`` on ``ijk_to_lps``:
        every voxel keeps its world position."""
        m = np.asarray(ijk_to_lps, dtype=np.float64)
        out = np.eye(4)
        out[:3, :3] = m[:3, :3][:, list(self.perm)]
        out[:3, 3] = m[:3, 3]
        return self._flipped(out, [shape[a] for a in self.perm])

    def _flipped(self, m: np.ndarray, shape) -> np.ndarray:
        """``m`` with the axes of ``flips`` reversed (index c becomes n - 1 - c); its own inverse."""
        out = m.copy()
        for a in self.flips:
            out[:3, 3] += out[:3, a] * (shape[a] - 1)
            out[:3, a] = -out[:3, a]
        return out

    def mask(self, mask: Mask) -> Mask:
        """The canonical view of ``mask`` (array view, same world positions)."""
        return Mask(self.apply(mask.array), self.matrix(mask.ijk_to_lps, mask.array.shape))

    def unmask(self, canonical: Mask) -> Mask:
        """A canonical ``Mask`` back in the original orientation (same world positions)."""
        m = self._flipped(canonical.ijk_to_lps, canonical.array.shape)
        back = np.eye(4)
        back[:3, :3] = m[:3, :3][:, list(np.argsort(self.perm))]
        back[:3, 3] = m[:3, 3]
        return Mask(np.ascontiguousarray(self.undo(canonical.array)), back)
