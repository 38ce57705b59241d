"""The coarse completion network (PyTorch): a light 3D U-Net for 128 x 128 x 64 skulls.

Why this design. The authors' autoencoder (5x5x5 kernels, 64-512 channels, 82 M parameters)
takes 11 s per CPU inference and 36 s per training step here. A skull at 128 x 128 x 64 is a
thin shell; completing it means (a) copying the intact bone exactly and (b) bridging a hole
up to ~25 coarse voxels wide with a smooth surface that agrees with the rest of the vault.
(b) needs a large receptive field, not many channels; (a) needs a lossless path at full
resolution, not full-resolution convolutions. So:

- the input is folded losslessly to half resolution (space-to-depth: each 2x2x2 block becomes
  8 channels, 64 x 64 x 32), so no convolution ever runs on the 1 M full-resolution voxels
  (they cost most of the time in a plain U-Net);
- a U-Net (3x3x3 kernels, instance norm, LeakyReLU, skip connections) with 8, 32, 64, 128
  channels at 1/2, 1/4, 1/8, 1/16 resolution (few channels where voxels are many); the bottleneck at 8 x 8 x 4 sees the whole
  head, enough to infer the missing curvature from the rest of the vault and the other side;
- the head sees the folded input again and predicts 8 logits per half-resolution voxel,
  unfolded (depth-to-space) back to 128 x 128 x 64.

- channels-last-3d memory layout, which sends forward *and* backward convolutions to oneDNN
  on CPU (3x faster training steps than the default layout here).

1.8 M parameters (3.6 MB bundled as float16); measured in benchmarks/benchmark_completion.py:
inference time and peak memory on CPU.
"""
from __future__ import annotations

from typing import Dict, Optional

import torch
from torch import nn

from ..layers import depth_to_space, space_to_depth


def _block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv3d(cin, cout, 3, stride=stride, padding=1, bias=False),
                         nn.InstanceNorm3d(cout, affine=True), nn.LeakyReLU(0.1, inplace=True))


class CompletionUNet(nn.Module):
    """Input (N, ``inputs``, I, J, K) in {0, 1} (the defective skull, and its mirror image
    when ``inputs`` is 2) -> logits of the complete skull (N, 1, I, J, K).

    I, J, K must be multiples of 16 (128 x 128 x 64 in practice). ``half`` channels at half
    resolution, ``base``, 2 ``base``, 4 ``base`` at 1/4, 1/8, 1/16. ``values`` (recorded in
    the configuration, the layers do not depend on it): 1 when the network was trained on the
    downsampling's values (0..1) instead of 0/1 masks, for its input and its target
    (:mod:`.data`)."""

    def __init__(self, half: int = 8, base: int = 32, inputs: int = 1, values: int = 0) -> None:
        super().__init__()
        h, c, f = half, base, 8 * inputs
        self.config: Dict[str, int] = {"half": half, "base": base, "inputs": inputs}
        if values:
            self.config["values"] = 1
        self.enc1 = _block(f, h)                                               # 1/2
        self.enc2 = nn.Sequential(_block(h, c, 2), _block(c, c))              # 1/4
        self.enc3 = nn.Sequential(_block(c, 2 * c, 2), _block(2 * c, 2 * c))  # 1/8
        self.bottom = nn.Sequential(_block(2 * c, 4 * c, 2), _block(4 * c, 4 * c),
                                    _block(4 * c, 4 * c))                     # 1/16
        self.up3 = nn.ConvTranspose3d(4 * c, 2 * c, 2, stride=2)
        self.dec3 = nn.Sequential(_block(4 * c, 2 * c), _block(2 * c, 2 * c))
        self.up2 = nn.ConvTranspose3d(2 * c, c, 2, stride=2)
        self.dec2 = nn.Sequential(_block(2 * c, c), _block(c, c))
        self.up1 = nn.ConvTranspose3d(c, h, 2, stride=2)
        self.dec1 = _block(h, h)
        self.head = nn.Conv3d(h + f, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = space_to_depth(x).contiguous(memory_format=torch.channels_last_3d)
        s1 = self.enc1(f)
        s2 = self.enc2(s1)
        s3 = self.enc3(s2)
        b = self.bottom(s3)
        d3 = self.dec3(torch.cat([self.up3(b), s3], 1))
        d2 = self.dec2(torch.cat([self.up2(d3), s2], 1))
        d1 = self.dec1(self.up1(d2) + s1)
        return depth_to_space(self.head(torch.cat([d1, f], 1))).contiguous()


def new_model(config: Optional[Dict[str, int]] = None) -> CompletionUNet:
    """A model in the channels-last-3d layout (3x faster convolutions on CPU with oneDNN)."""
    return CompletionUNet(**(config or {})).to(memory_format=torch.channels_last_3d)


def widen_inputs(state: Dict[str, torch.Tensor], model: CompletionUNet) -> Dict[str, torch.Tensor]:
    """``state`` (of a model with fewer inputs) made to fit ``model``. The folded input's
    channels are grouped by input (``space_to_depth``), and the first and the last convolution
    read them after any other features, so the old weights go first and the new input
    channels get zero weights: the widened network computes what the old one did until
    training uses the new inputs."""
    target = model.state_dict()
    out = {}
    for name, value in state.items():
        want = target[name]
        if value.shape != want.shape:
            if value.ndim != 5 or value.shape[0] != want.shape[0] or value.shape[2:] != want.shape[2:]:
                raise ValueError(f"{name}: cannot widen {tuple(value.shape)} to {tuple(want.shape)}")
            wide = torch.zeros_like(want)
            wide[:, :value.shape[1]] = value
            value = wide
        out[name] = value
    return out
