"""Helpers the test modules share (plain functions; fixtures are in conftest.py)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np

from VoxelRearrangementLib import Mask, write_mask

ROOT = Path(__file__).resolve().parents[1]
MODULE_DIR = ROOT / "VoxelRearrangement"
#: Configurations of untrained tiny networks (fast to build and run).
TINY_COMPLETION = {"half": 4, "base": 8, "inputs": 2}
TINY_REARRANGEMENT = {"fold": 4, "channels": 8, "depth": 2}


def sheared_matrix() -> np.ndarray:
    """An IJK-to-LPS matrix with shear, anisotropic spacing, a flip and an offset origin."""
    m = np.eye(4)
    m[:3, :3] = np.array([[-0.45, 0.0, 0.0], [0.0, 0.44, 0.09], [0.0, -0.07, 0.62]])
    m[:3, 3] = [120.5, -127.8, -10.2]
    return m


def network_coarse(defective: Mask, other: Optional[Mask] = None) -> Mask:
    """The coarse mask the completion network is given for ``defective`` (or ``other``, a
    mask on its grid, on the same coarse grid): the challenge downsampling of the volume,
    framed for the network first where its framing is not SkullFix's (``grids.framing``:
    the tests' small shells, which fill their volumes, are)."""
    from VoxelRearrangementLib import downsample
    from VoxelRearrangementLib.grids.framing import network_framing, reframed
    from VoxelRearrangementLib.grids.orientation import Reorientation
    turn = Reorientation.of(defective.ijk_to_lps)
    canonical = turn.mask(defective)
    box = network_framing(canonical, downsample(canonical).array)
    seen = canonical if other is None else turn.mask(other)
    return turn.unmask(downsample(seen if box is None else reframed(seen, box)))


def tilted(masks: Sequence[Mask], degrees: float, world_axis: int = 0, pad: int = 0,
           pad_ij: int = 0) -> List[Mask]:
    """``masks`` (one grid) turned by ``degrees`` about the world axis ``world_axis`` (0:
    left-right, 1: anterior-posterior, 2: inferior-superior) through the first one's bone
    centre and resampled (nearest) on their grid with ``pad`` empty slices added below and
    above along k and ``pad_ij`` on each side along i and j: a head scanned tilted (its cut
    oblique in the volume) or turned about the vertical."""
    from VoxelRearrangementLib.grids.framing import reframed
    from VoxelRearrangementLib.grids.geometry import index_to_lps
    from VoxelRearrangementLib.grids.resample import resample_mask
    n = np.array(masks[0].array.shape)
    padded = [reframed(m, (-np.array([pad_ij, pad_ij, pad]), n + [pad_ij, pad_ij, pad]))
              for m in masks]
    matrix = padded[0].ijk_to_lps
    centre = index_to_lps(matrix, np.argwhere(padded[0].array).mean(axis=0)[None])[0]
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    a, b = [q for q in range(3) if q != world_axis]
    turn = np.eye(3)
    turn[a, a], turn[a, b], turn[b, a], turn[b, b] = c, -s, s, c
    moved = np.eye(4)
    moved[:3, :3], moved[:3, 3] = turn, centre - turn @ centre
    return [resample_mask(Mask(m.array, moved @ matrix), m.grid, order=0) for m in padded]


def shell(shape=(48, 44, 36), radii=(19.0, 17.0, 14.0), thickness=4.0, centre_shift=(0.0, 0.0, 0.0),
          matrix=None) -> Mask:
    """A hollow ellipsoid (outer ``radii`` in voxels, wall ``thickness`` voxels) with a bump."""
    idx = np.indices(shape, dtype=np.float64)
    c = [(n - 1) / 2 + s for n, s in zip(shape, centre_shift)]
    r_out = np.sqrt(sum(((idx[a] - c[a]) / radii[a]) ** 2 for a in range(3)))
    r_in = np.sqrt(sum(((idx[a] - c[a]) / (radii[a] - thickness)) ** 2 for a in range(3)))
    bump = np.exp(-(((idx[0] - c[0]) ** 2 + (idx[1] - c[1] - radii[1] * 0.6) ** 2) / 30.0))
    inside = (r_out <= 1.0 + 0.08 * bump) & (r_in >= 1.0)
    return Mask(inside.astype(np.uint8), np.eye(4) if matrix is None else matrix)


def skull_like(shape=(40, 40, 32), spacing=(5.0, 5.0, 5.0), matrix=None) -> Tuple[Mask, Mask]:
    """A skull-sized open shell (outer radius 90 mm, 7 mm wall, cut below the equator) and a
    top-of-vault implant block, as full-resolution masks."""
    m = np.diag(list(spacing) + [1.0]) if matrix is None else matrix
    c = (np.array(shape) - 1) / 2.0
    idx = np.indices(shape, dtype=np.float64) - c.reshape(3, 1, 1, 1)
    world = np.tensordot(m[:3, :3], idx, axes=1)
    r = np.sqrt((world ** 2).sum(0))
    skull = (r <= 90) & (r >= 83) & (world[2] > -40)
    implant = skull & (world[2] > 60) & (np.abs(world[0]) < 35)
    return Mask(skull.astype(np.uint8), m), Mask(implant.astype(np.uint8), m)


def defective_of(skull: Mask, implant: Mask) -> Mask:
    """The defective skull: ``skull & ~implant``."""
    return Mask((skull.array & (1 - implant.array)).astype(np.uint8), skull.ijk_to_lps)


def fake_skullfix(folder: Path, cases: Iterable[Tuple[Mask, Mask]]) -> Path:
    """A SkullFix-like folder (complete/NNN.nrrd, implant/NNN.nrrd) of ``(skull, implant)``."""
    for sub in ("complete", "implant"):
        (folder / sub).mkdir(parents=True)
    for k, (skull, implant) in enumerate(cases):
        write_mask(folder / "complete" / f"{k:03d}.nrrd", skull)
        write_mask(folder / "implant" / f"{k:03d}.nrrd", implant)
    return folder


def run_cli(*args, cwd=None) -> subprocess.CompletedProcess:
    """``python -m VoxelRearrangementLib ARGS`` in a new process."""
    return subprocess.run([sys.executable, "-m", "VoxelRearrangementLib", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=600)


def failed_cleanly(proc: subprocess.CompletedProcess, *words: str) -> None:
    """Exit status 2 with one ``error:`` message naming ``words``, and no traceback."""
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: "), proc.stderr
    for word in words:
        assert word in proc.stderr, (word, proc.stderr)
    assert "Traceback" not in proc.stderr


#: Anisotropic voxel spacing (mm) of :func:`ball_mask`.
BALL_SPACING = np.array([0.5, 0.45, 0.6])


def ball_mask(radii_mm, spacing=BALL_SPACING, half_extent_mm=16.0) -> Mask:
    """Voxelised ball (one radius) or hollow shell (outer, inner radius) centred in the grid."""
    n = np.ceil(2 * half_extent_mm / spacing).astype(int) + 1
    m = np.diag([*spacing, 1.0])
    m[:3, 3] = -(n - 1) / 2 * spacing  # centre of the grid at the world origin
    idx = np.indices(n, dtype=np.float64)
    r = np.sqrt(sum((idx[a] * spacing[a] + m[a, 3]) ** 2 for a in range(3)))
    inside = r <= radii_mm[0]
    if len(radii_mm) > 1:
        inside &= r >= radii_mm[1]
    return Mask(inside.astype(np.uint8), m)


def skull_with_defect(matrix):
    """Synthetic complete skull (thick shell), its defective version (a block removed from the
    top) and the true implant."""
    complete = shell((56, 52, 44), radii=(25.0, 23.0, 19.0), thickness=5.0, matrix=matrix)
    implant = np.zeros_like(complete.array)
    implant[18:38, 16:36, 30:] = complete.array[18:38, 16:36, 30:]
    defective = Mask(complete.array & (1 - implant), matrix)
    return complete, defective, Mask(implant, matrix)


def bevelled_defect(matrix):
    """A thick shell with a cap cut away by a cone whose half-angle narrows from 55 degrees at
    the inner surface to 35 at the outer: the implant's rim tapers to nothing across the wall
    (a feathered edge), as in a bevelled craniotomy. Returns (complete, defective)."""
    shape = (72, 68, 56)
    complete = shell(shape, radii=(30.0, 28.0, 24.0), thickness=6.0, matrix=matrix)
    d = np.indices(shape, dtype=np.float64) - ((np.array(shape) - 1) / 2).reshape(3, 1, 1, 1)
    r = np.sqrt((d ** 2).sum(0))
    half_angle = np.deg2rad(55 - 20 * np.clip((r - 18) / 10, 0, 1))
    cap = (d[2] > 0) & (d[2] > r * np.cos(half_angle))
    return complete, Mask((complete.array & ~cap).astype(np.uint8), matrix)


def implant_with_hole(implant: Mask, radius_voxels: float) -> Mask:
    """``implant`` with a hole through its middle, along the last index axis (as a completion
    can leave in a large defect)."""
    array = np.ascontiguousarray(implant.array).copy()
    centre = np.argwhere(array).mean(axis=0)
    i, j = np.indices(array.shape[:2])
    array[np.hypot(i - centre[0], j - centre[1]) < radius_voxels] = 0
    return Mask(array, implant.ijk_to_lps)
