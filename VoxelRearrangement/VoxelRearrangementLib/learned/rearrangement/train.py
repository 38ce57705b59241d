"""Training of the learned rearrangement network (``train-rearrangement``).

Split: SkullFix complete skulls 000-053 for training, 054-059 held out (the same skulls that
chose the hash method's settings) to pick the epoch; 060-079 never. A step is a batch of
patches drawn at random (seeded) from all training patches, flipped / i-j swapped at random.
Loss: binary cross-entropy over the band voxels of each target patch (fine voxels whose
trilinear value is strictly between 0 and 1: the only voxels the network decides at
inference). Hold-out metric: accuracy over the band voxels of fixed hold-out patches, beside
that of trilinear thresholding on the same voxels. Loop, checkpoints and logs:
:mod:`.training_loop`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from ..._shared.progress import Stage
from ..training import TrainingTask, prepare_training, run_training
from ..weights import DEFAULT_DEVICE, REARRANGEMENT_FORMAT, resolve_device
from .data import PATCH, augment_patch, load_cases, patch_pair
from .inference import halo_for

DEFAULT_TRAIN = tuple(f"{n:03d}" for n in range(0, 54))
DEFAULT_HOLDOUT = tuple(f"{n:03d}" for n in range(54, 60))
#: Hold-out patches per hold-out case (the first ones of its cached patches).
HOLDOUT_PATCHES = 16


def band_logits(model, x, halo: int):
    """Logits and the band mask (bool) on the patch core (the window minus its halo)."""
    core = (slice(None), slice(None)) + (slice(halo, -halo),) * 3
    logits = model(x)[core]
    inner = x[core]
    return logits, (inner > 0) & (inner < 1)


def band_loss(model, x, y, halo: int):
    """Binary cross-entropy over the band voxels of the batch."""
    import torch.nn.functional as F
    logits, band = band_logits(model, x, halo)
    return F.binary_cross_entropy_with_logits(logits[band], y[band])


def holdout_scores(model, pairs: Sequence[tuple], halo: int, device: str) -> Dict[str, float]:
    """Band accuracy of the network and of trilinear thresholding on fixed patches (call under
    ``torch.no_grad()``, model in eval mode)."""
    import torch
    right = right_tri = total = 0
    for window, target in pairs:
        x = torch.from_numpy(window)[None, None].to(device)
        logits, band = band_logits(model, x, halo)
        band = band[0, 0].cpu().numpy()
        t = target.astype(bool)[band]
        right += int(((logits[0, 0].cpu().numpy()[band] > 0) == t).sum())
        inner = window[(slice(halo, -halo),) * 3][band]
        right_tri += int(((inner > 0.5) == t).sum())
        total += int(band.sum())
    return {"band_accuracy": right / max(total, 1), "band_accuracy_trilinear": right_tri / max(total, 1)}


def train_rearrangement(data_dir: Path, out: Path, epochs: int, device: str = DEFAULT_DEVICE,
                        resume: Optional[Path] = None, cache_dir: Optional[Path] = None,
                        checkpoint_dir: Optional[Path] = None,
                        train_cases: Sequence[str] = DEFAULT_TRAIN,
                        holdout_cases: Sequence[str] = DEFAULT_HOLDOUT, seed: int = 0,
                        lr: float = 2e-3, batch_size: int = 4, steps_per_epoch: int = 100,
                        patches_per_case: int = 96, config: Optional[Dict] = None,
                        max_minutes: Optional[float] = None, loader_workers: int = 0,
                        progress: Optional[Callable[[float, str], None]] = None,
                        cancel: Optional[Callable[[], bool]] = None) -> List[Dict]:
    """Train (or resume) the rearrangement network; returns the per-epoch history
    (``loader_workers``: :func:`..training.run_training`)."""
    from .model import new_model

    data_dir, out = Path(data_dir), Path(out)
    device = resolve_device(device)
    ckdir, cache = prepare_training(data_dir, train_cases, holdout_cases, epochs, out,
                                    checkpoint_dir, cache_dir)
    stage = Stage(progress, cancel)
    cases = load_cases(data_dir, list(train_cases) + list(holdout_cases), cache,
                       patches_per_case, seed, stage.sub(0.0, 0.1).report)
    train, hold = cases[:len(train_cases)], cases[len(train_cases):]
    halo = halo_for(new_model(config))
    held = [patch_pair(item, n, halo) for item in hold
            for n in range(min(HOLDOUT_PATCHES, len(item.starts)))]
    index = [(c, n) for c, item in enumerate(train) for n in range(len(item.starts))]

    def sample(_: int, rng: np.random.Generator):
        xs, ys = [], []
        for pick in rng.integers(len(index), size=batch_size):
            c, n = index[pick]
            window, target = augment_patch(*patch_pair(train[c], n, halo), rng)
            xs.append(window)
            ys.append(target)
        return np.stack(xs)[:, None], np.stack(ys)[:, None]

    task = TrainingTask(
        file_format=REARRANGEMENT_FORMAT, new_model=new_model, steps_per_epoch=steps_per_epoch,
        sample=sample, loss=lambda model, x, y: band_loss(model, x, y, halo),
        evaluate=lambda model: holdout_scores(model, held, halo, device), score_key="band_accuracy",
        meta={"train_cases": ",".join(train_cases), "holdout_cases": ",".join(holdout_cases),
              "patch": PATCH, "batch_size": batch_size, "patches_per_case": patches_per_case})
    return run_training(task, out, ckdir, epochs, device, resume, seed, lr, config, max_minutes,
                        stage.sub(0.1, 1.0), loader_workers)
