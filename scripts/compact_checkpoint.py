"""Copy a training checkpoint (``last.pt``) small enough to commit, so a later session resumes
the run: the model's weights stay float32, the optimiser's moments are stored as bfloat16
(resuming casts them back to the parameters' float32; the run then continues as from a
checkpoint rounded to 3 significant digits in its moments).

    python scripts/compact_checkpoint.py CHECKPOINT_DIR/last.pt OUT/last.pt
"""
import sys
from pathlib import Path

import torch


def compact(value):
    if isinstance(value, torch.Tensor) and value.is_floating_point() and value.dim() > 0:
        return value.to(torch.bfloat16)
    if isinstance(value, dict):
        return {k: compact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [compact(v) for v in value]
    return value


def main(source: str, target: str) -> None:
    checkpoint = torch.load(source, map_location="cpu", weights_only=True)
    checkpoint["optimizer"] = compact(checkpoint["optimizer"])
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, target)
    print(f"{target}: {Path(target).stat().st_size / 1e6:.1f} MB (from {Path(source).stat().st_size / 1e6:.1f})")


if __name__ == "__main__":
    main(*sys.argv[1:3])
