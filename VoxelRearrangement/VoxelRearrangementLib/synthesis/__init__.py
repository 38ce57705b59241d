"""Refinement of a coarse mask to a fine grid (:func:`.refine.refine`): template synthesis
(hash: :mod:`.hash`; KD-tree: :mod:`.kdtree`) from the votes of template skulls (:mod:`.votes`,
:mod:`.tables`) over the pyramid steps (:mod:`.level_step`, :mod:`.codes`, :mod:`.hashtable`),
and the baselines (:mod:`.baselines`). ``learned`` runs :mod:`..learned.rearrangement`."""
