"""Where the extension's bundled resources are (sample data, vote tables, model weights).

They live in the Slicer module's ``Resources`` folder beside this package; the environment
variable ``VOXELREARRANGEMENT_RESOURCES`` points elsewhere when the Lib is installed alone.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import VoxelRearrangementError


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource; a clear error naming it when it is missing."""
    root = Path(os.environ.get("VOXELREARRANGEMENT_RESOURCES",
                               Path(__file__).resolve().parents[2] / "Resources"))
    path = root.joinpath(*parts)
    if not path.exists():
        raise VoxelRearrangementError(f"bundled resource {path} is missing (set "
                                      "VOXELREARRANGEMENT_RESOURCES to the module's Resources folder)")
    return path


#: The default template skull of the bundled sample (SkullFix case 005).
DEFAULT_TEMPLATE = ("SampleData", "template005.nrrd")
#: Vote tables built from SkullFix training skulls 000-059 (see Resources/Tables/README.md).
DEFAULT_TABLES = ("Tables", "skullfix-000-059.npz")
#: Weights of the coarse completion network (model card: Models/README.md).
COMPLETION_WEIGHTS = ("Models", "completion_unet.pt")
#: Weights of the learned rearrangement network (model card: Models/rearrangement_net.md).
REARRANGEMENT_WEIGHTS = ("Models", "rearrangement_net.pt")
