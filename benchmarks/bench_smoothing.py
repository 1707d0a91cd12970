"""Jitter and lag of the One Euro joint smoothing on a synthetic still-and-move sequence.

A 21-joint hand at 30 FPS: 2 s still, 1 s moving at 300 mm/s along x, 1 s
still, each joint coordinate with independent Gaussian noise (3 mm standard
deviation). Reports, raw and smoothed:

- jitter: RMS frame-to-frame motion (3D, mm) of the joints during the first
  still second and a half (truth does not move, so all motion is noise);
- lag while moving (frames fully inside the move, after the first 0.2 s):
  mean 3D error to the truth (mm), and the time lag, mean error along the
  motion direction divided by the speed (ms);
- settling: the mean 3D error 0.1 s after the move stops (mm).

Usage::

    .venv/bin/python benchmarks/bench_smoothing.py [--noise-mm 3] [--speed 300] [--fps 30] [--seed 0]
        [--min-cutoff 1.0] [--beta 0.02] [--d-cutoff 1.0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from livepose.outputs.smoothing import OneEuroFilter, OneEuroParams  # noqa: E402

JOINTS = 21


def say(line: str) -> None:
    sys.stdout.write(line + "\n")


def still_and_move(fps: float = 30.0, speed_mm_s: float = 300.0, noise_mm: float = 3.0, seed: int = 0,
                   still_s: float = 2.0, move_s: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times (N,), truth (N, J, 3), noisy (N, J, 3)) of the still-and-move sequence."""
    rng = np.random.default_rng(seed)
    n = int(round((2 * still_s + move_s) * fps))
    t = np.arange(n) / fps
    offsets = rng.uniform(-80, 80, size=(JOINTS, 3)) + np.array([0.0, 0.0, 450.0])
    shift = np.clip(t - still_s, 0.0, move_s) * speed_mm_s
    truth = np.repeat(offsets[None], n, axis=0)
    truth[:, :, 0] += shift[:, None]
    noisy = truth + rng.normal(0.0, noise_mm, size=truth.shape)
    return t, truth, noisy


def run(params: OneEuroParams | None, t: np.ndarray, noisy: np.ndarray) -> np.ndarray:
    if params is None:
        return noisy.copy()
    filt = OneEuroFilter(params)
    return np.stack([filt(x, ti) for x, ti in zip(noisy, t, strict=True)])


def figures(t: np.ndarray, truth: np.ndarray, out: np.ndarray, speed_mm_s: float, still_s: float = 2.0,
            move_s: float = 1.0) -> dict[str, float]:
    still = t < still_s - 0.5
    steps = np.linalg.norm(np.diff(out[still], axis=0), axis=-1)
    jitter = float(np.sqrt(np.mean(steps**2)))
    moving = (t >= still_s + 0.2) & (t <= still_s + move_s)
    error = out[moving] - truth[moving]
    mean_error = float(np.linalg.norm(error, axis=-1).mean())
    lag_ms = float(-error[..., 0].mean() / speed_mm_s * 1e3)
    after = np.argmin(np.abs(t - (still_s + move_s + 0.1)))
    settle = float(np.linalg.norm(out[after] - truth[after], axis=-1).mean())
    return {"jitter_mm": jitter, "moving_error_mm": mean_error, "lag_ms": lag_ms, "error_100ms_after_stop": settle}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise-mm", type=float, default=3.0)
    parser.add_argument("--speed", type=float, default=300.0, help="move speed, mm/s")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    defaults = OneEuroParams()
    parser.add_argument("--min-cutoff", type=float, default=defaults.min_cutoff)
    parser.add_argument("--beta", type=float, default=defaults.beta)
    parser.add_argument("--d-cutoff", type=float, default=defaults.d_cutoff)
    args = parser.parse_args(argv)
    params = OneEuroParams(min_cutoff=args.min_cutoff, beta=args.beta, d_cutoff=args.d_cutoff)
    t, truth, noisy = still_and_move(args.fps, args.speed, args.noise_mm, args.seed)
    say(f"still-and-move: {JOINTS} joints, {args.fps:g} FPS, noise {args.noise_mm:g} mm per coordinate, "
          f"2 s still / 1 s at {args.speed:g} mm/s / 1 s still")
    say(f"{'':34s}{'jitter (still)':>16s}{'error (moving)':>16s}{'lag (moving)':>14s}{'error 0.1 s after stop':>25s}")
    rows = [("raw", None), (f"One Euro ({params.min_cutoff:g} Hz, beta {params.beta:g}, d {params.d_cutoff:g})",
                             params)]
    results = {}
    for name, p in rows:
        f = figures(t, truth, run(p, t, noisy), args.speed)
        results[name] = f
        say(f"{name:34s}{f['jitter_mm']:13.2f} mm{f['moving_error_mm']:13.2f} mm{f['lag_ms']:11.1f} ms"
              f"{f['error_100ms_after_stop']:22.2f} mm")
    raw, smooth = results.values()
    say(f"jitter reduced {raw['jitter_mm'] / smooth['jitter_mm']:.1f}x; lag while moving {smooth['lag_ms']:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
