"""The learned voxel rearrangement network (PyTorch): upsampled coarse skull -> fine skull.

Input: the trilinear upsampling (values 0..1) of the coarse mask on the fine grid, (N, 1, I,
J, K) with I, J, K multiples of ``fold``. Output: logits of bone at every fine voxel.

Why this design. The information is the coarse mask (one coarse voxel is ~4 fine voxels per
axis); what the network must learn is where, inside the band of partial-volume voxels, the
true surface runs, from a neighbourhood of a few coarse voxels. So:

- the input is folded losslessly (space-to-depth, ``fold`` = 4: every 4x4x4 block becomes 64
  channels), so every convolution runs on 1/64 of the fine voxels: a 512 x 512 x 256 skull
  costs seconds on a CPU instead of minutes;
- ``depth`` 3x3x3 convolutions (the first one, then residual blocks of a 3x3x3 and a 1x1x1
  convolution) with ``channels`` channels and LeakyReLU; no normalisation layer, so the output
  of a voxel depends only on its receptive field and tiled inference is exact;
- a 1x1x1 head gives 64 logits per folded voxel, unfolded to the fine grid, plus a learned
  multiple of (input - 0.5): the network starts as trilinear thresholding and learns the
  correction.

Receptive field: ``depth * fold + fold - 1`` fine voxels each side (15 for the defaults), so
tiles need a halo of 16 fine voxels (:data:`HALO`).
"""
from __future__ import annotations

from typing import Dict, Optional

import torch
from torch import nn

from ..layers import depth_to_space, space_to_depth


class RearrangementNet(nn.Module):
    """Upsampled coarse mask (N, 1, I, J, K), values 0..1 -> fine logits, same shape."""

    def __init__(self, fold: int = 4, channels: int = 48, depth: int = 3) -> None:
        super().__init__()
        f3, c = fold ** 3, channels
        self.config: Dict[str, int] = {"fold": fold, "channels": channels, "depth": depth}
        self.fold = fold
        self.stem = nn.Conv3d(f3, c, 3, padding=1)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv3d(c, c, 3, padding=1), nn.LeakyReLU(0.1, inplace=True),
                          nn.Conv3d(c, c, 1)) for _ in range(depth - 1))
        self.act = nn.LeakyReLU(0.1)
        self.head = nn.Conv3d(c, f3, 1)
        self.skip = nn.Parameter(torch.tensor(8.0))

    @property
    def receptive_radius(self) -> int:
        """Fine voxels each side that can change the output of a voxel."""
        return (len(self.blocks) + 1) * self.fold + self.fold - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        centred = x - 0.5
        h = self.act(self.stem(space_to_depth(centred, self.fold)
                               .contiguous(memory_format=torch.channels_last_3d)))
        for block in self.blocks:
            h = self.act(h + block(h))
        return depth_to_space(self.head(h), self.fold).contiguous() + self.skip * centred


def new_model(config: Optional[Dict[str, int]] = None) -> RearrangementNet:
    """A model in the channels-last-3d layout (oneDNN convolutions on CPU)."""
    return RearrangementNet(**(config or {})).to(memory_format=torch.channels_last_3d)
