"""Shared fixtures: the bundled sample (always present), ../shared/data (optional) and tiny
network weights. Plain helpers are in helpers.py."""
from pathlib import Path

import numpy as np
import pytest

from helpers import TINY_COMPLETION, TINY_REARRANGEMENT, ball_mask, sheared_matrix
from VoxelRearrangementLib import Mask

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "VoxelRearrangement" / "VoxelRearrangementLib" / "data" / "samples"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """Folder of the bundled sample (case 069 and template 005)."""
    return SAMPLE


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a skip that says why when it is absent (a fresh clone has none)."""
    if not (SHARED_DATA / "skullfix" / "complete").is_dir():
        pytest.skip(f"needs the SkullFix data at {SHARED_DATA} (present in CI, absent in a fresh clone)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_completion_weights(tmp_path_factory) -> Path:
    """Weights of an untrained tiny completion network (seeded)."""
    torch = pytest.importorskip("torch")
    from VoxelRearrangementLib.learned.completion.model import new_model
    from VoxelRearrangementLib.learned.weights import COMPLETION_FORMAT, export_weights
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("w") / "tiny_completion.pt"
    export_weights(new_model(TINY_COMPLETION), path, COMPLETION_FORMAT, {"note": "untrained"})
    return path


@pytest.fixture(scope="session")
def tiny_rearrangement_weights(tmp_path_factory) -> Path:
    """Weights of a random tiny rearrangement network that does more than threshold."""
    torch = pytest.importorskip("torch")
    from VoxelRearrangementLib.learned.rearrangement.model import new_model
    from VoxelRearrangementLib.learned.weights import REARRANGEMENT_FORMAT, export_weights
    torch.manual_seed(1)
    model = new_model(TINY_REARRANGEMENT)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3.0)
    path = tmp_path_factory.mktemp("w") / "tiny_rearrangement.pt"
    export_weights(model, path, REARRANGEMENT_FORMAT, {"note": "random"})
    return path


@pytest.fixture(scope="session")
def sphere():
    """A voxelised ball of radius 10 mm on an anisotropic grid (:func:`helpers.ball_mask`)."""
    return ball_mask((10.0,))


@pytest.fixture
def sheared_mask():
    """A random 20 x 17 x 11 mask on a sheared, flipped, anisotropic grid."""
    rng = np.random.default_rng(0)
    array = (rng.random((20, 17, 11)) > 0.7).astype(np.uint8)
    return Mask(array, sheared_matrix())
