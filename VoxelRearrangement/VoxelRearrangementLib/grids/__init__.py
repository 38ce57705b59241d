"""Voxel grids and masks with explicit geometry: :mod:`.geometry` (:class:`~.geometry.Grid`,
:class:`~.geometry.Mask`, maps between grids), :mod:`.resample` (the challenge's downsampling,
separable and general upsampling), :mod:`.pyramid` (the three-level synthesis pyramid),
:mod:`.orientation` (the canonical view the networks see), :mod:`.framing` (a volume cut or
padded to SkullFix's framing of the skull before the network sees it), :mod:`.symmetry` (the
skull's mid-sagittal plane: how far the head is turned about the vertical) and
:mod:`.levelling` (a tilted head's cut found, and the network's coarse grid with that cut
level and the head straight)."""
