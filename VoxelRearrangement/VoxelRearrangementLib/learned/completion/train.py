"""Training of the coarse completion network (``train-completion``): reproducible, resumable.

Split: cases are chosen by id; the defaults train on SkullFix 000-049 (plus, when given, the
unlabelled defective skulls of ``skullfix-test``), keep 050-059 aside to pick the epoch and
never touch 060-079 (the report split). Each epoch visits every training case once in a
seeded order, with its challenge defect or a synthetic defect of any kind (:mod:`.defects`,
:mod:`.data`) and random flips / rotations / scales / shifts.

Loss (over the voxels not ignored): binary cross-entropy + soft Dice of the whole skull + soft
Dice of the restored part (the bone missing from the input), which keeps the defect from
being drowned by the easy, copied bone. The hold-out score is the mean Dice of the restored
part over fixed hold-out inputs: each hold-out case with its challenge defect and one seeded
synthetic defect of each of :data:`HOLDOUT_KINDS`. Checkpoints, logs and the export of the
best epoch: :mod:`..training`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from ..._shared.errors import VoxelRearrangementError
from ..._shared.progress import Stage
from ...evaluation.metrics import dice
from ..training import TrainingTask, prepare_training, read_checkpoint, run_training
from ..weights import COMPLETION_FORMAT, DEFAULT_DEVICE, resolve_device
from .data import CoarseCase, case_values, load_cases, network_input, synthetic_sample, training_sample
from .defects import KIND_WEIGHTS, KINDS

DEFAULT_TRAIN = tuple(f"{n:03d}" for n in range(0, 50))
DEFAULT_HOLDOUT = tuple(f"{n:03d}" for n in range(50, 60))
#: Synthetic defect kinds of the fixed hold-out inputs (besides each case's challenge defect).
HOLDOUT_KINDS = ("lateral", "fronto-orbital", "large")
#: Network configuration trained by default: the skull and its mirror image as inputs.
DEFAULT_CONFIG = {"half": 8, "base": 32, "inputs": 2}


def _loss(logits, target):
    """The loss of a batch: ``logits`` (N, 1, I, J, K); ``target`` (N, 3, I, J, K) holds the
    skull to restore, the loss weight (0 where ignored) and the input skull (which tells the
    restored part: what the skull to restore, or the prediction, holds beyond the input)."""
    import torch
    import torch.nn.functional as F
    skull, weight, inp = target[:, :1], target[:, 1:2], target[:, 2:3]
    total = weight.sum().clamp(min=1.0)
    bce = (F.binary_cross_entropy_with_logits(logits, skull, reduction="none") * weight).sum() / total
    p = torch.sigmoid(logits) * weight
    t = skull * weight
    eps = 1.0
    dims = tuple(range(1, logits.ndim))
    d_all = (2 * (p * t).sum(dims) + eps) / (p.sum(dims) + t.sum(dims) + eps)
    # the bone beyond the input: for 0/1 masks t * (1 - inp) and p * (1 - inp); for values
    # also 0 where the input's partial volume already holds the target's
    miss_t, miss_p = F.relu(t - inp), F.relu(p - inp)
    d_miss = (2 * (miss_p * miss_t).sum(dims) + eps) / (miss_p.sum(dims) + miss_t.sum(dims) + eps)
    return bce + (1 - d_all).mean() + (1 - d_miss).mean()


def validation_set(cases: Sequence[CoarseCase], seed: int, values: bool = False) -> List[tuple]:
    """Fixed hold-out inputs: each case with its challenge defect and one seeded synthetic
    defect of each of :data:`HOLDOUT_KINDS` (no augmentation); the inputs are masks, or
    downsampling values with ``values`` (the same defects)."""
    out = []
    for n, case in enumerate(cases):
        out.append((case_values(case)[1] if values else case.defective, case.target, "challenge"))
        for k, kind in enumerate(HOLDOUT_KINDS):
            rng = np.random.default_rng([seed, 10_000 + n, k])
            out.append((synthetic_sample(case, rng, kind, values=values)[0], case.target, kind))
    return out


def holdout_scores(model, samples: Sequence[tuple], device: str) -> Dict[str, float]:
    """Mean coarse Dice of the completed skull (prediction | input) and of the restored part,
    over all samples and per defect kind (call under ``torch.no_grad()``, eval mode). Inputs
    given as values count as bone above 0.5, as the challenge's masks do."""
    import torch
    res: Dict[str, List[float]] = {}
    two = model.config.get("inputs", 1) == 2
    for inp, target, kind in samples:
        x = network_input(inp) if two else inp[None].astype(np.float32)
        pred = (model(torch.from_numpy(x)[None].to(device))[0, 0] > 0).cpu().numpy()
        inb = inp > 0.5
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
                     lr: float = 2e-3, config: Optional[Dict] = None,
                     unlabelled_dir: Optional[Path] = None, unlabelled: Sequence[str] = (),
                     init: Optional[Path] = None, max_minutes: Optional[float] = None,
                     kind_weights: Sequence[float] = KIND_WEIGHTS, values: Optional[bool] = None,
                     loader_workers: int = 0,
                     progress: Optional[Callable[[float, str], None]] = None,
                     cancel: Optional[Callable[[], bool]] = None) -> List[Dict]:
    """Train (or resume) the completion network; returns the per-epoch history.

    ``config``: the new network's (:class:`.model.CompletionUNet` arguments; default
    :data:`DEFAULT_CONFIG`); with ``resume`` the checkpoint's is kept, and a ``config`` of
    another width is an error, as is ``init`` with weights of another width.

    ``kind_weights``: how often each of :data:`~.defects.KINDS` is drawn for a synthetic
    defect (non-negative, normalised here; default :data:`~.defects.KIND_WEIGHTS`).
    ``values``: whether the network sees and predicts the downsampling's values instead of
    0/1 masks (:mod:`.data`); None: the checkpoint's kind when resuming, else masks.

    ``unlabelled`` ids of ``unlabelled_dir`` join the training cases (self-supervised, see
    :mod:`.data`); ``init`` starts a fresh run from earlier weights (widened to the new inputs,
    :func:`.model.widen_inputs`). ``max_minutes`` stops after the epoch that crosses that
    wall-clock budget (the checkpoint and the best weights are written every epoch, so a
    stopped run is resumable and usable). ``loader_workers``: processes that make the samples
    ahead of the steps (:func:`..training.run_training`).
    """
    from .inference import load_completion_model
    from .model import new_model, widen_inputs

    data_dir, out = Path(data_dir), Path(out)
    device = resolve_device(device)
    kind_weights = _normalised(kind_weights)
    if unlabelled and unlabelled_dir is None:
        raise VoxelRearrangementError("unlabelled cases need the folder that holds them")
    if resume is not None:  # a resumed run trains the network of its checkpoint
        asked, config = config, dict(read_checkpoint(resume)["config"])
        if asked is not None and _width(asked) != _width(config):
            raise VoxelRearrangementError(
                f"{resume}: its network is {_width(config)} wide, not {_width(asked)} (a resumed "
                "run keeps its checkpoint's width)")
        if values is not None and bool(values) != bool(config.get("values", 0)):
            raise VoxelRearrangementError(
                f"{resume}: its network was trained on {_kind(not values)}, not {_kind(values)}")
    else:
        config = dict(DEFAULT_CONFIG if config is None else config)
        if values is not None:
            config["values"] = int(values)
        start = None if init is None else _width(load_completion_model(init, "cpu").config)
        if start is not None and start != _width(config):
            raise VoxelRearrangementError(
                f"{init}: its network is {start} wide, not {_width(config)} (--init starts a "
                "network of the same width)")
    values = bool(config.get("values", 0))
    ckdir, cache = prepare_training(data_dir, train_cases, holdout_cases, epochs, out,
                                    checkpoint_dir, cache_dir)
    stage = Stage(progress, cancel)
    cases = load_cases(data_dir, list(train_cases) + list(holdout_cases), cache, unlabelled_dir,
                       unlabelled, stage.sub(0.0, 0.05).report)
    n_train = len(train_cases)
    train = cases[:n_train] + cases[n_train + len(holdout_cases):]
    val = validation_set(cases[n_train:n_train + len(holdout_cases)], seed, values)

    def sample(index: int, rng: np.random.Generator):
        inp, target = training_sample(train[index], rng, kind_weights=kind_weights, values=values)
        return inp[None], np.concatenate([target, inp[:1]])[None]

    def initialize(model) -> None:
        old = load_completion_model(init, "cpu")
        model.load_state_dict(widen_inputs(old.state_dict(), model))

    task = TrainingTask(
        file_format=COMPLETION_FORMAT, new_model=new_model, steps_per_epoch=len(train),
        sample=sample, loss=lambda model, x, y: _loss(model(x), y),
        evaluate=lambda model: holdout_scores(model, val, device), score_key="dice_restored",
        meta={"train_cases": ",".join(train_cases), "holdout_cases": ",".join(holdout_cases),
              "unlabelled_cases": ",".join(unlabelled), "init": str(init) if init else None,
              "kind_weights": ",".join(f"{w:g}" for w in kind_weights)},
        initialize=initialize if init is not None else None)
    return run_training(task, out, ckdir, epochs, device, resume, seed, lr, config, max_minutes,
                        stage.sub(0.05, 1.0), loader_workers)


def _width(config: Dict) -> str:
    """``HALF,BASE`` of a network configuration (the model's defaults where not given)."""
    return f"{config.get('half', DEFAULT_CONFIG['half'])},{config.get('base', DEFAULT_CONFIG['base'])}"


def _kind(values: bool) -> str:
    return "the downsampling's values" if values else "0/1 masks"


def _normalised(kind_weights: Sequence[float]) -> np.ndarray:
    """The weights of the defect kinds as probabilities; a clear error when they cannot be."""
    try:
        w = np.asarray(kind_weights, dtype=np.float64)
    except (TypeError, ValueError):
        w = np.zeros(0)
    if w.shape != (len(KINDS),) or not np.all(np.isfinite(w)) or w.min() < 0 or w.sum() <= 0:
        raise VoxelRearrangementError(
            f"the defect kind weights must be {len(KINDS)} non-negative numbers, not all zero, "
            f"one per kind ({', '.join(KINDS)}); got {kind_weights!r}")
    return w / w.sum()
