"""Plot a training log (the per-epoch ``log.csv`` of train-completion / train-rearrangement).

Left: training loss per epoch; right: the hold-out metrics named by --metrics.

    python benchmarks/plot_training.py --log W_checkpoints/log.csv \\
        --metrics band_accuracy,band_accuracy_trilinear --title "..." --out PLOT.png
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", type=Path, required=True)
    ap.add_argument("--metrics", required=True, help="comma-separated hold-out columns")
    ap.add_argument("--title", default="")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(csv.DictReader(args.log.open()))
    epochs = [int(r["epoch"]) for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    a.plot(epochs, [float(r["train_loss"]) for r in rows], color="#555")
    a.set_xlabel("epoch"); a.set_ylabel("training loss"); a.grid(alpha=0.3)
    for name in args.metrics.split(","):
        b.plot(epochs, [float(r[name]) for r in rows], label=name)
    b.set_xlabel("epoch"); b.set_ylabel("hold-out"); b.grid(alpha=0.3); b.legend()
    fig.suptitle(args.title)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=100)
    print(args.out)


if __name__ == "__main__":
    main()
