"""Exceptions of the library: every bad input raises :class:`VoxelRearrangementError`."""


class VoxelRearrangementError(ValueError):
    """A problem with the user's input or request, with a message that names it."""


class GridMismatchError(VoxelRearrangementError):
    """Two masks (or a mask and a grid) that must share a voxel grid do not."""


class Cancelled(RuntimeError):
    """The run was cancelled by the caller between two stages."""
