"""Lossless folding between resolution and channels, shared by the two networks (PyTorch)."""
from __future__ import annotations

import torch


def space_to_depth(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """(N, C, I, J, K) -> (N, C f^3, I/f, J/f, K/f): every f x f x f block becomes f^3
    channels (``f = factor``; I, J, K must be multiples of it)."""
    f = factor
    n, c, i, j, k = x.shape
    x = x.reshape(n, c, i // f, f, j // f, f, k // f, f)
    return x.permute(0, 1, 3, 5, 7, 2, 4, 6).reshape(n, c * f ** 3, i // f, j // f, k // f)


def depth_to_space(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Inverse of :func:`space_to_depth`."""
    f = factor
    n, cf, i, j, k = x.shape
    c = cf // f ** 3
    x = x.reshape(n, c, f, f, f, i, j, k).permute(0, 1, 5, 2, 6, 3, 7, 4)
    return x.reshape(n, c, i * f, j * f, k * f)
