"""Pose metrics as pure functions of joint coordinates or joint errors.

All functions take NumPy arrays and return NumPy arrays or plain floats; units
are whatever the inputs are in (the callers use mm for hands, metres for ITOP
where the official 10 cm criterion is applied).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from livepose.errors import LivePoseError

# Success-rate thresholds reported by livepose: every integer millimetre 0..80.
SUCCESS_THRESHOLDS_MM: tuple[int, ...] = tuple(range(81))


def joint_errors(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Euclidean distance of every joint.

    Args:
        predictions: (N, J, 3) coordinates.
        labels: (N, J, 3) coordinates in the same frame and unit.

    Returns:
        (N, J) float64 distances in the input unit.
    """
    predictions = np.asarray(predictions, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    if predictions.shape != labels.shape or predictions.ndim != 3 or predictions.shape[2] != 3:
        raise LivePoseError(f"predictions of shape {predictions.shape} and labels of shape {labels.shape}; "
                            "expected two (N, J, 3) arrays of the same shape")
    return np.linalg.norm(predictions - labels, axis=-1)


def mean_error(errors: np.ndarray) -> float:
    """Mean of (N, J) errors over all frames and joints."""
    return float(np.mean(errors))


def per_joint_mean_error(errors: np.ndarray) -> np.ndarray:
    """(N, J) errors -> (J,) mean error of each joint over frames."""
    return np.mean(errors, axis=0)


def success_rate(errors: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """Fraction of frames whose worst joint error is at most each threshold.

    Args:
        errors: (N, J) joint errors.
        thresholds: (T,) thresholds in the unit of ``errors``; a frame exactly at a threshold succeeds.

    Returns:
        (T,) fractions in [0, 1].
    """
    worst = np.max(np.asarray(errors, dtype=np.float64), axis=1)
    limits = np.asarray(thresholds, dtype=np.float64)
    return np.mean(worst[None, :] <= limits[:, None], axis=1)


def accuracy_below(errors: np.ndarray, threshold: float) -> float:
    """Percent of all joints of all frames with error strictly below ``threshold`` (ITOP's mAP)."""
    return float(100.0 * np.mean(np.asarray(errors) < threshold))


def per_joint_accuracy_below(errors: np.ndarray, threshold: float) -> np.ndarray:
    """(N, J) errors -> (J,) percent of frames in which each joint's error is strictly below ``threshold``."""
    return 100.0 * np.mean(np.asarray(errors) < threshold, axis=0)


def group_accuracy_below(errors: np.ndarray, threshold: float,
                         groups: Mapping[str, Sequence[int]]) -> dict[str, float]:
    """Percent of the joints of each group (all frames) with error strictly below ``threshold``.

    Args:
        errors: (N, J) joint errors.
        threshold: in the unit of ``errors``.
        groups: group name -> joint indices, e.g. ``ITOP15.groups``.

    Returns:
        group name -> percent, in the order of ``groups``.
    """
    errors = np.asarray(errors)
    return {name: accuracy_below(errors[:, list(indices)], threshold) for name, indices in groups.items()}
