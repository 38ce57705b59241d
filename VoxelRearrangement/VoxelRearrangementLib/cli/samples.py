"""CLI command ``samples``: where the bundled sample skulls are, so that an installed package
can be tried from any folder (``run --defective "$(VoxelRearrangementLib samples --path
skull069_defective)"``)."""
from __future__ import annotations

import argparse

from .._shared.resources import SAMPLES, sample_path
from .commands import add_command


def register(sub: argparse._SubParsersAction) -> None:
    s = add_command(sub, "samples")
    s.add_argument("--path", metavar="NAME", choices=sorted(SAMPLES),
                   help="print only the path of this sample")
    s.set_defaults(func=_samples)


def _samples(args: argparse.Namespace) -> int:
    if args.path:
        print(sample_path(args.path))
        return 0
    for name, what in SAMPLES.items():
        print(f"{name:20s} {what}\n{'':20s} {sample_path(name)}")
    return 0
