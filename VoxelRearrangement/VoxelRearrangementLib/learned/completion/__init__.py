"""Skull completion at the challenge's coarse resolution (128 x 128 x 64): :mod:`.model`
(a light 3D U-Net), :mod:`.data` (cached pairs, synthetic defects, augmentation),
:mod:`.train` (``train-completion``) and :mod:`.inference` (:func:`.inference.complete_skull`)."""
