#!/usr/bin/env bash
# Train the completion network on a lent GPU machine (the device tool runs this from the repo
# root, where OUT is set), from the cached training cases alone: the device has no
# ../shared/data. Weights, the resumable checkpoint and the logs come back in $OUT.
#
# Here, before: a training run here has filled the cache (benchmarks/out/completion_cache:
# SkullFix 000-059 and the 50 skullfix-test skulls, ~0.15 MB each; keep only the current
# version's files, *-v4.npz). Then, with the device tool, e.g. 8 minutes of epochs:
#   run(command="bash scripts/train_completion_on_device.sh --resume benchmarks/checkpoints/completion_v3/last.pt
#                --epochs 400 --max-minutes 8 --lr 3e-4 --kind-weights 0.13,0.17,0.12,0.25,0.08,0.08,0.17",
#       carry=["benchmarks/out/completion_cache"], timeout_s=600)
# or a new, wider network (model card: "Wider networks"), e.g.
#   run(command="bash scripts/train_completion_on_device.sh --width 16,64 --epochs 600 --max-minutes 8",
#       carry=["benchmarks/out/completion_cache"], timeout_s=600)
# What travels (the tracked files and the carried cache) must stay under the tool's 64 MiB:
# about 45 MB tracked plus 19 MB of cache today, so one resumable checkpoint in the repo at a
# time. Any train-completion option can follow (they are passed on). The SkullFix layout the command
# checks is made of empty files: every case must be in the cache (a missing one is an error
# naming its empty file). PYTHON, DEVICE and LOADER_WORKERS override python3, cuda and 14
# (the processes that make the samples beside the GPU: 16 cores there).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${OUT:?run this through the device tool (or set OUT to a folder for the results)}"
python=${PYTHON:-python3}
cache=${CACHE:-benchmarks/out/completion_cache}
layout=$(mktemp -d)
mkdir -p "$layout/skullfix/complete" "$layout/skullfix/implant" "$layout/unlabelled"
for n in $(seq -f %03g 0 59); do
    : > "$layout/skullfix/complete/$n.nrrd"
    : > "$layout/skullfix/implant/$n.nrrd"
done
for n in $(seq -f %03g 0 49); do : > "$layout/unlabelled/$n.nrrd"; done
{ nvidia-smi || echo "no nvidia-smi"; "$python" -c "import torch; print('torch', torch.__version__)"; } \
    > "$OUT/machine.txt" 2>&1
export PYTHONPATH="$PWD/VoxelRearrangement${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
"$python" -m VoxelRearrangementLib train-completion --data "$layout/skullfix" \
    --unlabelled "$layout/unlabelled" --cache "$cache" --device "${DEVICE:-cuda}" \
    --loader-workers "${LOADER_WORKERS:-14}" --checkpoint-dir "$OUT/checkpoints" \
    --out "$OUT/completion_unet.pt" "$@" 2>&1 | grep --line-buffered -v '^PROGRESS' | tee "$OUT/train.log"
