"""Which way does the head face? A small network on the coarse skull (PyTorch).

The completion network sees a skull turned to the orientation it was trained on by the
file's header alone (:mod:`...grids.orientation`); a header that swaps anterior and posterior
shows it the skull facing backwards, and its implants are much worse (README, "Skull
completion"). :class:`FacingNet` looks at the coarse defective skull in that canonical view
(128 x 128 x 64, averaged to 64 x 64 x 32) and gives the logit that the face lies at +j, where
the header says posterior. Four strided convolutions down to 4 x 4 x 2 and a linear layer on
the flattened features (it needs to know *where* the face-like features are), 46 k
parameters, trained by :mod:`.facing_train`.

:func:`resolve_face` turns the user's choice (:data:`FACES`) into the side used: ``auto``
takes ``posterior`` only when the logit exceeds :data:`DECISIVE_LOGIT` and otherwise keeps
the header; the logit is returned so that the report can say how sure the check was.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np
import torch
from torch import nn

from ..._shared.errors import VoxelRearrangementError
from ..._shared.resources import FACING_WEIGHTS, resource_path
from ...grids.orientation import FACES
from ..weights import load_weights

FACING_FORMAT = "VoxelRearrangement facing v1"
#: ``auto`` turns the head round only above this logit (p = 0.95); below it the header stays.
DECISIVE_LOGIT = 3.0
#: Channels of the four strided convolutions.
CHANNELS = (8, 16, 32, 32)


class FacingNet(nn.Module):
    """(N, 1, 64, 64, 32) float (bone share of each 2 x 2 x 2 coarse block, canonical view) ->
    (N,) logit that the face lies at +j."""

    def __init__(self, channels=CHANNELS, input_shape=(64, 64, 32)):
        super().__init__()
        self.config: Dict[str, object] = {"channels": list(channels),
                                          "input_shape": list(input_shape)}
        layers, cin = [], 1
        for cout in channels:
            layers += [nn.Conv3d(cin, cout, 3, stride=2, padding=1), nn.BatchNorm3d(cout), nn.ReLU()]
            cin = cout
        self.features = nn.Sequential(*layers)
        cells = int(np.prod([n // 2 ** len(channels) for n in input_shape]))
        self.head = nn.Linear(cin * cells, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))[:, 0]


def new_model(config: Optional[Dict] = None) -> FacingNet:
    return FacingNet(**(config or {}))


def facing_input(coarse: np.ndarray) -> np.ndarray:
    """The network's input (64, 64, 32) float32: the mean of each 2 x 2 x 2 block of a coarse
    skull (128 x 128 x 64, canonical view, 0/1)."""
    i, j, k = coarse.shape
    return np.asarray(coarse, dtype=np.float32).reshape(i // 2, 2, j // 2, 2, k // 2, 2).mean(
        axis=(1, 3, 5))


def load_facing_model(weights: Optional[Union[str, Path]] = None, device: str = "cpu") -> FacingNet:
    """The facing network with the weights of ``weights`` (default: the bundled file)."""
    path = Path(weights) if weights is not None else resource_path(*FACING_WEIGHTS)
    return load_weights(path, FACING_FORMAT, new_model, "facing", device)


def face_logit(coarse: np.ndarray, model: Optional[FacingNet] = None) -> float:
    """Logit that the face of ``coarse`` (canonical view, 128 x 128 x 64) lies at +j."""
    model = model if model is not None else load_facing_model()
    device = next(model.parameters()).device
    with torch.inference_mode():
        x = torch.from_numpy(facing_input(coarse))[None, None].to(device)
        return float(model(x)[0])


def resolve_face(face: str, coarse: np.ndarray, model: Optional[FacingNet] = None
                 ) -> Tuple[str, Optional[float]]:
    """``(side, logit)``: the side the face is taken to lie on (``anterior`` or ``posterior``
    of the header) for a user's ``face`` (:data:`~...grids.orientation.FACES`), and the
    check's logit (None unless ``auto``)."""
    if face not in FACES:
        raise VoxelRearrangementError(f"unknown face '{face}' (choose from {', '.join(FACES)})")
    if face != "auto":
        return face, None
    logit = face_logit(coarse, model)
    return ("posterior" if logit > DECISIVE_LOGIT else "anterior"), logit
