"""Skull completion with the bundled coarse network (inference).

A defective skull on any grid is brought to the challenge coarse format (128 x 128 x 64,
:func:`~VoxelRearrangementLib.grids.resample.downsample_with_values`, the downsampling the
training cases were made with), completed by
:class:`~VoxelRearrangementLib.learned.completion.model.CompletionUNet`, and returned on the
coarse grid with its geometry: probabilities (float32, 0..1) and the binary completed skull
(``probability > 0.5`` or the input bone, which is always kept). A network trained on the
downsampling's values (``values`` in its configuration) sees those values instead of the
0/1 coarse mask, and its output is the completed skull's values (the surface where they
cross 0.5). torch is imported only inside these functions.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Tuple, Union

import numpy as np

from ..._shared.errors import VoxelRearrangementError
from ..._shared.progress import Stage
from ..._shared.resources import COMPLETION_WEIGHTS, resource_path
from ...grids.framing import network_framing, reframed
from ...grids.geometry import Mask, binary
from ...grids.levelling import Levelling, levelling
from ...grids.orientation import Reorientation
from ...grids.resample import downsample_with_values
from ..weights import COMPLETION_FORMAT, load_weights, resolve_device

PathLike = Union[str, Path]


@dataclass
class Completion:
    """Result on the coarse grid: ``probability`` (float32, i, j, k; for a levelled skull,
    that of the bone the network added, brought back, and 1 on the input's bone), ``mask``
    (completed skull, input bone included), ``defective`` (the coarse input mask), ``device`` (where the
    network ran: ``cpu`` or ``cuda``), ``values`` (True when ``probability`` is the
    completed skull's downsampling values, from a network trained on them), ``face`` (where
    the face was taken to lie: ``anterior`` or ``posterior`` of the header),
    ``face_logit`` (the facing check's logit that it lies posterior; None when not asked),
    ``reframed`` (True when the volume was cut or padded to SkullFix's framing before it was
    downsampled: :mod:`...grids.framing`; the coarse grid then frames that box) and
    ``levelled_deg`` (the tilt of the scan's cut, degrees, when the network saw the skull on
    a grid where its cut is level: :mod:`...grids.levelling`; None when it was level) and
    ``straightened_deg`` (the turn of the head about the vertical, degrees, positive when the
    face is turned to the patient's left, when the network saw it straightened:
    :mod:`...grids.symmetry`; None when it was straight enough)."""

    probability: np.ndarray
    mask: Mask
    defective: Mask
    device: str = "cpu"
    values: bool = False
    face: str = "anterior"
    face_logit: Optional[float] = None
    reframed: bool = False
    levelled_deg: Optional[float] = None
    straightened_deg: Optional[float] = None


def load_completion_model(weights: Optional[PathLike] = None, device: str = "cpu"):
    """The network with the weights of ``weights`` (default: the bundled file), in eval mode.

    Loaded with ``torch.load(weights_only=True)``; a missing, corrupt or foreign file raises
    :class:`VoxelRearrangementError` naming the file."""
    from .model import new_model

    path = Path(weights) if weights is not None else resource_path(*COMPLETION_WEIGHTS)
    return load_weights(path, COMPLETION_FORMAT, new_model, "completion", device)


def _probability(model, x: np.ndarray):
    import torch
    device = next(model.parameters()).device
    with torch.inference_mode():
        logits = model(torch.from_numpy(np.ascontiguousarray(x))[None].to(device))
        return torch.sigmoid(logits)[0, 0].float().cpu().numpy()


def complete_coarse(coarse: np.ndarray, model, flip_average: bool = True) -> np.ndarray:
    """Probability (float32, same shape; for a network trained on values, the values) of the
    complete skull for a coarse defective skull (i, j, k: a 0/1 mask, or the downsampling's
    values for a network trained on them) in the canonical orientation (i left-right). A
    network with two inputs sees the skull and its mirror image; with ``flip_average`` its
    prediction is averaged with the left-right flipped prediction of the flipped skull
    (test-time flip)."""
    from .data import network_input
    if any(n % 16 for n in coarse.shape):
        raise VoxelRearrangementError(
            f"the coarse skull must have sides divisible by 16, got {coarse.shape}")
    if model.config.get("inputs", 1) == 1:
        return _probability(model, coarse[None].astype(np.float32))
    prob = _probability(model, network_input(coarse))
    if flip_average:
        flipped = _probability(model, network_input(coarse[::-1]))[::-1]
        prob = 0.5 * (prob + flipped)
    return prob


def complete_skull(defective: Mask, weights: Optional[PathLike] = None, device: str = "auto",
                   model=None, progress: Optional[Callable[[float, str], None]] = None,
                   cancel: Optional[Callable[[], bool]] = None,
                   face: str = "anterior") -> Completion:
    """Complete a defective skull (any grid) on its challenge coarse grid (128 x 128 x 64).

    The network sees the skull in the canonical orientation it was trained on (index axes
    reordered and flipped towards left, posterior, superior: :mod:`...grids.orientation`),
    turned round along anterior-posterior as well when the face lies where the header says
    posterior: ``face`` is ``anterior`` (trust the header), ``posterior``, or ``auto`` (the
    facing check decides, :func:`.facing.resolve_face`). A volume framed otherwise than SkullFix
    frames its skulls (a wider field of view, empty slices above or below the skull) is cut or
    padded to that framing first (:func:`...grids.framing.network_framing`), so the network
    sees a skull of the size it was trained on; a skull whose cut is tilted in its volume (a
    head scanned tilted) is shown to the network on a coarse grid where the cut is level
    (:func:`...grids.levelling.levelling`), and so is a head turned about the vertical, with
    its mid-sagittal plane along the grid's (the mirror image the network reads is about that
    plane); its prediction is brought back. The result is
    returned on the coarse grid (of the volume, or of that box) in the input's own axes."""
    stage = Stage(progress, cancel)
    defective = binary(defective, "the defective skull")
    if not defective.array.any():
        raise VoxelRearrangementError("the defective skull is empty")
    stage.report(0.0, "loading the completion network")
    if model is None:
        model = load_completion_model(weights, resolve_device(device))
    values = bool(model.config.get("values", 0))
    stage.report(0.1, "downsampling to 128 x 128 x 64")
    turn = Reorientation.of(defective.ijk_to_lps)
    coarse, values_array, was_reframed, level = _network_view(turn.mask(defective))
    seen_mask = (values_array > 0.5).astype(np.uint8)  # coarse.array itself when level
    stage.report(0.5, "completing the skull")
    from .facing import resolve_face
    side, logit = resolve_face(face, seen_mask)
    seen = np.clip(values_array, 0.0, 1.0).astype(np.float32) if values else seen_mask
    if side == "posterior":  # canonical j is anterior-posterior
        prob = complete_coarse(seen[:, ::-1], model)[:, ::-1]
    else:
        prob = complete_coarse(seen, model)
    if level is not None:  # the bone it adds, brought back (not a fringe of the input's)
        added = level.from_network(np.where(seen_mask != 0, 0.0, prob), coarse.grid)
        prob = np.maximum(added, coarse.array)
    mask = ((prob > 0.5) | coarse.array.astype(bool)).astype(np.uint8)
    stage.report(1.0, "completed")
    back = turn.unmask
    return Completion(np.ascontiguousarray(turn.undo(prob)), back(Mask(mask, coarse.ijk_to_lps)),
                      back(coarse), next(model.parameters()).device.type, values, side, logit,
                      was_reframed, _degrees(level, "tilt_deg"), _degrees(level, "yaw_deg"))


def _degrees(level: Optional[Levelling], name: str) -> Optional[float]:
    """``level``'s tilt or yaw (degrees, one decimal), None when nothing was turned so."""
    value = 0.0 if level is None else getattr(level, name)
    return round(value, 1) if value else None


def _network_view(canonical: Mask) -> Tuple[Mask, np.ndarray, bool, Optional[Levelling]]:
    """``(coarse, values, reframed, level)`` for a skull in the canonical view: its challenge
    coarse mask, on which the completion is returned (of the volume, or of the box that frames
    the skull as SkullFix does, ``reframed``: :mod:`...grids.framing`); the downsampling values
    the network is given (float, i, j, k: on that coarse grid, or on ``level.grid`` where the
    scan's cut is level and the head straight when it is tilted or turned:
    :mod:`...grids.levelling`); and the levelling (None when the head is level and straight)."""
    values, matrix = downsample_with_values(canonical)
    box = network_framing(canonical, values > 0.5)
    if box is not None:
        canonical = reframed(canonical, box)
        values, matrix = downsample_with_values(canonical)
    coarse = Mask((values > 0.5).astype(np.uint8), matrix)
    level = levelling(coarse)
    if level is not None:
        values = level.to_network(values, coarse.grid)
    return coarse, values, box is not None, level
