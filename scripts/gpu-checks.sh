#!/usr/bin/env bash
# The checks a lent GPU machine is for, one stage per call (each stays under the device tool's 10 minutes).
# Run from the repository root on a machine with torch and a CUDA GPU (livepose need not be installed; only
# the core stack is needed, see tests/test_gpu_machine_env.py). Results go to $OUT (default: gpu-out/).
#
#   bash scripts/gpu-checks.sh bench            # CUDA rows, parity of every path, engine ladder, renderer vs training
#   bash scripts/gpu-checks.sh train-hand 8     # the paper's network (ResNet-50, 176 px, 4 x 256 heads), 8 minutes
#   bash scripts/gpu-checks.sh train-body 8     # the same for the body model (ITOP layout)
#
# BENCH_ARGS replaces the bench options (default: --devices cuda --no-int8); DEVICE the training device.
# A training stage run again with the same $OUT resumes where the last one stopped.
set -euo pipefail
stage="${1:-}"
OUT="${OUT:-gpu-out}"
DEVICE="${DEVICE:-cuda}"
PYTHON="${PYTHON:-python}"
case "$stage" in
    bench | train-hand | train-body) ;;
    *) echo "usage: scripts/gpu-checks.sh bench | train-hand MINUTES | train-body MINUTES" >&2; exit 2 ;;
esac
mkdir -p "$OUT"
"$PYTHON" -c "import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA device',
'| torch', torch.__version__, '| CUDA', torch.version.cuda)" | tee "$OUT/device.txt"

train() {  # kind, minutes: the paper's recipe, with the time limit as the only change between calls
    local kind="$1" minutes="${2:?minutes of training}"
    "$PYTHON" -m livepose.cli train --data "synth-$kind" --out "$OUT/$kind-paper" --backbone resnet50 \
        --input-size 176 --head-channels 256 --head-layers 4 --device "$DEVICE" ${TRAIN_ARGS:-} \
        --time-limit "$minutes" 2>&1 | tr '\r' '\n' | grep -v '^train synth' | tee -a "$OUT/$kind-paper.log"
}

case "$stage" in
    bench)
        # shellcheck disable=SC2086  # BENCH_ARGS is a list of options
        "$PYTHON" -m livepose.cli bench ${BENCH_ARGS:---devices cuda --no-int8} --json "$OUT/bench.json" \
            | tee "$OUT/bench.txt" ;;
    train-hand) train hand "${2:-}" ;;
    train-body) train body "${2:-}" ;;
esac
