"""The training loop both networks share: seeded epochs, resumable checkpoints, logs, export.

Each epoch visits its samples in the order ``default_rng([seed, epoch]).permutation(steps)``
and draws sample ``index`` with its own generator ``numpy.random.default_rng([seed, epoch,
index])``, so a resumed run continues exactly as an uninterrupted one would, and the samples
can be made by worker processes (``loader_workers``: a GPU's steps outrun one CPU core making
them) without changing them. After every epoch ``<checkpoint_dir>/last.pt`` (model, optimiser,
history) is written atomically, the epoch is logged to ``log.csv`` (every step to
``steps.csv``), and the weights with the best hold-out score are exported (float16) to ``out``.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._shared.errors import VoxelRearrangementError
from .._shared.progress import Stage
from ..io.skullfix import REPORT_CASES, case_ids
from .training_log import append_row, cosine_lr, epoch_line, show_progress, write_log
from .weights import atomic_save, export_weights


def check_split(data_dir: Path, train_cases: Sequence[str], holdout_cases: Sequence[str]) -> None:
    """Clear errors for report cases (060-079) in the split and for cases not in ``data_dir``."""
    overlap = (set(train_cases) | set(holdout_cases)) & set(REPORT_CASES)
    if overlap:
        raise VoxelRearrangementError(
            f"cases {sorted(overlap)} belong to the report split 060-079; never train on them")
    available = set(case_ids(data_dir))
    missing = [c for c in list(train_cases) + list(holdout_cases) if c not in available]
    if missing:
        raise VoxelRearrangementError(f"{data_dir}: cases {missing} not found")


def prepare_training(data_dir: Path, train_cases: Sequence[str], holdout_cases: Sequence[str],
                     epochs: int, out: Path, checkpoint_dir: Optional[Path],
                     cache_dir: Optional[Path]) -> Tuple[Path, Path]:
    """Clear errors before any work (:func:`check_split`, no epochs, output folder missing),
    then the run's checkpoint folder (made; default ``<out folder>/<out stem>_checkpoints``)
    and data cache (default ``<checkpoints>/cache``)."""
    check_split(data_dir, train_cases, holdout_cases)
    if epochs < 1:
        raise VoxelRearrangementError("--epochs must be at least 1")
    out = Path(out)
    if not out.parent.is_dir():
        raise VoxelRearrangementError(f"{out}: the folder {out.parent} does not exist")
    ckdir = Path(checkpoint_dir) if checkpoint_dir else out.parent / f"{out.stem}_checkpoints"
    ckdir.mkdir(parents=True, exist_ok=True)
    return ckdir, Path(cache_dir) if cache_dir else ckdir / "cache"


def read_checkpoint(path: Path, device: str = "cpu") -> dict:
    """A resumable checkpoint (``last.pt``: model, optimiser, configuration, history), loaded
    safely; a clear error naming the file when it is not one."""
    import torch
    try:
        ck = torch.load(path, map_location=device, weights_only=True)
        if not isinstance(ck, dict) or not {"model", "optimizer", "config", "epoch"} <= set(ck):
            raise ValueError("not a training checkpoint")
        return ck
    except Exception as exc:
        raise VoxelRearrangementError(f"{path}: not a usable checkpoint ({exc})") from exc


@dataclass
class TrainingTask:
    """What differs between the networks.

    ``sample(index, rng)`` returns one training batch (input, target) as float32 arrays
    (N, 1, I, J, K), in a worker process when the run has ``loader_workers``; ``loss(model, x, y)`` the scalar loss tensor; ``evaluate(model)`` the
    hold-out metrics; ``score_key`` the metric to maximise; ``meta`` goes into the weights."""

    file_format: str
    new_model: Callable
    steps_per_epoch: int
    sample: Callable[[int, np.random.Generator], Tuple[np.ndarray, np.ndarray]]
    loss: Callable
    evaluate: Callable[[object], Dict[str, float]]
    score_key: str
    meta: Dict = field(default_factory=dict)
    #: Called with a fresh model (not when resuming), e.g. to start from earlier weights.
    initialize: Optional[Callable[[object], None]] = None


class EpochSamples:
    """The samples of one epoch in visiting order (a sequence, and a torch ``Dataset``): item
    ``n`` is ``task.sample(order[n], default_rng([seed, epoch, order[n]]))``."""

    def __init__(self, task: "TrainingTask", seed: int, epoch: int, order: np.ndarray) -> None:
        self.task, self.seed, self.epoch, self.order = task, seed, epoch, order

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, n: int):
        index = int(self.order[n])
        return self.task.sample(index, np.random.default_rng([self.seed, self.epoch, index]))


def _samples(task: "TrainingTask", seed: int, epoch: int, order: np.ndarray, workers: int):
    """The epoch's samples, made here one at a time or ahead by ``workers`` processes."""
    samples = EpochSamples(task, seed, epoch, order)
    if workers <= 0:
        return (samples[n] for n in range(len(samples)))
    from torch.utils.data import DataLoader
    return iter(DataLoader(samples, batch_size=None, shuffle=False, num_workers=workers,
                           collate_fn=_as_made, prefetch_factor=4, multiprocessing_context="fork"))


def _as_made(item):
    """No collation: the samples stay the numpy arrays ``sample`` made."""
    return item


def run_training(task: TrainingTask, out: Path, checkpoint_dir: Path, epochs: int,
                 device: str = "cpu", resume: Optional[Path] = None, seed: int = 0,
                 lr: float = 2e-3, config: Optional[Dict] = None,
                 max_minutes: Optional[float] = None, stage: Optional[Stage] = None,
                 loader_workers: int = 0) -> List[Dict]:
    """Train (or resume from ``resume``, a ``last.pt``) and return the per-epoch history.

    ``max_minutes`` stops after the epoch that crosses that wall-clock budget (checkpoint and
    best weights are written every epoch, so a stopped run is resumable and usable).
    ``loader_workers``: processes that make the samples ahead of the steps (0: made here, one
    at a time); the samples are the same either way."""
    import torch

    stage = stage or Stage()
    t_start = time.time()
    ckdir = Path(checkpoint_dir)
    torch.manual_seed(seed)
    model = task.new_model(config).to(device)
    if task.initialize is not None and resume is None:
        task.initialize(model)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history: List[Dict] = []
    start_epoch, best = 0, -np.inf
    if resume is not None:
        ck = read_checkpoint(resume, device)
        try:
            model = task.new_model(ck["config"]).to(device)
            opt = torch.optim.Adam(model.parameters(), lr=lr)
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
        except Exception as exc:
            raise VoxelRearrangementError(f"{resume}: not a usable checkpoint ({exc})") from exc
        start_epoch, best, history = int(ck["epoch"]) + 1, float(ck["best"]), list(ck["history"])
        if ck.get("seed", seed) != seed:
            raise VoxelRearrangementError(f"{resume}: trained with seed {ck['seed']}, not {seed}")
    per_epoch = task.steps_per_epoch
    total = epochs * per_epoch
    done_before = start_epoch * per_epoch
    model.train()
    for epoch in range(start_epoch, epochs):
        t_epoch = time.time()
        torch.manual_seed(seed * 100_003 + epoch)
        losses = []
        order = np.random.default_rng([seed, epoch]).permutation(per_epoch)
        for s, (inp, target) in enumerate(_samples(task, seed, epoch, order, loader_workers)):
            step = epoch * per_epoch + s
            cur_lr = cosine_lr(lr, step, total)
            for g in opt.param_groups:
                g["lr"] = cur_lr
            x = torch.from_numpy(np.ascontiguousarray(inp, dtype=np.float32)).to(device)
            y = torch.from_numpy(np.ascontiguousarray(target, dtype=np.float32)).to(device)
            loss = task.loss(model, x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            append_row(ckdir / "steps.csv", [epoch, step, f"{losses[-1]:.5f}", f"{cur_lr:.6g}"])
            frac = (step + 1 - done_before) / max(total - done_before, 1)
            msg = f"epoch {epoch + 1}/{epochs} step {s + 1}/{per_epoch} loss {np.mean(losses[-10:]):.4f}"
            stage.report(frac, msg)
            show_progress(frac, msg)
        model.eval()
        with torch.no_grad():
            metrics = task.evaluate(model)
        model.train()
        row = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)), "lr": cur_lr,
               "seconds": time.time() - t_epoch, **metrics}
        history.append(row)
        improved = metrics[task.score_key] > best
        if improved:
            best = metrics[task.score_key]
            export_weights(model, out, task.file_format,
                           {**task.meta, "epoch": epoch + 1, "holdout": metrics, "seed": seed,
                            "device": device,
                            "train_seconds_so_far": sum(h["seconds"] for h in history)})
        atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                     "config": dict(model.config), "epoch": epoch, "best": best,
                     "history": history, "seed": seed}, ckdir / "last.pt")
        write_log(ckdir / "log.csv", history)
        shown = " ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        epoch_line(f"epoch {epoch + 1}/{epochs} loss {row['train_loss']:.4f} hold-out {shown}"
                   f"{' (best, saved)' if improved else ''} {row['seconds']:.0f} s")
        if max_minutes is not None and time.time() - t_start > 60 * max_minutes:
            print(f"stopping after {max_minutes} min; resume with --resume {ckdir / 'last.pt'}",
                  file=sys.stderr, flush=True)
            break
    return history
