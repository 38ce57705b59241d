"""Learned voxel rearrangement (``refine --method learned``): :mod:`.model` (folded residual
CNN), :mod:`.data` (patches), :mod:`.train` (``train-rearrangement``) and :mod:`.inference`
(tiled band-only inference)."""
