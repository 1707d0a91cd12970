"""Synthetic data throughput: training crops per second, rendered straight into the crop, against the
reference path of rendering whole frames and cropping them with the official protocol, in the same process.

    .venv/bin/python benchmarks/bench_synth.py [--batch 64] [--repeats 5] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from livepose.calibration import load_profile
from livepose.detect.crop import crop_hand
from livepose.runtime.default_model import HAND_CROP
from livepose.synth.generator import hand_crops, hand_frames


def timed(fn, repeats: int, device: str) -> float:
    """Median seconds of ``fn()`` over ``repeats`` runs after one warm-up."""
    fn()
    samples = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    generator = torch.Generator(device=args.device).manual_seed(0)
    intr = load_profile("d435_640").intrinsics

    direct = timed(lambda: hand_crops(args.batch, HAND_CROP, cameras=("d435_640",), generator=generator,
                                      device=args.device), args.repeats, args.device)

    def reference() -> None:
        frames = hand_frames(args.batch, camera="d435_640", generator=generator, device=args.device)
        depth, centres = frames.depth_mm.cpu().numpy(), frames.centre_uvd.cpu().numpy()
        for i in range(args.batch):
            crop_hand(depth[i], centres[i], intr, HAND_CROP)

    whole = timed(reference, max(1, args.repeats // 2), args.device)
    name = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    sys.stdout.write(f"device: {name}\n")
    sys.stdout.write(f"direct crops (render into the 176x176 crop, sensor model): {args.batch / direct:8.1f} crops/s\n")
    sys.stdout.write(f"reference (render 640x480 frames, then the official crop): {args.batch / whole:8.1f} crops/s\n")
    sys.stdout.write(f"ratio: {whole / direct:.2f}x\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
