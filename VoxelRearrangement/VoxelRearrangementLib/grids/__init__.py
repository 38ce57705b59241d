"""Voxel grids and masks with explicit geometry: :mod:`.geometry` (:class:`~.geometry.Grid`,
:class:`~.geometry.Mask`, maps between grids), :mod:`.resample` (the challenge's downsampling,
separable and general upsampling) and :mod:`.pyramid` (the three-level synthesis pyramid)."""
