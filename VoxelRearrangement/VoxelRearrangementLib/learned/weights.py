"""Saving and safely loading the networks' weights files (PyTorch).

A weights file is a plain dict ``{"format", "config", "state_dict" (float16), "meta"}``
written atomically; it is read with ``torch.load(weights_only=True)`` (no pickled code).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict

#: Where the networks run: ``auto`` takes the GPU when there is one.
DEVICES = ("auto", "cpu", "cuda")
DEFAULT_DEVICE = "auto"
#: The ``format`` of each network's weights files (a file of another network is refused).
COMPLETION_FORMAT = "VoxelRearrangement coarse completion v1"
REARRANGEMENT_FORMAT = "VoxelRearrangement learned rearrangement v1"


def require_torch():
    """The ``torch`` module, or a clear error saying how to install it (the networks need it;
    template synthesis and the baselines do not)."""
    from .._shared.errors import VoxelRearrangementError
    try:
        import torch
    except ImportError:
        raise VoxelRearrangementError(
            "this needs PyTorch (the completion network and the learned method): install it "
            "with pip install 'VoxelRearrangementLib[learn]' (the CPU build: pip install torch "
            "--index-url https://download.pytorch.org/whl/cpu), or in 3D Slicer the PyTorch "
            "extension") from None
    return torch


def resolve_device(device: str = DEFAULT_DEVICE) -> str:
    """``auto`` -> ``cuda`` when available, else ``cpu``; ``cuda`` without a GPU is an error."""
    torch = require_torch()

    from .._shared.errors import VoxelRearrangementError
    if device not in DEVICES:
        raise VoxelRearrangementError(f"unknown device '{device}' (use {', '.join(DEVICES)})")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise VoxelRearrangementError("device 'cuda' requested but no CUDA device is available")
    return device


def atomic_save(obj, path: Path) -> None:
    """``torch.save`` written atomically (:func:`~.._shared.atomic.atomic_output`)."""
    import torch

    from .._shared.atomic import atomic_output
    with atomic_output(path, ".pt") as tmp:
        torch.save(obj, tmp)


def export_weights(model, path: Path, file_format: str, meta: Dict) -> None:
    """Write ``model`` (with a ``config`` dict attribute) as a float16 weights file."""
    state = {k: v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()
             for k, v in model.state_dict().items()}
    atomic_save({"format": file_format, "config": dict(model.config), "state_dict": state,
                 "meta": meta}, Path(path))


def load_weights(path: Path, file_format: str, new_model: Callable, what: str,
                 device: str = "cpu"):
    """The model built by ``new_model(config)`` with the weights of ``path``, in eval mode.

    A missing, corrupt or foreign file (another ``file_format``) raises
    :class:`~.errors.VoxelRearrangementError` naming the file and ``what`` it should be."""
    torch = require_torch()

    from .._shared.errors import VoxelRearrangementError
    path = Path(path)
    if not path.is_file():
        raise VoxelRearrangementError(f"{path}: {what} weights not found")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(blob, dict) or blob.get("format") != file_format:
            raise ValueError(f"not a {what} weights file")
        model = new_model(blob["config"])
        model.load_state_dict({k: v.float() if v.is_floating_point() else v
                               for k, v in blob["state_dict"].items()})
    except Exception as exc:
        raise VoxelRearrangementError(f"{path}: corrupt or unreadable {what} weights ({exc})") from exc
    return model.to(device).eval()

