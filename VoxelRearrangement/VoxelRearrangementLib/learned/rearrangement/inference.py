"""``refine(method="learned")``: the coarse mask upsampled (trilinear) and rearranged by the
bundled :class:`~.rearrangement_model.RearrangementNet`, tile by tile.

Only the band matters: fine voxels whose trilinear value is strictly between 0 and 1 (within
one coarse voxel of the coarse surface) take the network's decision; every other voxel keeps
the trilinear decision, and tiles whose core holds no band voxel never run the network.
Each tile's input window is interpolated from the coarse mask on the fly, so memory stays
bounded whatever the volume's size (the output itself is uint8).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from ..._shared.errors import VoxelRearrangementError
from ..._shared.progress import Stage
from ..._shared.resources import REARRANGEMENT_WEIGHTS, resource_path
from ...grids.geometry import Grid, Mask, axis_aligned_scale
from ...grids.resample import AxisMap, upsample_linear
from ..tiling import Tile, tiles
from ..weights import REARRANGEMENT_FORMAT, load_weights

#: Fine voxels per side of a tile's core (windows add the halo each side).
TILE_CORE = 128


def load_rearrangement_model(weights: Optional[Union[str, Path]] = None, device: str = "cpu"):
    """The rearrangement network with ``weights`` (default: the bundled file), in eval mode;
    a missing, corrupt or foreign file raises an error naming it."""
    from .model import new_model
    path = Path(weights) if weights is not None else resource_path(*REARRANGEMENT_WEIGHTS)
    return load_weights(path, REARRANGEMENT_FORMAT, new_model, "learned rearrangement", device)


def halo_for(model) -> int:
    """The smallest multiple of the fold that covers the model's receptive radius."""
    return -(-model.receptive_radius // model.fold) * model.fold


def window_input(coarse: np.ndarray, scale: np.ndarray, offset: np.ndarray,
                 start: Sequence[int], shape: Sequence[int]) -> np.ndarray:
    """Trilinear upsampling (float32) of ``coarse`` on the fine window ``start + [0, shape)``
    (fine index -> coarse index ``scale * i + offset`` per axis; outside positions clamped)."""
    maps = [AxisMap.make(coarse.shape[a], int(shape[a]), float(scale[a]), float(offset[a]),
                         int(start[a])) for a in range(3)]
    return upsample_linear(coarse, maps)


def fast_precision(device: str) -> str:
    """``bfloat16`` where it runs fast (CUDA; CPUs with AMX or AVX512-BF16 through oneDNN),
    ``float32`` elsewhere (bfloat16 would be emulated, and slower)."""
    import torch
    if device.startswith("cuda"):
        return "bfloat16"
    cpu = torch.cpu
    fast = getattr(cpu, "_is_amx_tile_supported", lambda: False)() or \
        getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
    return "bfloat16" if fast else "float32"


def rearrange(coarse: Mask, target: Grid, model, tile_core: int = TILE_CORE,
              stage: Optional[Stage] = None, precision: str = "auto") -> Tuple[np.ndarray, dict]:
    """The fine mask (uint8 on ``target``, which must be axis-aligned with the coarse grid)
    and statistics (tiles run / skipped, band voxels, network seconds). ``precision``:
    ``float32``, ``bfloat16`` (autocast) or ``auto`` (:func:`fast_precision`)."""
    aligned = axis_aligned_scale(coarse.grid, target)
    if aligned is None:
        raise VoxelRearrangementError("learned rearrangement needs a target grid aligned with "
                                      "the coarse grid")
    scale, offset = aligned
    stage = stage or Stage()
    source = coarse.array.astype(np.float32)
    device = next(model.parameters()).device
    out = np.empty(target.shape, dtype=np.uint8)
    tile_list = list(tiles(target.shape, tile_core, halo_for(model), model.fold))
    if precision == "auto":
        precision = fast_precision(device.type)
    if precision not in ("float32", "bfloat16"):
        raise VoxelRearrangementError(f"unknown precision '{precision}' (float32, bfloat16, auto)")
    stats = {"tiles": len(tile_list), "tiles_run": 0, "band_voxels": 0, "network_seconds": 0.0,
             "precision": precision}
    for n, tile in enumerate(tile_list):
        stage.report(n / len(tile_list), f"tile {n + 1}/{len(tile_list)}")
        window = window_input(source, scale, offset, tile.start, tile.shape)
        out[tile.core] = _tile_decision(window, tile, model, device, stats, precision)
    stats["network_seconds"] = round(stats["network_seconds"], 3)
    return out, stats


def _tile_decision(window: np.ndarray, tile: Tile, model, device, stats: dict,
                   precision: str) -> np.ndarray:
    """Decisions (bool) on the tile's core: the network's in the band, trilinear elsewhere."""
    import torch
    core = window[tile.core_in_window]
    band = (core > 0) & (core < 1)
    decision = core > 0.5
    if band.any():
        t = time.perf_counter()
        with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16,
                                                    enabled=precision == "bfloat16"):
            x = torch.from_numpy(window)[None, None].to(device)
            logits = model(x)[0, 0][tile.core_in_window].float().cpu().numpy()
        decision[band] = logits[band] > 0
        stats["tiles_run"] += 1
        stats["band_voxels"] += int(band.sum())
        stats["network_seconds"] += time.perf_counter() - t
    return decision
