"""Voxel grids and masks with explicit geometry: :mod:`.geometry` (:class:`~.geometry.Grid`,
:class:`~.geometry.Mask`, maps between grids), :mod:`.resample` (the challenge's downsampling,
separable and general upsampling), :mod:`.pyramid` (the three-level synthesis pyramid),
:mod:`.orientation` (the canonical view the networks see) and :mod:`.framing` (a volume cut or
padded to SkullFix's framing of the skull before the network sees it)."""
