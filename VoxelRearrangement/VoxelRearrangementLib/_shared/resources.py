"""The data the defaults need, bundled inside the package (``VoxelRearrangementLib/data``):
vote tables, network weights and their model cards, and the sample skulls. Found through
:mod:`importlib.resources`, so an installed wheel has them wherever it is installed; the
environment variable ``VOXELREARRANGEMENT_RESOURCES`` points at another folder of the same
layout (``tables/``, ``models/``, ``samples/``).
"""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Dict

from .errors import VoxelRearrangementError


def data_root() -> Path:
    """The folder of the bundled data (or ``$VOXELREARRANGEMENT_RESOURCES``)."""
    override = os.environ.get("VOXELREARRANGEMENT_RESOURCES")
    if override:
        return Path(override)
    return Path(str(resources.files("VoxelRearrangementLib") / "data"))


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource; a clear error naming it when it is missing."""
    path = data_root().joinpath(*parts)
    if not path.exists():
        raise VoxelRearrangementError(
            f"bundled resource {path} is missing (reinstall the package, or set "
            "VOXELREARRANGEMENT_RESOURCES to a folder with tables/, models/ and samples/)")
    return path


#: Vote tables built from SkullFix training skulls 000-059 (see data/tables/README.md).
DEFAULT_TABLES = ("tables", "skullfix-000-059.npz")
#: Weights of the coarse completion network (model card: data/models/README.md).
COMPLETION_WEIGHTS = ("models", "completion_unet.pt")
#: Weights of the facing check (model card: data/models/facing_net.md).
FACING_WEIGHTS = ("models", "facing_net.pt")
#: Weights of the learned rearrangement network (model card: data/models/rearrangement_net.md).
REARRANGEMENT_WEIGHTS = ("models", "rearrangement_net.pt")
#: The bundled samples (data/samples): file stem -> what it is.
SAMPLES: Dict[str, str] = {
    "skull069_defective": "SkullFix case 069, defective skull (full resolution)",
    "skull069_coarse": "SkullFix case 069, coarse complete skull (128 x 128 x 64)",
    "skull069_complete": "SkullFix case 069, complete skull (ground truth)",
    "skull069_implant": "SkullFix case 069, implant (ground truth)",
    "template005": "SkullFix case 005, complete skull (a template)",
}


def sample_path(name: str) -> Path:
    """Path of a bundled sample (see :data:`SAMPLES`)."""
    if name not in SAMPLES:
        raise VoxelRearrangementError(f"unknown sample '{name}' (choose from {', '.join(SAMPLES)})")
    return resource_path("samples", f"{name}.nrrd")
