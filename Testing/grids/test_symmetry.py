"""grids.symmetry: the skull's mid-sagittal plane, and how far the head is turned about the
vertical."""
import numpy as np
import pytest

from helpers import tilted
from VoxelRearrangementLib import Mask, read_mask
from VoxelRearrangementLib.grids.orientation import Reorientation
from VoxelRearrangementLib.grids.resample import downsample_with_values
from VoxelRearrangementLib.grids.symmetry import mid_sagittal_yaw


def _yaw(mask: Mask) -> float:
    """The mid-sagittal yaw (degrees) of ``mask``'s coarse skull in the canonical view."""
    values, matrix = downsample_with_values(Reorientation.of(mask.ijk_to_lps).mask(mask))
    return mid_sagittal_yaw(values > 0.5, np.linalg.norm(matrix[:3, :3], axis=0))


@pytest.fixture(scope="module")
def coarse(sample_dir):
    return read_mask(sample_dir / "skull069_coarse.nrrd")  # SkullFix 069, sheared grid


@pytest.fixture(scope="module")
def natural(coarse):
    skull, = tilted([coarse], 0.0, 2, pad_ij=16)
    return _yaw(skull)


@pytest.mark.parametrize("degrees", [0.0, 15.0, -30.0])
def test_the_plane_of_a_mirror_symmetric_shell_is_found(degrees):
    # a vault-like open shell, mirror-symmetric about one plane only (a bump in front), its
    # plane turned by ``degrees`` from the i axis towards j, on a grid of 2 x 2 x 3 mm
    idx = np.indices((80, 80, 40), dtype=np.float64)
    a = np.radians(degrees)
    u = np.cos(a) * (idx[0] - 39.5) + np.sin(a) * (idx[1] - 39.5)  # across the plane
    v = -np.sin(a) * (idx[0] - 39.5) + np.cos(a) * (idx[1] - 39.5)
    r = np.sqrt((u / 28) ** 2 + (v / 34) ** 2 + (idx[2] / 36) ** 2)
    front = 0.05 * np.exp(-((v + 30) ** 2) / 40.0)
    bone = (r <= 1.0 + front) & (r >= 0.85)
    assert mid_sagittal_yaw(bone, np.array([2.0, 2.0, 3.0])) == pytest.approx(degrees, abs=0.5)


@pytest.mark.parametrize("degrees", [20.0, -25.0, 8.0])
def test_a_head_turned_about_the_vertical_is_measured(coarse, natural, degrees):
    # SkullFix 069 (its own plane turned about 4 degrees) turned about the world's vertical on
    # its sheared grid: positive turns the face to the patient's left
    skull, = tilted([coarse], degrees, 2, pad_ij=16)
    assert _yaw(skull) - natural == pytest.approx(degrees, abs=2.0)


def test_a_defect_does_not_move_the_plane(sample_dir, natural):
    # the sample's defective skull (its challenge defect to one side of the vertex) at full
    # resolution, downsampled as the completion downsamples it
    defective, = tilted([read_mask(sample_dir / "skull069_defective.nrrd")], 0.0, 2, pad_ij=64)
    assert _yaw(defective) == pytest.approx(natural, abs=1.5)
