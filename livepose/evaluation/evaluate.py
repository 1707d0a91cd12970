"""Evaluate predictions against labels: arrays in, :class:`EvaluationResult` out."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from livepose.errors import LivePoseError
from livepose.evaluation import metrics
from livepose.evaluation.protocols import Protocol, get_protocol
from livepose.evaluation.result import EvaluationResult

logger = logging.getLogger(__name__)

# ITOP's official criterion: a joint is correct when its error is below 10 cm.
ITOP_THRESHOLD_M = 0.1


def evaluate_arrays(protocol: Protocol, predictions: np.ndarray, labels: np.ndarray) -> EvaluationResult:
    """Score metric coordinates.

    Args:
        protocol: the dataset protocol (gives joint names, units and groups).
        predictions: (N, J, 3) in the protocol's metric frame (hands: camera mm; ITOP: world metres).
        labels: (N, J, 3) in the same frame.

    Returns:
        The evaluation result, errors in mm.
    """
    errors = metrics.joint_errors(predictions, labels)  # protocol units
    errors_mm = errors * protocol.mm_per_unit
    names = protocol.layout.joints
    per_joint = metrics.per_joint_mean_error(errors_mm)
    rates = metrics.success_rate(errors_mm, metrics.SUCCESS_THRESHOLDS_MM)
    result = dict(
        dataset=protocol.dataset,
        joint_names=tuple(names),
        errors_mm=errors_mm,
        mean_error_mm=metrics.mean_error(errors_mm),
        per_joint_error_mm={name: float(v) for name, v in zip(names, per_joint, strict=True)},
        success_rate={t: float(r) for t, r in zip(metrics.SUCCESS_THRESHOLDS_MM, rates, strict=True)},
    )
    if protocol.world_metres or protocol.layout.name == "itop15":
        # ITOP's criterion, compared in metres as the official ITOP code does (or in mm for camera-frame bodies).
        threshold = ITOP_THRESHOLD_M if protocol.world_metres else ITOP_THRESHOLD_M * 1000.0
        by_joint = metrics.per_joint_accuracy_below(errors, threshold)
        result.update(
            map_10cm=metrics.accuracy_below(errors, threshold),
            per_group_map_10cm=metrics.group_accuracy_below(errors, threshold, protocol.layout.groups),
            per_joint_map_10cm={name: float(v) for name, v in zip(names, by_joint, strict=True)},
        )
    return EvaluationResult(**result)


def evaluate_files(dataset: str, predictions_path: str | Path, labels_path: str | Path,
                   coords: str = "uvd") -> EvaluationResult:
    """Read a prediction file and a label file of ``dataset`` and score them.

    Args:
        dataset: ``nyu``, ``icvl``, ``msra``, ``hands2017``, ``itop_side`` or ``itop_top``.
        predictions_path: predictions, one frame per row, in label order.
        labels_path: ground truth.
        coords: ``"uvd"`` (u, v pixels and depth: mm for hands, metres for ITOP predictions) or ``"xyz"``
            (hands: camera-frame mm; ITOP predictions: world metres). ITOP labels are always world metres.

    Raises:
        LivePoseError: a file is missing, unreadable, has the wrong shape or NaNs, or the two files
            disagree in size.
    """
    protocol = get_protocol(dataset)
    predictions = protocol.load_predictions(predictions_path, coords)
    labels = protocol.load_labels(labels_path, coords)
    if predictions.shape[0] != labels.shape[0]:
        raise LivePoseError(f"{predictions_path}: {predictions.shape[0]} frames but labels {labels_path} "
                            f"have {labels.shape[0]}; expected one prediction per label frame")
    logger.info("evaluating %d frames x %d joints of %s", labels.shape[0], labels.shape[1], dataset)
    return evaluate_arrays(protocol, predictions, labels)
