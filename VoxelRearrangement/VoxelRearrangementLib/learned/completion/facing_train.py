"""Training of the facing check (:mod:`.facing`).

Samples are the completion network's training samples (:func:`.data.training_sample`: each
training skull with its challenge defect or a synthetic one of any kind, tilted, scaled,
shifted, flipped left-right, sometimes pushed against a border), made once, each with its own
seeded generator (the same with any number of ``workers``). Each training step turns half of
its batch round along j (the label: the face at +j). The hold-out skulls (other patients)
are scored both ways at the end: ``accuracy`` (both ways right, threshold 0), ``decided``
(the share of turned samples that ``auto`` turns round, logit above
:data:`~.facing.DECISIVE_LOGIT`) and ``false_turns`` (right-way samples it would turn). torch
is imported only inside these functions.
"""
from __future__ import annotations

import time
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..._shared.errors import VoxelRearrangementError
from ..training import check_split
from .data import CoarseCase, load_cases, training_sample

DEFAULT_TRAIN = tuple(f"{i:03d}" for i in range(50))
DEFAULT_HOLDOUT = tuple(f"{i:03d}" for i in range(50, 60))

_CASES: List[CoarseCase] = []  # the cases the sample-making processes inherit


def _make(job: Tuple[int, int]) -> np.ndarray:
    from .facing import facing_input
    seed, index = job
    rng = np.random.default_rng([seed, index])
    case = _CASES[rng.integers(len(_CASES))]
    x, _ = training_sample(case, rng)
    return np.rint(facing_input(x[0]) * 255).astype(np.uint8)


def make_samples(cases: Sequence[CoarseCase], n: int, seed: int, workers: int = 1) -> np.ndarray:
    """(n, 64, 64, 32) uint8 (bone share x 255): augmented defective skulls, right way round."""
    global _CASES
    _CASES = list(cases)
    jobs = [(seed, i) for i in range(n)]
    if workers > 1:
        with get_context("fork").Pool(workers) as pool:
            out = pool.map(_make, jobs, chunksize=16)
    else:
        out = [_make(job) for job in jobs]
    return np.stack(out)


def _batch(samples: np.ndarray, turned: np.ndarray):
    import torch
    x = samples.astype(np.float32) / 255.0
    x[turned] = x[turned][:, :, ::-1]
    return torch.from_numpy(np.ascontiguousarray(x))[:, None]


def _logits(model, samples: np.ndarray, turned: bool) -> np.ndarray:
    import torch
    model.eval()
    with torch.inference_mode():
        out = [model(_batch(samples[s:s + 64], np.full(len(samples[s:s + 64]), turned))).numpy()
               for s in range(0, len(samples), 64)]
    model.train()
    return np.concatenate(out)


def holdout_scores(model, samples: np.ndarray) -> Dict[str, float]:
    """``accuracy``, ``decided`` and ``false_turns`` on ``samples`` (see the module)."""
    from .facing import DECISIVE_LOGIT
    right, turned = _logits(model, samples, False), _logits(model, samples, True)
    return {"accuracy": float(((right < 0) & (turned > 0)).mean()),
            "decided": float((turned > DECISIVE_LOGIT).mean()),
            "false_turns": float((right > DECISIVE_LOGIT).mean()),
            "holdout_samples": int(len(samples))}


def train_facing(data_dir: Path, out: Path, cache_dir: Path, unlabelled_dir: Optional[Path] = None,
                 unlabelled: Sequence[str] = (), holdout_unlabelled: Sequence[str] = (),
                 train_cases: Sequence[str] = DEFAULT_TRAIN,
                 holdout_cases: Sequence[str] = DEFAULT_HOLDOUT, samples: int = 2400,
                 holdout_samples: int = 400, steps: int = 1500, batch_size: int = 16,
                 lr: float = 2e-3, seed: int = 0, workers: int = 1,
                 progress: Optional[Callable[[float, str], None]] = None) -> Dict[str, float]:
    """Train the facing check on ``train_cases`` (and the ``unlabelled`` skulls), score it on
    ``holdout_cases`` and ``holdout_unlabelled``, and write its weights to ``out``. Returns
    the hold-out scores (:func:`holdout_scores`), also kept in the weights' metadata."""
    import torch

    from ..weights import export_weights
    from .facing import FACING_FORMAT, new_model
    if min(samples, holdout_samples, steps, batch_size, workers) < 1:
        raise VoxelRearrangementError("samples, hold-out samples, steps, batch size and workers "
                                      "must be at least 1")
    check_split(data_dir, train_cases, holdout_cases)
    if not Path(out).parent.is_dir():
        raise VoxelRearrangementError(f"{Path(out).parent}: no such folder for the weights")
    report = progress or (lambda f, m: None)
    t0 = time.perf_counter()
    train = load_cases(data_dir, train_cases, cache_dir, unlabelled_dir, unlabelled)
    hold = load_cases(data_dir, holdout_cases, cache_dir, unlabelled_dir, holdout_unlabelled)
    report(0.05, f"making {samples} training and {holdout_samples} hold-out samples")
    train_x = make_samples(train, samples, seed, workers)
    hold_x = make_samples(hold, holdout_samples, seed + 1, workers)
    torch.manual_seed(seed)
    model = new_model()
    opt = torch.optim.AdamW(model.parameters(), lr, weight_decay=1e-4)
    rng = np.random.default_rng([seed, 1])
    for step in range(steps):
        idx = rng.integers(len(train_x), size=batch_size)
        turned = rng.random(batch_size) < 0.5
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            model(_batch(train_x[idx], turned)), torch.from_numpy(turned.astype(np.float32)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 99 or step == steps - 1:
            report(0.3 + 0.65 * (step + 1) / steps, f"step {step + 1}/{steps} loss {loss.item():.4f}")
    scores = holdout_scores(model, hold_x)
    meta = {**scores, "train_cases": list(train_cases), "unlabelled": list(unlabelled),
            "holdout_cases": list(holdout_cases), "holdout_unlabelled": list(holdout_unlabelled),
            "samples": samples, "steps": steps, "seed": seed,
            "train_seconds": round(time.perf_counter() - t0, 1)}
    export_weights(model, out, FACING_FORMAT, meta)
    report(1.0, f"hold-out: both ways right {scores['accuracy']:.4f}, turned and decided "
                f"{scores['decided']:.4f}, false turns {scores['false_turns']:.4f}")
    return meta
