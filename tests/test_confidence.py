"""Per-joint confidence ranks errors: on synthetic hand frames, the least confident joints are the worst.

The shipped hand model (``models/hand21.pt``; skipped without it) runs through
:class:`~livepose.runtime.predictor.Predictor` on 200 whole synthetic frames
(:func:`livepose.synth.generator.hand_frames`: four cameras, 50 frames each, fixed seeds, sensor noise on)
cropped around the true palm centre, so that only the network's errors count. All 4200 joints are pooled,
sorted by confidence and cut into deciles; the least confident decile's mean 3D error must be clearly larger
than the most confident decile's.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from livepose.runtime.default_model import SHIPPED_HAND_MODEL

CAMERAS = ("d435_640", "sr305", "hands2017", "icvl")  # the three the hand model trains with, and one it never saw
FRAMES_PER_CAMERA = 50
BATCH = 25
SEED = 2024


@dataclass(frozen=True)
class JointErrors:
    """Pooled joints of all frames: (N,) 3D error (mm), (N,) confidence, and the frames' true is_left (F,)."""

    error_mm: np.ndarray
    confidence: np.ndarray
    predicted_mm: np.ndarray  # (F, J, 3)
    true_mm: np.ndarray  # (F, J, 3)
    is_left: np.ndarray

    def decile_means(self) -> np.ndarray:
        """(10,) mean error of each confidence decile, least confident first."""
        order = np.argsort(self.confidence, kind="stable")
        return np.array([self.error_mm[chunk].mean() for chunk in np.array_split(order, 10)])


def predict_synthetic_frames(model: Path, cameras=CAMERAS, frames_per_camera: int = FRAMES_PER_CAMERA,
                             seed: int = SEED) -> JointErrors:
    """Run ``model`` on synthetic hand frames cropped at the true palm centre (also used by hand scripts)."""
    from livepose.calibration import load_profile
    from livepose.runtime.predictor import Predictor
    from livepose.synth.generator import hand_frames

    predictor = Predictor.from_checkpoint(str(model), device="cpu")
    errors, confidences, predicted, truth, sides = [], [], [], [], []
    for index, camera in enumerate(cameras):
        generator = torch.Generator().manual_seed(seed + index)
        intrinsics = load_profile(camera).intrinsics
        for _ in range(0, frames_per_camera, BATCH):
            frames = hand_frames(min(BATCH, frames_per_camera), camera, generator)
            depths = list(frames.depth_mm.numpy())
            predictions = predictor.predict_many(depths, intrinsics, frames.centre_uvd.double().numpy())
            true_mm = frames.joints_mm.double().numpy()
            for prediction, joints in zip(predictions, true_mm, strict=True):
                errors.append(np.linalg.norm(prediction.joints_mm - joints, axis=1))
                confidences.append(np.asarray(prediction.confidence, np.float64))
                predicted.append(prediction.joints_mm)
                truth.append(joints)
            sides.append(frames.is_left.numpy())
    return JointErrors(np.concatenate(errors), np.concatenate(confidences), np.array(predicted), np.array(truth),
                       np.concatenate(sides))


@pytest.fixture(scope="module")
def shipped_model_errors() -> JointErrors:
    if not SHIPPED_HAND_MODEL.is_file():
        pytest.skip(f"needs the trained hand model {SHIPPED_HAND_MODEL.relative_to(SHIPPED_HAND_MODEL.parents[1])}, "
                    "which is not there yet (confidence of an untrained network ranks nothing)")
    return predict_synthetic_frames(SHIPPED_HAND_MODEL)


def test_least_confident_decile_has_clearly_larger_errors(shipped_model_errors: JointErrors) -> None:
    result = shipped_model_errors
    assert len(result.error_mm) == len(CAMERAS) * FRAMES_PER_CAMERA * 21
    assert np.isfinite(result.error_mm).all() and ((result.confidence >= 0) & (result.confidence <= 1)).all()
    deciles = result.decile_means()
    figures = (f"mean error per confidence decile, least to most confident (mm): "
               f"{', '.join(f'{d:.1f}' for d in deciles)}; all joints {result.error_mm.mean():.1f} mm; "
               f"ratio least / most confident {deciles[0] / deciles[-1]:.2f}")
    sys.stderr.write(figures + "\n")
    # The shipped hand model (budget CPU training) ranks with a ratio of about 1.5 (32.7 vs 22.1 mm); a
    # confidence that ranked nothing would sit near 1.0.
    assert deciles[0] > 1.3 * deciles[-1], figures
    # ... and it is a ranking, not two lucky ends: the less confident half is worse than the more confident one.
    assert deciles[:5].mean() > deciles[5:].mean(), figures


def test_confidence_ranks_errors_of_the_same_joint(shipped_model_errors: JointErrors) -> None:
    """Among predictions of one joint (the wrist in all frames, the index tip in all frames...), the less
    confident ones are the worse ones: each confidence turned into its percentile within its joint, pooled.

    (Across joints the ranking is weaker: the palm's joints, the most accurate, get the widest anchor spread and
    so the lowest confidence.)"""
    result = shipped_model_errors
    confidence = result.confidence.reshape(-1, 21)
    error = result.error_mm.reshape(-1, 21)
    percentile = np.argsort(np.argsort(confidence, axis=0, kind="stable"), axis=0) / (len(confidence) - 1)
    order = np.argsort(percentile.ravel(), kind="stable")
    deciles = np.array([error.ravel()[chunk].mean() for chunk in np.array_split(order, 10)])
    rank_correlation = np.mean([np.corrcoef(np.argsort(np.argsort(confidence[:, j])),
                                            np.argsort(np.argsort(error[:, j])))[0, 1] for j in range(21)])
    figures = (f"within-joint confidence deciles, least to most confident (mm): "
               f"{', '.join(f'{d:.1f}' for d in deciles)}; ratio {deciles[0] / deciles[-1]:.2f}; mean per-joint "
               f"rank correlation of confidence and error {rank_correlation:.3f}")
    sys.stderr.write(figures + "\n")
    assert deciles[0] > 1.4 * deciles[-1], figures
    assert deciles[:5].mean() > deciles[5:].mean() and rank_correlation < -0.15, figures
