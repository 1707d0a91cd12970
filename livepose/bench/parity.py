"""Do the fast paths predict what FP32 eager PyTorch predicts? Joint distances in camera millimetres.

The truth is the eager ``torch`` backend in FP32 on the CPU (1-channel first
convolution, vectorised decoding, numpy crop). Every other path is run on the
same frames, one at a time and in batches, and the Euclidean distance of each
joint from the truth's is taken in camera millimetres; a path agrees when the
largest distance is under :data:`TOLERANCE_MM`. Main thread only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from livepose.bench.inputs import BenchFrame
from livepose.runtime.predictor import Predictor

TOLERANCE_MM = 0.5


def predict_all(predictor: Predictor, frames: list[BenchFrame], batch: int = 1) -> np.ndarray:
    """(N, J, 3) camera-frame joints (mm) of every frame, ``batch`` frames per call."""
    out = []
    for start in range(0, len(frames), batch):
        chunk = frames[start:start + batch]
        predictions = predictor.predict_many([f.depth_mm() for f in chunk], [f.intrinsics for f in chunk],
                                             np.stack([f.centre_uvd for f in chunk]))
        out.extend(p.joints_mm for p in predictions)
    return np.stack(out)


def compare(joints: np.ndarray, truth: np.ndarray, kinds: list[str]) -> dict:
    """Largest and mean joint distance (mm) overall and per input kind, and whether it is within tolerance."""
    distance = np.linalg.norm(np.asarray(joints, np.float64) - np.asarray(truth, np.float64), axis=-1)  # (N, J)
    kinds_arr = np.asarray(kinds)
    entry = {"max_error_mm": round(float(distance.max()), 5), "mean_error_mm": round(float(distance.mean()), 5),
             "frames": int(distance.shape[0])}
    for kind in ("synthetic", "real"):
        mask = kinds_arr == kind
        entry[f"{kind}_max_mm"] = round(float(distance[mask].max()), 5) if mask.any() else None
    entry["ok"] = bool(np.isfinite(distance).all() and distance.max() < TOLERANCE_MM)
    return entry


def check_path(predictor: Predictor, frames: list[BenchFrame], truth: np.ndarray, batch: int) -> dict:
    """Compare ``predictor`` with the truth one frame at a time and ``batch`` frames at a time (the worse counts)."""
    kinds = [f.kind for f in frames]
    single = compare(predict_all(predictor, frames, 1), truth, kinds)
    if batch <= 1:
        return single
    batched = compare(predict_all(predictor, frames, batch), truth, kinds)
    return max(single, batched, key=lambda e: e["max_error_mm"])


def check_reference(run: Callable[[BenchFrame], np.ndarray], frames: list[BenchFrame], truth: np.ndarray) -> dict:
    """The same comparison for the reference path (``run(frame)`` gives its (J, 3) joints)."""
    return compare(np.stack([run(f) for f in frames]), truth, [f.kind for f in frames])
