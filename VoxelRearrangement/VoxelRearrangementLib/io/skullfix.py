"""The SkullFix data set on disk: case ids, case lists, the report split, reading a case.

Layout: ``<data>/complete/NNN.nrrd`` (complete skulls) and ``<data>/implant/NNN.nrrd`` (their
ground-truth implants, same grid); the defective skull is ``complete & ~implant``.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import numpy as np

from .._shared.errors import VoxelRearrangementError
from ..grids.geometry import Mask
from .masks import read_mask

#: SkullFix cases kept for every reported number: never used in training or for any choice.
REPORT_CASES = tuple(f"{n:03d}" for n in range(60, 80))


def parse_cases(text: str) -> List[str]:
    """``"000-049,055"`` -> ``['000', ..., '049', '055']``."""
    out: List[str] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "-" in part:
            a, b = part.split("-")
            out += [f"{n:03d}" for n in range(int(a), int(b) + 1)]
        else:
            out.append(part)
    return out


def case_ids(data_dir: Path) -> List[str]:
    """Case ids (file stems) that have both ``complete/ID.nrrd`` and ``implant/ID.nrrd``."""
    comp, imp = Path(data_dir) / "complete", Path(data_dir) / "implant"
    if not comp.is_dir() or not imp.is_dir():
        raise VoxelRearrangementError(
            f"{data_dir}: expected the SkullFix layout with complete/ and implant/ folders")
    return sorted(p.name[:-5] for p in comp.glob("*.nrrd") if (imp / p.name).is_file())


def read_case(data_dir: Path, case: str) -> Tuple[Mask, Mask, Mask]:
    """``(complete, implant, defective)`` skull masks of one case, on the case's grid."""
    complete = read_mask(Path(data_dir) / "complete" / f"{case}.nrrd")
    implant = read_mask(Path(data_dir) / "implant" / f"{case}.nrrd")
    defective = Mask((complete.array & (implant.array == 0)).astype(np.uint8), complete.ijk_to_lps)
    return complete, implant, defective
