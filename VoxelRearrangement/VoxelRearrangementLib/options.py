"""The options of the end-to-end pipeline (``run``), defined once.

:class:`PipelineOptions` is used by the command line (:func:`add_arguments`,
:func:`from_arguments`), by the worker's command line that the Slicer Logic builds
(:meth:`PipelineOptions.to_argv`), by the Logic and the module panel, and by
:func:`~.pipeline.run_pipeline`. The input decides the mode: a defective skull at full
resolution (``complete``: completion, refinement, implant, meshes) or an already coarse
complete skull (``refine``: refinement and mesh only).
"""
from __future__ import annotations

import argparse
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from typing import Any, Dict, List, Optional, Tuple

from ._shared.bounds import argument, check
from ._shared.errors import VoxelRearrangementError
from .ct.segment import DEFAULT_BONE_HU, DEFAULT_SKULL_HEIGHT_MM
from .grids.orientation import FACES
from .learned.weights import DEFAULT_DEVICE, DEVICES
from .printing.fit import DEFAULT_CLEARANCE_MM, DEFAULT_MIN_EDGE_MM
from .printing.implant import DEFAULT_OPENING_MM

#: Default largest skull.stl (MB): 600 000 triangles, a twentieth of a mm from the 2.3 M of a
#: full-resolution skull (measured on SkullFix 069: at most 0.05 mm apart).
DEFAULT_SKULL_STL_MB = 30.0
from .printing.meshing import DEFAULT_SMOOTHING
from .synthesis.refine import METHODS

#: ``complete``: a defective skull at full resolution; ``refine``: a coarse complete skull;
#: ``ct``: a head CT (the skull is segmented from it, then as ``complete``).
MODES = ("complete", "refine", "ct")
#: The command-line flag of the input of each mode.
INPUT_FLAGS = {"complete": "--defective", "refine": "--coarse", "ct": "--ct"}


def _option(default: Any, flag: Optional[str], help: str, bound: Optional[str] = None,
            **argparse_kw) -> Any:
    """A dataclass field with its command-line flag (None: not on the command line) and the
    name of its range in :data:`~._shared.bounds.BOUNDS`."""
    if bound is not None:
        argparse_kw["type"] = argument(bound, flag)
    return field(default=default, metadata={"flag": flag, "help": help, "bound": bound,
                                            "argparse": argparse_kw})


@dataclass(frozen=True)
class PipelineOptions:
    """Everything ``run`` can be asked, with the defaults every entry point shares."""

    mode: str = _option("complete", None, "complete (defective skull), refine (coarse skull) or "
                        "ct (head CT)")
    method: str = _option("hash", "--method", "refinement method", choices=METHODS)
    templates: Tuple[str, ...] = _option(
        (), "--template", "template skull file(s) for hash/kdtree (repeat for several; default: "
        "the bundled vote tables of SkullFix 000-059)", action="append")
    device: str = _option(DEFAULT_DEVICE, "--device", "where the networks run", choices=DEVICES)
    weights: Optional[str] = _option(None, "--weights",
                                     "completion network weights (default: the bundled ones)")
    workers: int = _option(2, "--workers", "threads for the refinement (hash and kdtree give "
                           "the same result with any number)", bound="workers")
    hamming_radius: int = _option(2, "--hamming-radius", "hash lookup radius",
                                  bound="hamming_radius")
    opening_mm: float = _option(DEFAULT_OPENING_MM, "--opening-mm",
                                "implant clean-up: radius (mm) of the opening", bound="opening_mm")
    clearance_mm: float = _option(DEFAULT_CLEARANCE_MM, "--clearance-mm",
                                  "gap (mm) between the implant's rim and the defective bone, for "
                                  "fitting it (0: touching)", bound="clearance_mm")
    min_edge_mm: float = _option(DEFAULT_MIN_EDGE_MM, "--min-edge-mm",
                                 "the implant's edge is trimmed where thinner than this (mm; 0: "
                                 "no trim)", bound="min_edge_mm")
    bone_hu: float = _option(DEFAULT_BONE_HU, "--bone-hu",
                             "ct input: bone threshold (Hounsfield units)", bound="bone_hu")
    skull_height_mm: float = _option(DEFAULT_SKULL_HEIGHT_MM, "--skull-height-mm",
                                     "ct input: height (mm) kept below the vertex", bound="skull_height_mm")
    smoothing: float = _option(DEFAULT_SMOOTHING, "--smoothing",
                               "mesh smoothing 0..1 (0: raw marching cubes)", bound="smoothing")
    skull_stl_mb: float = _option(DEFAULT_SKULL_STL_MB, "--skull-stl-mb",
                                  "skull.stl at most this size (MB): decimated within 0.1 mm, "
                                  "watertight (0: every triangle)", bound="stl_mb")
    implant_stl_mb: float = _option(0.0, "--implant-stl-mb",
                                    "implant.stl at most this size (MB; 0: full detail)", bound="stl_mb")
    render: bool = _option(True, "--no-render", "skip render.png", action="store_false")
    compress: bool = _option(True, "--no-compress",
                             "write masks as raw NRRD (faster, 5-10x larger: temporary files)",
                             action="store_false")
    face: str = _option(
        "auto", "--face", "where the face lies in the input's frame: anterior (its header is "
        "right), posterior (anterior and posterior swapped in the file, as in SkullBreak's "
        "parietotemporal_001.nii.gz) or auto (a small network on the coarse skull decides; when "
        "unsure it keeps the header); the completion and the closure checks see the head the "
        "right way round, the outputs stay on the input's grid", choices=FACES)
    reference_grid: Optional[str] = _option(
        None, "--reference-grid", "refine mode: image or mask whose grid is the target "
        "(default: 4x the coarse grid on every axis)")

    def __post_init__(self) -> None:
        object.__setattr__(self, "templates", tuple(str(t) for t in (self.templates or ())))
        if self.mode not in MODES:
            raise VoxelRearrangementError(f"unknown mode '{self.mode}' (choose from {', '.join(MODES)})")
        if self.method not in METHODS:
            raise VoxelRearrangementError(
                f"unknown method '{self.method}' (choose from {', '.join(METHODS)})")
        if self.device not in DEVICES:
            raise VoxelRearrangementError(
                f"unknown device '{self.device}' (choose from {', '.join(DEVICES)})")
        if self.reference_grid is not None and self.mode != "refine":
            raise VoxelRearrangementError("a reference grid is only used when refining a coarse skull")
        if self.face not in FACES:
            raise VoxelRearrangementError(
                f"unknown face '{self.face}' (choose from {', '.join(FACES)})")
        if self.face != "auto" and self.mode == "refine":
            raise VoxelRearrangementError(
                "the face's side is only used when completing a skull (not when refining a coarse one)")
        for f in fields(self):
            if f.metadata["bound"] is not None:
                object.__setattr__(self, f.name, check(f.metadata["bound"], getattr(self, f.name),
                                                       f.name))

    def replace(self, **changes) -> "PipelineOptions":
        """A copy with ``changes`` (field names as keywords)."""
        return replace(self, **changes)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def to_argv(self) -> List[str]:
        """The command-line flags of the options that differ from the defaults (the mode is
        given by the input flag, see :func:`run_argv`)."""
        argv: List[str] = []
        for f in fields(self):
            flag, value = f.metadata["flag"], getattr(self, f.name)
            if flag is None or value == _default(f):
                continue
            action = f.metadata["argparse"].get("action")
            if action == "store_false":
                argv.append(flag)
            elif action == "append":
                for item in value:
                    argv += [flag, str(item)]
            else:
                argv += [flag, str(value)]
        return argv


def _default(f) -> Any:
    return f.default if f.default is not MISSING else f.default_factory()


def add_arguments(parser: argparse.ArgumentParser, exclude: Tuple[str, ...] = (),
                  only: Optional[Tuple[str, ...]] = None) -> None:
    """The options of :class:`PipelineOptions` (those in ``only`` when given, but never those
    in ``exclude``) as flags of ``parser`` (defaults: None, so that :func:`from_arguments` can
    tell what was given)."""
    for f in fields(PipelineOptions):
        flag = f.metadata["flag"]
        if flag is None or f.name in exclude or (only is not None and f.name not in only):
            continue
        kw = dict(f.metadata["argparse"])
        default = _default(f)
        shown = "" if default in ((), None) or kw.get("action") == "store_false" else \
            f" (default {default})"
        parser.add_argument(flag, dest=f.name, default=None, help=f.metadata["help"] + shown, **kw)


def from_arguments(args: argparse.Namespace, mode: str) -> PipelineOptions:
    """The options given on the command line (parsed with :func:`add_arguments`), defaults
    for the rest."""
    given = {f.name: getattr(args, f.name) for f in fields(PipelineOptions)
             if f.metadata["flag"] is not None and getattr(args, f.name, None) is not None}
    return PipelineOptions(mode=mode, **given)


def run_argv(input_path: str, output_dir: str, options: PipelineOptions) -> List[str]:
    """The worker's full command line (after ``-m VoxelRearrangementLib``) for one run."""
    return ["run", INPUT_FLAGS[options.mode], str(input_path), "--output-dir", str(output_dir),
            *options.to_argv()]
