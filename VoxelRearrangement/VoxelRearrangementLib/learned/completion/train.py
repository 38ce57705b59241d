"""Training of the coarse completion network (``train-completion``): reproducible, resumable.

Split: cases are chosen by id; the defaults train on SkullFix 000-049, keep 050-059 aside to
pick the epoch (validation Dice per epoch) and never touch 060-079 (the report split).
Each epoch visits every training case once in a seeded order, with the challenge defect or a
synthetic one (:mod:`.completion_data`) and random flips / small rotations / shifts.
Loss: binary cross-entropy + soft Dice of the whole skull + soft Dice of the restored part
(the bone missing from the input), which keeps the small defect from being drowned by the
easy, copied bone. After every epoch ``<checkpoint-dir>/last.pt`` (model, optimiser, history)
is written atomically, the epoch is logged to ``log.csv`` (steps to ``steps.csv``), and the
weights with the best hold-out Dice of the restored part are exported (float16) to ``out``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from ..._shared.progress import Stage
from ...evaluation.metrics import dice
from ..training import TrainingTask, prepare_training, run_training
from ..weights import COMPLETION_FORMAT, DEFAULT_DEVICE, resolve_device
from .data import CoarsePair, load_pairs, synthetic_defect, training_sample, vault_points

DEFAULT_TRAIN = tuple(f"{n:03d}" for n in range(0, 50))
DEFAULT_HOLDOUT = tuple(f"{n:03d}" for n in range(50, 60))


def _loss(logits, target, inp):
    import torch
    import torch.nn.functional as F
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    eps = 1.0
    dims = tuple(range(1, logits.ndim))
    d_all = (2 * (p * target).sum(dims) + eps) / (p.sum(dims) + target.sum(dims) + eps)
    miss_t = target * (1 - inp)
    miss_p = p * (1 - inp)
    d_miss = (2 * (miss_p * miss_t).sum(dims) + eps) / (miss_p.sum(dims) + miss_t.sum(dims) + eps)
    return bce + (1 - d_all).mean() + (1 - d_miss).mean()


def validation_set(pairs: Sequence[CoarsePair], seed: int) -> List[tuple]:
    """Fixed hold-out inputs: each case with its challenge defect and one seeded synthetic one."""
    out = []
    for n, pair in enumerate(pairs):
        out.append((pair.defective, pair.complete, "challenge"))
        rng = np.random.default_rng([seed, 10_000 + n])
        region = synthetic_defect(pair.complete, pair.ijk_to_lps, rng,
                                  vault_points(pair.complete, pair.ijk_to_lps))
        out.append(((pair.complete.astype(bool) & ~region).astype(np.uint8), pair.complete,
                    "synthetic"))
    return out


def holdout_scores(model, samples: Sequence[tuple], device: str) -> Dict[str, float]:
    """Mean coarse Dice of the completed skull (prediction | input) and of the restored part
    (call under ``torch.no_grad()`` with the model in eval mode)."""
    import torch
    res: Dict[str, List[float]] = {}
    for inp, target, kind in samples:
        x = torch.from_numpy(inp.astype(np.float32))[None, None].to(device)
        pred = (model(x)[0, 0] > 0).cpu().numpy()
        inb = inp.astype(bool)
        full = pred | inb
        restored = dice(full & ~inb, target.astype(bool) & ~inb)
        res.setdefault("dice", []).append(dice(full, target))
        res.setdefault("dice_restored", []).append(restored)
        res.setdefault(f"dice_restored_{kind}", []).append(restored)
    return {k: float(np.mean(v)) for k, v in res.items()}


def train_completion(data_dir: Path, out: Path, epochs: int, device: str = DEFAULT_DEVICE,
                     resume: Optional[Path] = None, cache_dir: Optional[Path] = None,
                     checkpoint_dir: Optional[Path] = None,
                     train_cases: Sequence[str] = DEFAULT_TRAIN,
                     holdout_cases: Sequence[str] = DEFAULT_HOLDOUT, seed: int = 0,
                     lr: float = 2e-3, p_synthetic: float = 0.5, config: Optional[Dict] = None,
                     max_minutes: Optional[float] = None,
                     progress: Optional[Callable[[float, str], None]] = None,
                     cancel: Optional[Callable[[], bool]] = None) -> List[Dict]:
    """Train (or resume) the completion network; returns the per-epoch history.

    ``max_minutes`` stops after the epoch that crosses that wall-clock budget (the checkpoint
    and the best weights are written every epoch, so a stopped run is resumable and usable).
    """
    from .model import new_model

    data_dir, out = Path(data_dir), Path(out)
    device = resolve_device(device)
    ckdir, cache = prepare_training(data_dir, train_cases, holdout_cases, epochs, out,
                                    checkpoint_dir, cache_dir)
    stage = Stage(progress, cancel)

    pairs = load_pairs(data_dir, list(train_cases) + list(holdout_cases), cache,
                       stage.sub(0.0, 0.05).report)
    train, hold = pairs[:len(train_cases)], pairs[len(train_cases):]
    val = validation_set(hold, seed)

    points: Dict[str, np.ndarray] = {}

    def sample(index: int, rng: np.random.Generator):
        inp, target = training_sample(train[index], rng, p_synthetic, points)
        return inp[None, None], target[None, None]

    task = TrainingTask(
        file_format=COMPLETION_FORMAT, new_model=new_model, steps_per_epoch=len(train),
        sample=sample, loss=lambda model, x, y: _loss(model(x), y, x),
        evaluate=lambda model: holdout_scores(model, val, device), score_key="dice_restored",
        meta={"train_cases": ",".join(train_cases), "holdout_cases": ",".join(holdout_cases)})
    return run_training(task, out, ckdir, epochs, device, resume, seed, lr, config, max_minutes,
                        stage.sub(0.05, 1.0))
