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

import csv
import os
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from .completion_data import (CoarsePair, case_ids, load_pairs, synthetic_defect,
                              training_sample, vault_points)
from .errors import VoxelRearrangementError
from .metrics import dice
from .progress import Stage

REPORT_CASES = tuple(f"{n:03d}" for n in range(60, 80))
DEFAULT_TRAIN = tuple(f"{n:03d}" for n in range(0, 50))
DEFAULT_HOLDOUT = tuple(f"{n:03d}" for n in range(50, 60))
WEIGHTS_FORMAT = "VoxelRearrangement coarse completion v1"


def parse_cases(text: str) -> List[str]:
    """``"000-049,055"`` -> ``['000', ..., '049', '055']``."""
    out: List[str] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "-" in part:
            a, b = part.split("-")
            out += [f"{n:03d}" for n in range(int(a), int(b) + 1)]
        else:
            out.append(part)
    return out


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


def evaluate(model, samples: Sequence[tuple], device: str) -> Dict[str, float]:
    """Mean coarse Dice of the completed skull (prediction | input) and of the restored part."""
    import torch
    model.eval()
    res: Dict[str, List[float]] = {}
    with torch.no_grad():
        for inp, target, kind in samples:
            x = torch.from_numpy(inp.astype(np.float32))[None, None].to(device)
            pred = (model(x)[0, 0] > 0).cpu().numpy()
            inb = inp.astype(bool)
            full = pred | inb
            res.setdefault("dice", []).append(dice(full, target))
            res.setdefault("dice_restored", []).append(dice(full & ~inb, target.astype(bool) & ~inb))
            res.setdefault(f"dice_restored_{kind}", []).append(dice(full & ~inb, target.astype(bool) & ~inb))
    model.train()
    return {k: float(np.mean(v)) for k, v in res.items()}


def _atomic_save(obj, path: Path) -> None:
    import torch
    tmp = path.with_name(f".tmp-{path.name}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def export_weights(model, path: Path, meta: Dict) -> None:
    """The bundled format: float16 state dict + architecture config + metadata (plain types)."""
    state = {k: v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()
             for k, v in model.state_dict().items()}
    _atomic_save({"format": WEIGHTS_FORMAT, "config": dict(model.config), "state_dict": state,
                  "meta": meta}, Path(path))


def _bar(fraction: float, width: int = 30) -> str:
    n = int(round(fraction * width))
    return "[" + "#" * n + "." * (width - n) + "]"


def train_completion(data_dir: Path, out: Path, epochs: int, device: str = "cpu",
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
    import torch

    from .completion_model import new_model

    data_dir, out = Path(data_dir), Path(out)
    overlap = (set(train_cases) | set(holdout_cases)) & set(REPORT_CASES)
    if overlap:
        raise VoxelRearrangementError(
            f"cases {sorted(overlap)} belong to the report split 060-079; never train on them")
    available = set(case_ids(data_dir))
    missing = [c for c in list(train_cases) + list(holdout_cases) if c not in available]
    if missing:
        raise VoxelRearrangementError(f"{data_dir}: cases {missing} not found")
    if epochs < 1:
        raise VoxelRearrangementError("--epochs must be at least 1")
    if device == "cuda" and not torch.cuda.is_available():
        raise VoxelRearrangementError("--device cuda: no CUDA device is available")
    if not out.parent.is_dir():
        raise VoxelRearrangementError(f"{out}: the folder {out.parent} does not exist")
    ckdir = Path(checkpoint_dir) if checkpoint_dir else out.parent / f"{out.stem}_checkpoints"
    ckdir.mkdir(parents=True, exist_ok=True)
    cache = Path(cache_dir) if cache_dir else ckdir / "cache"
    stage = Stage(progress, cancel)
    t_start = time.time()

    pairs = load_pairs(data_dir, list(train_cases) + list(holdout_cases), cache,
                       stage.sub(0.0, 0.05).report)
    train, hold = pairs[:len(train_cases)], pairs[len(train_cases):]
    val = validation_set(hold, seed)

    torch.manual_seed(seed)
    model = new_model(config).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history: List[Dict] = []
    start_epoch, best = 0, -1.0
    if resume is not None:
        try:
            ck = torch.load(resume, map_location=device, weights_only=True)
            model = new_model(ck["config"]).to(device)
            opt = torch.optim.Adam(model.parameters(), lr=lr)
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
        except Exception as exc:
            raise VoxelRearrangementError(f"{resume}: not a usable checkpoint ({exc})") from exc
        start_epoch, best, history = int(ck["epoch"]) + 1, float(ck["best"]), list(ck["history"])
        if ck.get("seed", seed) != seed:
            raise VoxelRearrangementError(f"{resume}: trained with seed {ck['seed']}, not {seed}")
    steps_per_epoch = len(train)
    total = epochs * steps_per_epoch
    points: Dict[str, np.ndarray] = {}
    step_log = ckdir / "steps.csv"
    model.train()
    for epoch in range(start_epoch, epochs):
        t_epoch = time.time()
        rng = np.random.default_rng([seed, epoch])
        torch.manual_seed(seed * 100_003 + epoch)
        losses = []
        for s, idx in enumerate(rng.permutation(len(train))):
            step = epoch * steps_per_epoch + s
            cur_lr = float(lr * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * step / total))))  # cosine
            for g in opt.param_groups:
                g["lr"] = cur_lr
            inp, target = training_sample(train[idx], rng, p_synthetic, points)
            x = torch.from_numpy(np.ascontiguousarray(inp, dtype=np.float32))[None, None].to(device)
            y = torch.from_numpy(np.ascontiguousarray(target, dtype=np.float32))[None, None].to(device)
            loss = _loss(model(x), y, x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            with open(step_log, "a", newline="") as f:
                csv.writer(f).writerow([epoch, step, f"{losses[-1]:.5f}", f"{cur_lr:.6g}"])
            frac = (step + 1 - start_epoch * steps_per_epoch) / max(total - start_epoch * steps_per_epoch, 1)
            msg = f"epoch {epoch + 1}/{epochs} step {s + 1}/{steps_per_epoch} loss {np.mean(losses[-10:]):.4f}"
            stage.sub(0.05, 1.0).report(frac, msg)
            if sys.stderr.isatty():
                print(f"\r{_bar(frac)} {msg}", end="", file=sys.stderr, flush=True)
        metrics = evaluate(model, val, device)
        row = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)), "lr": cur_lr,
               "seconds": time.time() - t_epoch, **metrics}
        history.append(row)
        improved = metrics["dice_restored"] > best
        if improved:
            best = metrics["dice_restored"]
            export_weights(model, out, {"epoch": epoch + 1, "holdout": metrics, "seed": seed,
                                        "train_cases": ",".join(train_cases),
                                        "holdout_cases": ",".join(holdout_cases),
                                        "device": device, "train_seconds_so_far":
                                        sum(h["seconds"] for h in history)})
        _atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                      "config": dict(model.config), "epoch": epoch, "best": best,
                      "history": history, "seed": seed}, ckdir / "last.pt")
        _write_log(ckdir / "log.csv", history)
        line = (f"epoch {epoch + 1}/{epochs} loss {row['train_loss']:.4f} hold-out Dice "
                f"{metrics['dice']:.4f} restored {metrics['dice_restored']:.4f}"
                f"{' (best, saved)' if improved else ''} {row['seconds']:.0f} s")
        print(("\n" if sys.stderr.isatty() else "") + line, file=sys.stderr, flush=True)
        if max_minutes is not None and time.time() - t_start > 60 * max_minutes:
            print(f"stopping after {max_minutes} min; resume with --resume {ckdir / 'last.pt'}",
                  file=sys.stderr, flush=True)
            break
    return history


def _write_log(path: Path, history: List[Dict]) -> None:
    keys = list(dict.fromkeys(k for row in history for k in row))
    tmp = path.with_name(f".tmp-{path.name}")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, keys)
        w.writeheader()
        w.writerows(history)
    os.replace(tmp, path)
