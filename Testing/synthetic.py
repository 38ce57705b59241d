"""Small synthetic skull-like masks (thick ellipsoidal shells) for fast tests."""
import numpy as np

from VoxelRearrangementLib.mask_io import Mask


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
