"""The allowed range of every numeric parameter, defined once: the command line, the Python API,
the worker and the Slicer panel all check against :data:`BOUNDS`.

The ranges keep every command within minutes and a few GB on a 512 x 512 x 400 skull
(measured: the implant's opening costs time with the cube of its radius, the Hamming search
with the number of codes within the radius, C(27, r)).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, Union

from .errors import VoxelRearrangementError

Number = Union[int, float]


@dataclass(frozen=True)
class Bound:
    """``lo <= value <= hi`` (``hi_open``: ``value < hi``), an integer when ``integer``;
    ``why`` says what a value beyond the range would cost or mean."""

    lo: Number
    hi: Number
    integer: bool = False
    unit: str = ""
    why: str = ""
    hi_open: bool = False

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a number"
        top = f"below {self.hi}" if self.hi_open else f"{self.hi}"
        unit = f" {self.unit}" if self.unit else ""
        return f"{kind} from {self.lo} to {top}{unit}"


BOUNDS: Dict[str, Bound] = {
    "workers": Bound(1, 64, integer=True, why="threads of the refinement"),
    "batch_workers": Bound(1, 256, integer=True, why="local worker processes of a batch"),
    "loader_workers": Bound(0, 64, integer=True, why="processes making training samples"),
    "hamming_radius": Bound(0, 3, integer=True,
                            why="larger radii search up to C(27, r) codes per key: minutes and GB"),
    "hamming_margin": Bound(0.0, 0.5, why="a share of the votes beyond one half"),
    "offset_bins": Bound(1, 4, integer=True, why="4 ** 3 offset classes fit the class masks"),
    "opening_mm": Bound(0.0, 3.0, unit="mm",
                        why="the opening's cost grows with the cube of its radius; 3 mm already "
                            "removes every part of the implant thinner than 6 mm"),
    "clearance_mm": Bound(0.0, 3.0, unit="mm",
                          why="a wider gap at the rim leaves the implant loose in the defect"),
    "min_edge_mm": Bound(0.0, 4.0, unit="mm",
                         why="a thicker minimum trims the implant's edge back from the rim"),
    "bone_hu": Bound(100.0, 1500.0, unit="HU",
                     why="below 100 HU soft tissue joins the bone; above 1500 most of the skull is lost"),
    "skull_height_mm": Bound(80.0, 300.0, unit="mm",
                             why="the height kept below the vertex: a skull is 130-215 mm high"),
    "smoothing_mm": Bound(0.0, 5.0, unit="mm", why="a wider Gaussian flattens the skull's curvature"),
    "min_component_ml": Bound(0.0, 100.0, unit="mL", why="an implant larger than that is one piece"),
    "stl_mb": Bound(0.0, 5000.0, unit="MB", why="0 keeps every triangle"),
    "smoothing": Bound(0.0, 1.0, why="the strength of the mesh smoothing"),
    "decimate": Bound(0.0, 1.0, hi_open=True, why="the share of triangles removed"),
    "threads": Bound(1, 256, integer=True, why="CPU threads"),
}


def check(name: str, value: Number, flag: str = "") -> Number:
    """``value`` if it is within the bound of ``name``; else a clear error naming ``flag``
    (default: the parameter's name) and the range."""
    bound = BOUNDS[name]
    label = flag or name
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise VoxelRearrangementError(f"{label} must be {bound.describe()}, not {value!r}") from None
    ok = math.isfinite(number) and number >= bound.lo and (
        number < bound.hi if bound.hi_open else number <= bound.hi)
    if ok and bound.integer and number != int(number):
        ok = False
    if not ok:
        raise VoxelRearrangementError(
            f"{label} must be {bound.describe()} ({bound.why}), not {value}")
    return int(number) if bound.integer else number


def argument(name: str, flag: str) -> Callable[[str], Number]:
    """An argparse ``type`` that parses ``flag``'s text and checks it against :data:`BOUNDS`."""
    import argparse

    def parse(text: str) -> Number:
        try:
            return check(name, text, flag)
        except VoxelRearrangementError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse
