"""Shared fixtures: the bundled sample (always present) and ../shared/data (optional)."""
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "VoxelRearrangement" / "Resources" / "SampleData"
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


def sheared_matrix() -> np.ndarray:
    """An IJK-to-LPS matrix with shear, anisotropic spacing, a flip and an offset origin."""
    m = np.eye(4)
    m[:3, :3] = np.array([[-0.45, 0.0, 0.0], [0.0, 0.44, 0.09], [0.0, -0.07, 0.62]])
    m[:3, 3] = [120.5, -127.8, -10.2]
    return m
