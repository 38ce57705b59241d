"""The two networks (PyTorch, imported only where used) and what they share.

- :mod:`.completion` — the coarse completion network: model, data, training, inference.
- :mod:`.rearrangement` — the learned voxel rearrangement: model, data, training, inference.
- Shared: folding layers (:mod:`.layers`), overlap tiles (:mod:`.tiling`), the weights
  format and safe loader (:mod:`.weights`), the training loop (:mod:`.training`,
  :mod:`.training_log`) and cached per-case training data (:mod:`.case_cache`).
"""
