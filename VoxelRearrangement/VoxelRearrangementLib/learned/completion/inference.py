"""Skull completion with the bundled coarse network (inference).

A defective skull on any grid is brought to the challenge coarse format (128 x 128 x 64,
:func:`~VoxelRearrangementLib.grids.resample.downsample`, the same path as in training), completed
by :class:`~VoxelRearrangementLib.learned.completion.model.CompletionUNet`, and returned on the coarse
grid with its geometry: probabilities (float32, 0..1) and the binary completed skull
(``probability > 0.5`` or the input bone, which is always kept). torch is imported only
inside these functions.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Union

import numpy as np

from ..._shared.errors import VoxelRearrangementError
from ..._shared.progress import Stage
from ..._shared.resources import COMPLETION_WEIGHTS, resource_path
from ...grids.geometry import Mask
from ...grids.resample import downsample
from ..weights import COMPLETION_FORMAT, load_weights, resolve_device

PathLike = Union[str, Path]


@dataclass
class Completion:
    """Result on the coarse grid: ``probability`` (float32, i, j, k), ``mask`` (completed
    skull, input bone included) and ``defective`` (the coarse input)."""

    probability: np.ndarray
    mask: Mask
    defective: Mask


def load_completion_model(weights: Optional[PathLike] = None, device: str = "cpu"):
    """The network with the weights of ``weights`` (default: the bundled file), in eval mode.

    Loaded with ``torch.load(weights_only=True)``; a missing, corrupt or foreign file raises
    :class:`VoxelRearrangementError` naming the file."""
    from .model import new_model

    path = Path(weights) if weights is not None else resource_path(*COMPLETION_WEIGHTS)
    return load_weights(path, COMPLETION_FORMAT, new_model, "completion", device)


def complete_coarse(coarse: Mask, model) -> np.ndarray:
    """Probability (float32, same shape) of the complete skull for a coarse defective skull."""
    import torch
    if any(n % 16 for n in coarse.array.shape):
        raise VoxelRearrangementError(
            f"the coarse skull must have sides divisible by 16, got {coarse.array.shape}")
    device = next(model.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(coarse.array, dtype=np.float32))[None, None].to(device)
    with torch.inference_mode():
        prob = torch.sigmoid(model(x))[0, 0].float().cpu().numpy()
    return prob


def complete_skull(defective: Mask, weights: Optional[PathLike] = None, device: str = "auto",
                   model=None, progress: Optional[Callable[[float, str], None]] = None,
                   cancel: Optional[Callable[[], bool]] = None) -> Completion:
    """Complete a defective skull (any grid) on its challenge coarse grid (128 x 128 x 64)."""
    stage = Stage(progress, cancel)
    if not defective.array.any():
        raise VoxelRearrangementError("the defective skull is empty")
    stage.report(0.0, "downsampling to 128 x 128 x 64")
    coarse = downsample(defective)
    stage.report(0.4, "loading the completion network")
    if model is None:
        model = load_completion_model(weights, resolve_device(device))
    stage.report(0.5, "completing the skull")
    prob = complete_coarse(coarse, model)
    mask = ((prob > 0.5) | coarse.array.astype(bool)).astype(np.uint8)
    stage.report(1.0, "completed")
    return Completion(prob, Mask(mask, coarse.ijk_to_lps), coarse)
